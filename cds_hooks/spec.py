"""CDS Hooks 2.0 wire models: request, card, suggestion, action, link, feedback.

Plain dataclasses, each with the specification's MUST rules as checks. Parsing a request is on the
hot path, so it checks shapes by hand (no schema engine) and raises `SpecError` naming the
offending field; the web layer turns that into a 400. Building a card runs the same rules on the
way out (`Card.to_dict()`), so a card that breaks the specification never leaves the service.

Specification: https://cds-hooks.hl7.org/2.0/
"""

from __future__ import annotations

import re
import uuid as uuid_mod
from dataclasses import dataclass, field
from typing import Any

SPEC = "https://cds-hooks.hl7.org/2.0/"

INDICATORS = ("info", "warning", "critical")
SELECTION_BEHAVIORS = ("at-most-one", "any")
ACTION_TYPES = ("create", "update", "delete")
LINK_TYPES = ("absolute", "smart")
OUTCOMES = ("accepted", "overridden")
SUMMARY_MAX = 140  # "<140-character summary"

_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_RELATIVE_REF_RE = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")


class SpecError(ValueError):
    """A violation of a CDS Hooks rule; `field` is a JSON path such as `context.patientId`."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def new_uuid() -> str:
    return str(uuid_mod.uuid4())


def _is_absolute_url(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith("https://") or value.startswith("http://"))


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


# --------------------------------------------------------------------------------------------
# Data types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Coding:
    """A code in a code system. https://cds-hooks.hl7.org/2.0/#coding

    `code` and `system` are REQUIRED; `display` is REQUIRED for override reasons a service
    returns (checked where the coding is used).
    """

    system: str
    code: str
    display: str | None = None

    def validate(self, path: str, display_required: bool = False) -> None:
        if not _nonempty_str(self.system):
            raise SpecError(f"{path}.system", "required")
        if not _nonempty_str(self.code):
            raise SpecError(f"{path}.code", "required")
        if display_required and not _nonempty_str(self.display):
            raise SpecError(f"{path}.display", "required for override reasons")

    def to_dict(self) -> dict[str, Any]:
        d = {"system": self.system, "code": self.code}
        if self.display:
            d["display"] = self.display
        return d

    @staticmethod
    def parse(raw: Any, path: str) -> Coding:
        if not isinstance(raw, dict):
            raise SpecError(path, "must be an object")
        c = Coding(raw.get("system"), raw.get("code"), raw.get("display"))  # type: ignore[arg-type]
        c.validate(path)
        if c.display is not None and not isinstance(c.display, str):
            raise SpecError(f"{path}.display", "must be a string")
        return c


# --------------------------------------------------------------------------------------------
# Response: cards
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    """The primary source of a card's guidance. https://cds-hooks.hl7.org/2.0/#source"""

    label: str
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None

    def to_dict(self, path: str = "source") -> dict[str, Any]:
        if not _nonempty_str(self.label):
            raise SpecError(f"{path}.label", "required")
        d: dict[str, Any] = {"label": self.label}
        if self.url:
            if not _is_absolute_url(self.url):
                raise SpecError(f"{path}.url", "must be an absolute URL")
            d["url"] = self.url
        if self.icon:
            if not _is_absolute_url(self.icon):
                raise SpecError(f"{path}.icon", "must be an absolute URL")
            d["icon"] = self.icon
        if self.topic is not None:
            self.topic.validate(f"{path}.topic")
            d["topic"] = self.topic.to_dict()
        return d


@dataclass(frozen=True, slots=True)
class Action:
    """One change a suggestion makes. https://cds-hooks.hl7.org/2.0/#action

    `type` is create | update | delete; `description` is REQUIRED; create and update carry the
    whole FHIR resource; delete names the resource by relative reference in `resourceId`.
    """

    type: str
    description: str
    resource: dict[str, Any] | None = None
    resource_id: str | None = None

    def to_dict(self, path: str = "action") -> dict[str, Any]:
        if self.type not in ACTION_TYPES:
            raise SpecError(f"{path}.type", f"must be one of {', '.join(ACTION_TYPES)}")
        if not _nonempty_str(self.description):
            raise SpecError(f"{path}.description", "required")
        d: dict[str, Any] = {"type": self.type, "description": self.description}
        if self.type in ("create", "update"):
            if not isinstance(self.resource, dict) or not self.resource.get("resourceType"):
                raise SpecError(f"{path}.resource", f"a FHIR resource is required for {self.type}")
            if self.type == "update" and not self.resource.get("id"):
                raise SpecError(f"{path}.resource.id", "an updated resource needs its id")
            d["resource"] = self.resource
        else:
            if not isinstance(self.resource_id, str) or not _RELATIVE_REF_RE.match(
                self.resource_id
            ):
                raise SpecError(f"{path}.resourceId", "delete needs a relative reference (Type/id)")
            d["resourceId"] = self.resource_id
        return d


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A set of actions the user may accept together. https://cds-hooks.hl7.org/2.0/#suggestion"""

    label: str
    actions: tuple[Action, ...] = ()
    uuid: str = field(default_factory=new_uuid)
    is_recommended: bool | None = None

    def to_dict(self, path: str = "suggestion") -> dict[str, Any]:
        if not _nonempty_str(self.label):
            raise SpecError(f"{path}.label", "required")
        if not _UUID_RE.match(self.uuid or ""):
            raise SpecError(f"{path}.uuid", "must be a UUID")
        d: dict[str, Any] = {"label": self.label, "uuid": self.uuid}
        if self.is_recommended is not None:
            d["isRecommended"] = bool(self.is_recommended)
        if self.actions:
            d["actions"] = [a.to_dict(f"{path}.actions[{i}]") for i, a in enumerate(self.actions)]
        return d


@dataclass(frozen=True, slots=True)
class Link:
    """A link to a page or a SMART app. https://cds-hooks.hl7.org/2.0/#link

    `appContext` is valid only on `smart` links.
    """

    label: str
    url: str
    type: str
    app_context: str | None = None

    def to_dict(self, path: str = "link") -> dict[str, Any]:
        if not _nonempty_str(self.label):
            raise SpecError(f"{path}.label", "required")
        if not _is_absolute_url(self.url):
            raise SpecError(f"{path}.url", "must be an absolute URL")
        if self.type not in LINK_TYPES:
            raise SpecError(f"{path}.type", "must be absolute or smart")
        d: dict[str, Any] = {"label": self.label, "url": self.url, "type": self.type}
        if self.app_context is not None:
            if self.type != "smart":
                raise SpecError(f"{path}.appContext", "only valid on smart links")
            if not isinstance(self.app_context, str) or not self.app_context:
                raise SpecError(f"{path}.appContext", "must be a non-empty string")
            d["appContext"] = self.app_context
        return d


@dataclass(frozen=True, slots=True)
class Card:
    """One piece of decision support. https://cds-hooks.hl7.org/2.0/#card-attributes

    MUST rules checked: summary present and under 140 characters; indicator one of info, warning,
    critical; source with a label; selectionBehavior present when there are suggestions (and at
    most one suggestion for at-most-one); override reasons carry a display; Markdown detail is a
    string. Every card and suggestion carries a uuid so feedback can refer to it.
    """

    summary: str
    indicator: str
    source: Source
    detail: str | None = None
    suggestions: tuple[Suggestion, ...] = ()
    selection_behavior: str | None = None
    override_reasons: tuple[Coding, ...] = ()
    links: tuple[Link, ...] = ()
    uuid: str = field(default_factory=new_uuid)
    # Not on the wire: what kind of card this is, for the feedback report.
    kind: str = "card"

    def to_dict(self, path: str = "card") -> dict[str, Any]:
        if not _nonempty_str(self.summary):
            raise SpecError(f"{path}.summary", "required")
        if len(self.summary) >= SUMMARY_MAX:
            raise SpecError(f"{path}.summary", f"must be under {SUMMARY_MAX} characters")
        if self.indicator not in INDICATORS:
            raise SpecError(f"{path}.indicator", f"must be one of {', '.join(INDICATORS)}")
        if not _UUID_RE.match(self.uuid or ""):
            raise SpecError(f"{path}.uuid", "must be a UUID")
        d: dict[str, Any] = {
            "uuid": self.uuid,
            "summary": self.summary,
            "indicator": self.indicator,
            "source": self.source.to_dict(f"{path}.source"),
        }
        if self.detail is not None:
            if not isinstance(self.detail, str) or not self.detail:
                raise SpecError(f"{path}.detail", "must be non-empty Markdown")
            d["detail"] = self.detail
        if self.suggestions:
            if self.selection_behavior not in SELECTION_BEHAVIORS:
                raise SpecError(
                    f"{path}.selectionBehavior", "required with suggestions: at-most-one or any"
                )
            if (
                self.selection_behavior == "at-most-one"
                and sum(1 for s in self.suggestions if s.is_recommended) > 1
            ):
                raise SpecError(
                    f"{path}.suggestions", "at most one recommended suggestion with at-most-one"
                )
            uuids = [s.uuid for s in self.suggestions]
            if len(set(uuids)) != len(uuids):
                raise SpecError(f"{path}.suggestions", "suggestion uuids must be unique")
            d["suggestions"] = [
                s.to_dict(f"{path}.suggestions[{i}]") for i, s in enumerate(self.suggestions)
            ]
            d["selectionBehavior"] = self.selection_behavior
        elif (
            self.selection_behavior is not None
            and self.selection_behavior not in SELECTION_BEHAVIORS
        ):
            raise SpecError(f"{path}.selectionBehavior", "at-most-one or any")
        if self.override_reasons:
            for i, c in enumerate(self.override_reasons):
                c.validate(f"{path}.overrideReasons[{i}]", display_required=True)
            d["overrideReasons"] = [c.to_dict() for c in self.override_reasons]
        if self.links:
            d["links"] = [lk.to_dict(f"{path}.links[{i}]") for i, lk in enumerate(self.links)]
        return d


def response(cards: list[Card]) -> dict[str, Any]:
    """The HTTP response body. https://cds-hooks.hl7.org/2.0/#http-response"""
    return {"cards": [c.to_dict(f"cards[{i}]") for i, c in enumerate(cards)]}


# --------------------------------------------------------------------------------------------
# Request
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FhirAuthorization:
    """The bearer token a client lends the service.
    https://cds-hooks.hl7.org/2.0/#passing-the-access-token-to-the-cds-service

    `repr` hides the token so it never reaches a log by accident.
    """

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int
    scope: str
    subject: str


# Context fields each hook REQUIRES (hook definitions in the 2.0 hook catalogue) and the type
# each must have. https://cds-hooks.hl7.org/hooks/
HOOK_CONTEXT: dict[str, dict[str, type | tuple[type, ...]]] = {
    "patient-view": {"userId": str, "patientId": str},
    "encounter-start": {"userId": str, "patientId": str, "encounterId": str},
    "order-select": {"userId": str, "patientId": str, "selections": list, "draftOrders": dict},
    "order-sign": {"userId": str, "patientId": str, "draftOrders": dict},
    "problem-list-item-create": {"userId": str, "patientId": str, "conditions": dict},
    # This service's own hook (docs/cds-hooks.md): a vital sign or lab being charted.
    "org.immunotox.observation-create": {"userId": str, "patientId": str, "observations": dict},
}
_BUNDLE_CONTEXT = ("draftOrders", "conditions")


@dataclass(frozen=True, slots=True)
class HookRequest:
    """A call to a service. https://cds-hooks.hl7.org/2.0/#http-request_1

    Parsed from the JSON body without copying the prefetch: the prefetch step builds its own
    complete data set and never writes back here.
    """

    hook: str
    hook_instance: str
    context: dict[str, Any]
    fhir_server: str | None = None
    fhir_authorization: FhirAuthorization | None = None
    prefetch: dict[str, Any] | None = None

    @property
    def patient_id(self) -> str:
        return self.context["patientId"]

    @staticmethod
    def parse(body: Any, expected_hook: str | None = None) -> HookRequest:
        if not isinstance(body, dict):
            raise SpecError("(body)", "must be a JSON object")
        hook = body.get("hook")
        if not _nonempty_str(hook):
            raise SpecError("hook", "required")
        if expected_hook is not None and hook != expected_hook:
            raise SpecError("hook", f"this service answers {expected_hook!r}, not {hook!r}")
        hi = body.get("hookInstance")
        if not isinstance(hi, str) or not _UUID_RE.match(hi):
            raise SpecError("hookInstance", "required, a UUID")
        ctx = body.get("context")
        if not isinstance(ctx, dict):
            raise SpecError("context", "required, an object")
        for name, typ in HOOK_CONTEXT.get(hook, {}).items():
            value = ctx.get(name)
            if value is None:
                raise SpecError(f"context.{name}", f"required by {hook}")
            if not isinstance(value, typ) or (isinstance(value, str) and not value.strip()):
                raise SpecError(f"context.{name}", "wrong type or empty")
        for name in _BUNDLE_CONTEXT:
            if name in ctx and (
                not isinstance(ctx[name], dict) or ctx[name].get("resourceType") != "Bundle"
            ):
                raise SpecError(f"context.{name}", "must be a FHIR Bundle")
        pid = ctx.get("patientId")
        if pid is not None and (
            not isinstance(pid, str) or not re.match(r"^[A-Za-z0-9\-.]{1,64}$", pid)
        ):
            raise SpecError("context.patientId", "must be a FHIR id")
        server = body.get("fhirServer")
        if server is not None and not _is_absolute_url(server):
            raise SpecError("fhirServer", "must be an absolute http(s) URL")
        auth_raw = body.get("fhirAuthorization")
        auth = None
        if auth_raw is not None:
            if not isinstance(auth_raw, dict):
                raise SpecError("fhirAuthorization", "must be an object")
            if server is None:
                raise SpecError("fhirServer", "required when fhirAuthorization is given")
            for name in ("access_token", "token_type", "scope", "subject"):
                if not _nonempty_str(auth_raw.get(name)):
                    raise SpecError(f"fhirAuthorization.{name}", "required")
            if str(auth_raw["token_type"]).lower() != "bearer":
                raise SpecError("fhirAuthorization.token_type", "must be Bearer")
            exp = auth_raw.get("expires_in")
            if not isinstance(exp, int) or isinstance(exp, bool):
                raise SpecError("fhirAuthorization.expires_in", "required, an integer")
            auth = FhirAuthorization(
                auth_raw["access_token"], "Bearer", exp, auth_raw["scope"], auth_raw["subject"]
            )
        prefetch = body.get("prefetch")
        if prefetch is not None and not isinstance(prefetch, dict):
            raise SpecError("prefetch", "must be an object")
        return HookRequest(hook, hi, ctx, server, auth, prefetch)


# --------------------------------------------------------------------------------------------
# Feedback
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    """What the user did with a card. https://cds-hooks.hl7.org/2.0/#feedback

    `card` and `outcome` (accepted | overridden) and `outcomeTimestamp` are REQUIRED;
    `acceptedSuggestions` is REQUIRED (non-empty) for accepted outcomes; `overrideReason` is
    optional and, when present, has a `reason` Coding and/or a `userComment`.
    """

    card: str
    outcome: str
    outcome_timestamp: str
    accepted_suggestions: tuple[str, ...] = ()
    override_reason: Coding | None = None
    user_comment: str | None = None


def parse_feedback(body: Any) -> list[FeedbackItem]:
    if not isinstance(body, dict):
        raise SpecError("(body)", "must be a JSON object")
    items = body.get("feedback")
    if not isinstance(items, list) or not items:
        raise SpecError("feedback", "required, a non-empty array")
    out: list[FeedbackItem] = []
    for i, raw in enumerate(items):
        p = f"feedback[{i}]"
        if not isinstance(raw, dict):
            raise SpecError(p, "must be an object")
        card = raw.get("card")
        if not _nonempty_str(card):
            raise SpecError(f"{p}.card", "required")
        outcome = raw.get("outcome")
        if outcome not in OUTCOMES:
            raise SpecError(f"{p}.outcome", "must be accepted or overridden")
        ts = raw.get("outcomeTimestamp")
        from services.timeutil import parse_instant

        if not isinstance(ts, str) or parse_instant(ts) is None or "T" not in ts:
            raise SpecError(f"{p}.outcomeTimestamp", "required, an ISO 8601 instant")
        accepted: list[str] = []
        raw_acc = raw.get("acceptedSuggestions")
        if outcome == "accepted" and (not isinstance(raw_acc, list) or not raw_acc):
            raise SpecError(f"{p}.acceptedSuggestions", "required for accepted outcomes")
        if raw_acc is not None:
            if not isinstance(raw_acc, list):
                raise SpecError(f"{p}.acceptedSuggestions", "must be an array")
            for j, s in enumerate(raw_acc):
                if not isinstance(s, dict) or not _nonempty_str(s.get("id")):
                    raise SpecError(f"{p}.acceptedSuggestions[{j}].id", "required")
                accepted.append(s["id"])
        reason = None
        comment = None
        ov = raw.get("overrideReason")
        if ov is not None:
            if not isinstance(ov, dict):
                raise SpecError(f"{p}.overrideReason", "must be an object")
            if ov.get("reason") is not None:
                reason = Coding.parse(ov["reason"], f"{p}.overrideReason.reason")
            comment = ov.get("userComment")
            if comment is not None and not isinstance(comment, str):
                raise SpecError(f"{p}.overrideReason.userComment", "must be a string")
            if reason is None and not comment:
                raise SpecError(f"{p}.overrideReason", "needs a reason or a userComment")
        out.append(FeedbackItem(card, outcome, ts, tuple(accepted), reason, comment))
    return out
