"""One service call in clear steps, without Flask: parse the request, complete the data set
(prefetch plus fetch), assess, build cards. The blueprint only moves bytes and statuses.

Domain failures never become a 500 and never become silence: a missing required resource is a
412 with a message; an exception from the assessment or the card builders is logged (type and
stack, never the message, which may hold data) and answered with an explicit error card.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cds_hooks import cards as card_mod
from cds_hooks import observation
from cds_hooks.prefetch import PrefetchUnavailable, hydrate
from cds_hooks.registry import REQUIRED_KEYS, ServiceDef
from cds_hooks.spec import Card, HookRequest, SpecError, new_uuid, response
from immunotox.fhir_client import ByteAccount, ServerSlots
from services.fhir_adapter import flatten

log = logging.getLogger("immunotox.cds_hooks")


@dataclass
class Outcome:
    status: int
    body: dict[str, Any]
    cards: list[Card]
    degraded: bool = False


def run_assessment(
    resources: list[dict[str, Any]], at: datetime | None = None, crs_primary: str | None = None
) -> Any:
    """The domain core's entry point, imported when first needed. Cards show no trends, so the
    timeline is not built here. `crs_primary`: IMMUNOTOX_CRS_PRIMARY."""
    from services.assess import assess

    return assess(resources, at=at, with_timeline=False, crs_primary=crs_primary)


def view_inputs(
    hook: str, context: Mapping[str, Any], a: Any, resources: list[dict[str, Any]]
) -> dict[str, Any]:
    """What the domain makes of the call's own context, for the card builders (which read only
    domain outputs, never FHIR): the order check's findings for `draftOrders` (order-select:
    only the drafts just selected, the others were answered when they were selected), and the
    conditions of `conditions` being added to the problem list, read by the adapter."""
    from services.fhir_adapter import to_patient_data
    from services.order_check import check_orders

    out: dict[str, Any] = {}
    if hook in ("order-select", "order-sign"):
        findings = check_orders(context.get("draftOrders"), a, list(resources))
        selections = context.get("selections")
        if isinstance(selections, list) and selections:
            chosen = {s for s in selections if isinstance(s, str)}
            findings = [f for f in findings if f.draft.ref in chosen]
        out["order_findings"] = tuple(findings)
    if hook == "problem-list-item-create":
        conditions = to_patient_data([context.get("conditions")]).conditions
        out["context_conditions"] = tuple(conditions)
    return out


def _now() -> datetime:
    from services import assess

    return assess.now()


def _observation_cards(
    observations: list[dict[str, Any]],
    resources: list[dict[str, Any]],
    cfg: Mapping[str, Any],
    cc_fields: dict[str, Any],
) -> list[Card]:
    """org.immunotox.observation-create: the record graded without and with the observations
    being charted (`services.changes`); a card only when something changed."""
    from services.changes import charted_evidence, compare

    if not charted_evidence(observations):
        return []  # nothing the assessment reads (a potassium, a note): nothing can change
    at = observation.assessment_time(observations, _now())
    delta = compare(resources, observations, at, crs_primary=cfg.get("CRS_PRIMARY"))
    return observation.observation_cards(delta, card_mod.CardContext(**cc_fields))


def _error(status: int, message: str, field: str | None = None) -> Outcome:
    body: dict[str, Any] = {"error": status, "message": message}
    if field:
        body["field"] = field
    return Outcome(status, body, [])


def _log_failure(what: str, e: BaseException) -> str:
    ref = new_uuid()
    log.error(
        "%s failed ref=%s type=%s\n%s",
        what,
        ref,
        type(e).__name__,
        "".join(traceback.format_tb(e.__traceback__)),
    )
    return ref


def call_service(
    service: ServiceDef,
    body: Any,
    cfg: Mapping[str, Any],
    base_url: str,
    started: float | None = None,
    http_get: Callable[..., Any] | None = None,
    account: ByteAccount | None = None,
    slots: ServerSlots | None = None,
) -> Outcome:
    try:
        req = HookRequest.parse(body, expected_hook=service.hook)
    except SpecError as e:
        return _error(400, f"invalid request: {e.field}: {e.message}", e.field)

    observations: list[dict[str, Any]] | None = None
    if service.hook == observation.HOOK:
        try:
            observations = observation.read_observations(req.context, _now())
        except SpecError as e:
            return _error(400, f"invalid request: {e.field}: {e.message}", e.field)

    templates = service.prefetch
    try:
        hydrated = hydrate(
            req,
            templates,
            cfg,
            started=started,
            http_get=http_get,
            required=REQUIRED_KEYS & frozenset(templates),
            account=account,
            slots=slots,
        )
    except PrefetchUnavailable as e:
        return _error(
            412,
            f"required data '{e.key}' is neither in the prefetch nor obtainable from the FHIR "
            f"server: {e.reason}",
            f"prefetch.{e.key}",
        )

    resources = hydrated.resources()
    if service.hook == "problem-list-item-create":
        # The condition being added is not on the server yet: the assessment must see it.
        resources = flatten([*resources, req.context.get("conditions")])

    cc_fields = dict(
        service_id=service.id,
        patient_id=req.patient_id,
        base_url=base_url.rstrip("/"),
        encounter_id=req.context.get("encounterId")
        if isinstance(req.context.get("encounterId"), str)
        else None,
        unavailable=dict(hydrated.failed),
        notes=tuple(hydrated.notes),
    )
    try:
        if observations is not None:
            built = _observation_cards(observations, resources, cfg, cc_fields)
        else:
            assessment = run_assessment(resources, crs_primary=cfg.get("CRS_PRIMARY"))
            cc = card_mod.CardContext(
                **cc_fields, **view_inputs(service.hook, req.context, assessment, resources)
            )
            built = card_mod.BUILDERS[service.builder](assessment, cc)
        out = response(built)
    except Exception as e:
        ref = _log_failure(f"service {service.id}", e)
        built = [card_mod.error_card(ref)]
        out = response(built)
    return Outcome(200, out, built, degraded=hydrated.degraded)
