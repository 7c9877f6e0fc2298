"""The bedside ICE form on the ICANS section: its state for the page, its CSRF token, and the
write of the score to the EHR.

`POST /app/ice` (see `blueprint`) reads the ten points (`services.ice_form`), grades the total
with the ICANS grader, and, when the EHR granted a create scope for Observation
(`launch.scopes.can_create`) and writing is on (IMMUNOTOX_SMART_WRITE_OBSERVATIONS), creates the
Observation built by `services.fhir_writer.ice_observation` through the one FHIR client. Whatever
happens to the write, the score and grade are shown and the answers stay in the form.

CSRF: beside the same-origin check every write to the app passes (`launch.web`), the form
carries a token bound to the browser's session: an HMAC of the launch's `ctx` keyed by the
session id, which lives only in the HttpOnly cookie and the store.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask

from immunotox.fhir_client import (
    HTTP_STATUS,
    NOT_ALLOWED,
    TIMEOUT,
    UNREACHABLE,
    FhirClient,
    FhirError,
    allowed_base,
)
from immunotox.store import get_store
from launch import scopes, session
from services import fhir_writer, ice_form
from services.knowledge import icans as K

log = logging.getLogger("immunotox.app")

CSRF_FIELD = "csrf"
ENTRY_FIELD = "entry"
NS_ENTRY = "ice_entry"
ENTRY_TTL_S = 24 * 3600
WRITE_TIMEOUT_S = 10.0


def csrf_token(sess: dict[str, Any]) -> str:
    return hmac.new(
        sess["sid"].encode(), f"ice-form|{sess.get('ctx', '')}".encode(), hashlib.sha256
    ).hexdigest()


def csrf_ok(sess: dict[str, Any], sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(sess), sent or "")


def may_write(app: Flask, sess: dict[str, Any]) -> bool:
    return bool(app.config.get("SMART_WRITE_OBSERVATIONS", True)) and scopes.can_create(
        sess.get("scope") or "", "Observation"
    )


@dataclass
class IceState:
    """What the form shows: the tasks, the answers given, the result of the last entry."""

    csrf: str
    can_write: bool
    write_off: bool = False  # IMMUNOTOX_SMART_WRITE_OBSERVATIONS is off
    entry: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    answers: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    result: ice_form.IceGrade | None = None
    taken_at: datetime | None = None
    written: bool = False
    message: str | None = None  # one line on what happened to the write
    failed: bool = False

    @property
    def items(self) -> tuple[K.IceItem, ...]:
        return K.ICE_ITEMS

    def field(self, item: K.IceItem) -> str:
        return ice_form.field_name(item.id)

    def choices(self, item: K.IceItem) -> list[tuple[str, str]]:
        """(value, label) for each score the task can take, best first."""
        if item.points == 1:
            return [("1", "Correct (1)"), ("0", "Not correct (0)")]
        return [(str(n), f"{n} of {item.points}") for n in range(item.points, -1, -1)]


def state(app: Flask, sess: dict[str, Any]) -> IceState:
    return IceState(
        csrf=csrf_token(sess),
        can_write=may_write(app, sess),
        write_off=not app.config.get("SMART_WRITE_OBSERVATIONS", True),
    )


def submit(app: Flask, sess: dict[str, Any], form: Any, at: datetime) -> tuple[IceState, int]:
    """Read, grade and (when allowed) write one ICE assessment; the page state and its status."""
    st = state(app, sess)
    st.answers = {
        ice_form.field_name(i.id): str(form.get(ice_form.field_name(i.id)) or "")[:2]
        for i in K.ICE_ITEMS
    }
    entry, st.problems = ice_form.parse(form)
    if entry is None:
        st.message = "Answer every task: a task left blank is not scored as wrong."
        return st, 400
    st.result = ice_form.grade(entry, at)
    st.taken_at = at
    if not st.can_write:
        st.message = _not_saved(st)
        return st, 200
    obs = fhir_writer.ice_observation(entry, sess["patient"], at, sess.get("encounter"))
    problems = fhir_writer.validation_problems(obs)
    if problems:  # a defect of ours, never sent
        log.error("ICE Observation failed validation: %s", "; ".join(problems[:5]))
        st.failed = True
        st.message = "Not saved: the app could not build a valid record. Chart it in the EHR."
        return st, 200
    store, key = get_store(app), _entry_key(sess, form.get(ENTRY_FIELD))
    if key is not None and not store.put_if_absent(NS_ENTRY, key, 1, ENTRY_TTL_S):
        st.answers = {}
        st.message = "This entry was already sent: it was not saved a second time."
        return st, 200
    try:
        _create(app, sess, obs)
    except FhirError as e:
        if key is not None and e.code != TIMEOUT:
            # refused or not sent: the same entry may be sent again (after a timeout it may
            # have been stored, so it stays claimed)
            store.delete(NS_ENTRY, key)
        st.failed = True
        st.message = _failure(e)
        log.warning("ICE score not written: %s (HTTP %s)", e.code, e.status)
        return st, 502
    st.written = True
    st.answers = {}  # saved: an empty form, so a second submit is a new assessment
    st.message = "Saved to the chart."
    log.info("ICE score written to the FHIR server")
    return st, 200


def _entry_key(sess: dict[str, Any], entry: Any) -> str | None:
    if not isinstance(entry, str) or not entry or len(entry) > 64:
        return None
    return hashlib.sha256(f"{sess['sid']}|{entry}".encode()).hexdigest()


def _not_saved(st: IceState) -> str:
    if st.write_off:
        return "Not saved to the chart: writing is turned off for this app."
    return "Not saved to the chart: the EHR did not grant this app write access."


def _create(app: Flask, sess: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    base = allowed_base(sess["iss"], app.config)
    if base is None:
        raise FhirError(NOT_ALLOWED, "the FHIR server is not on the allowlist")

    def token(refused: str | None) -> str:
        return session.access_token(app, sess, stale=refused)

    with FhirClient(
        base,
        deadline=time.monotonic() + WRITE_TIMEOUT_S,
        timeout_s=max(5.0, float(app.config["FHIR_TIMEOUT_S"])),
        token=token,
        max_page_bytes=1024 * 1024,
    ) as c:
        return c.create(resource)


def _failure(e: FhirError) -> str:
    if e.code == HTTP_STATUS and e.status in (401, 403):
        return (
            f"Not saved: the EHR refused the write (HTTP {e.status}). The score is shown below; "
            "chart it in the EHR."
        )
    if e.code == HTTP_STATUS and e.status is not None and 400 <= e.status < 500:
        return (
            f"Not saved: the EHR's FHIR server did not accept the ICE score (HTTP {e.status}). "
            "Chart it in the EHR."
        )
    if e.code == HTTP_STATUS:
        return (
            f"Not saved: the EHR's FHIR server failed (HTTP {e.status}). Submit again in a "
            "minute, or chart it in the EHR."
        )
    if e.code in (TIMEOUT, UNREACHABLE):
        return (
            "The FHIR server did not answer: the ICE score may or may not have been saved. "
            "Check the chart before you submit again."
        )
    return "Not saved: the EHR's FHIR server could not be used. Chart it in the EHR."
