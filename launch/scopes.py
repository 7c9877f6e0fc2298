"""SMART scopes: what the app asks for (v2 by default, v1 by configuration) and what it needs.

SMART App Launch 2.x, "Scopes and Launch Context": v2 resource scopes read
`patient/Observation.rs` (read and search); v1 scopes read `patient/Observation.read`.
"""

from __future__ import annotations

import re

from services.record import REQUIRED_TYPES, RESOURCE_TYPES

# The resources the assessment reads (`services.record`). REQUIRED: without these no grade can
# be computed.
RESOURCES = RESOURCE_TYPES
REQUIRED = REQUIRED_TYPES


def requested(style: str, standalone: bool) -> str:
    """The scope string sent to the authorization endpoint."""
    suffix = "read" if style == "v1" else "rs"
    parts = ["launch/patient" if standalone else "launch", "online_access"]
    parts += [f"patient/{r}.{suffix}" for r in RESOURCES]
    return " ".join(parts)


_SCOPE = re.compile(r"^(patient|user|system)/([A-Za-z]+|\*)\.(read|write|\*|[cruds]+)$")


def can_read(granted: str, resource: str) -> bool:
    """True if the granted scopes allow reading and searching `resource`."""
    for s in granted.split():
        m = _SCOPE.match(s)
        if not m or m.group(2) not in (resource, "*"):
            continue
        perm = m.group(3)
        if perm in ("read", "*") or ("r" in perm and "s" in perm and perm != "write"):
            return True
    return False


def missing_required(granted: str) -> list[str]:
    return [f"read access to {r}" for r in REQUIRED if not can_read(granted, r)]


def readable(granted: str) -> list[str]:
    return [r for r in RESOURCES if can_read(granted, r)]
