"""immunotox: the app factory, configuration, shared store, command line and demo runner."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("immunotox")
except PackageNotFoundError:  # a source checkout that was never installed
    __version__ = "0+unknown"
