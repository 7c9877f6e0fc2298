"""SMART scopes: what the app asks for (v2 by default, v1 by configuration) and what it needs.

SMART App Launch 2.x, "Scopes and Launch Context": v2 resource scopes read
`patient/Observation.rs` (read and search); v1 scopes read `patient/Observation.read`.

Writing: the bedside ICE form creates one Observation. With IMMUNOTOX_SMART_WRITE_OBSERVATIONS
on (the default) the app also asks for `patient/Observation.c` (v2) or
`patient/Observation.write` (v1); the EHR may grant less, and without a create scope the app
shows the score and grade without writing (`can_create`).
"""

from __future__ import annotations

import re

from services.record import REQUIRED_TYPES, RESOURCE_TYPES

# The resources the assessment reads (`services.record`). REQUIRED: without these no grade can
# be computed.
RESOURCES = RESOURCE_TYPES
REQUIRED = REQUIRED_TYPES


# What the app may write: the ICE score it records (`smart_app` ICE form).
WRITES = ("Observation",)


def requested(style: str, standalone: bool, write: bool = False) -> str:
    """The scope string sent to the authorization endpoint; `write`: also create scopes for
    `WRITES` (v2 `.c`, v1 `.write`)."""
    suffix = "read" if style == "v1" else "rs"
    parts = ["launch/patient" if standalone else "launch", "online_access"]
    parts += [f"patient/{r}.{suffix}" for r in RESOURCES]
    if write:
        parts += [f"patient/{r}.{'write' if style == 'v1' else 'c'}" for r in WRITES]
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


def can_create(granted: str, resource: str) -> bool:
    """True if the granted scopes allow creating `resource` in the patient's record: v2 `c`
    (`.c`, `.cud`, `.cruds`), v1 `.write` or `.*`; `patient/`, `user/` or `system/`, as
    `can_read` reads them."""
    for s in granted.split():
        m = _SCOPE.match(s)
        if not m or m.group(2) not in (resource, "*"):
            continue
        perm = m.group(3)
        if perm in ("write", "*") or (perm != "read" and "c" in perm):
            return True
    return False


def missing_required(granted: str) -> list[str]:
    return [f"read access to {r}" for r in REQUIRED if not can_read(granted, r)]


def readable(granted: str) -> list[str]:
    return [r for r in RESOURCES if can_read(granted, r)]
