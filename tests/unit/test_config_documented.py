"""The README's configuration table tells the truth: every setting `immunotox.config` reads is
in it, and every variable in it is read."""

from __future__ import annotations

import re
from pathlib import Path

from immunotox import config

README = Path(__file__).resolve().parents[2] / "README.md"


def _table_variables() -> set[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `IMMUNOTOX_")]
    first_cells = [row.split("|")[1] for row in rows]
    return {m for cell in first_cells for m in re.findall(r"`IMMUNOTOX_([A-Z0-9_]+)`", cell)}


def test_every_setting_is_in_the_readme_table_and_every_row_is_a_setting():
    documented = _table_variables()
    read = set(config.DEFAULTS)
    assert read - documented == set(), "settings missing from the README table"
    assert documented - read == set(), "README rows for settings the code does not read"


def test_each_variable_is_read_from_the_environment():
    env = {f"IMMUNOTOX_{k}": "x" for k in config.DEFAULTS if isinstance(config.DEFAULTS[k], str)}
    env["IMMUNOTOX_INSTANCE_DIR"] = "/tmp/immunotox-config-test"
    env["IMMUNOTOX_CRS_PRIMARY"] = "lee2014"  # checked at load: one of the grading systems
    env["IMMUNOTOX_TIMEZONE"] = "Europe/Berlin"  # checked at load: an IANA zone
    cfg = config.load(environ=env)
    for key in env:
        assert cfg[key.removeprefix("IMMUNOTOX_")] == env[key]


def test_an_unknown_time_zone_stops_start_up():
    import pytest

    env = {"IMMUNOTOX_INSTANCE_DIR": "/tmp/immunotox-config-test", "IMMUNOTOX_TIMEZONE": "CEST"}
    with pytest.raises(ValueError, match="IANA"):
        config.load(environ=env)
    env["IMMUNOTOX_TIMEZONE"] = "America/Chicago"
    assert config.load(environ=env)["TIMEZONE"] == "America/Chicago"
