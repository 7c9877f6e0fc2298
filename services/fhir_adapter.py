"""FHIR R4 resources (plain JSON dicts) → `PatientData`.

Reads the raw JSON rather than validated models: the hook's hot path touches thousands of
Observations and needs a handful of fields from each. Every resource that looks relevant but
cannot be read (no time, a unit that is not UCUM, a value that is not a number) is recorded in
`PatientData.unreadable` with the reason, never silently dropped or guessed.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from services import format as fmt
from services import units
from services.knowledge import codes
from services.knowledge import crs as KC
from services.knowledge import icans as KI
from services.knowledge import orders as KO
from services.model import (
    AllergyFact,
    ConditionFact,
    DraftOrder,
    DrugEvent,
    Infusion,
    NeuroFact,
    O2Episode,
    PatientData,
    Sample,
    TestResult,
)
from services.timeutil import parse_instant

IGNORED_STATUS = frozenset({"entered-in-error", "cancelled", "not-done", "stopped-in-error"})
ORDER_IGNORED_STATUS = frozenset({"entered-in-error", "cancelled", "draft"})
# Draft orders that are no longer being ordered.
DRAFT_INACTIVE_STATUS = frozenset(
    {"cancelled", "entered-in-error", "stopped", "completed", "revoked"}
)
_PERIOD_DAYS = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0}
INACTIVE_CONDITION = frozenset({"inactive", "resolved", "remission"})

Codings = list[tuple[str | None, str | None]]


def flatten(resources: Iterable[Any]) -> list[dict[str, Any]]:
    """Resources out of resources and Bundles (any type, nested, search sets and plain lists),
    in document order, without OperationOutcomes and with each type and id once (the first).

    Iterative on purpose: a recursive closure would be a reference cycle holding every resource
    until the cyclic collector runs, and deep nesting must not exhaust the stack."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    stack = list(resources)[::-1]
    while stack:
        r = stack.pop()
        if not isinstance(r, dict):
            continue
        rt = r.get("resourceType")
        if rt == "Bundle":
            entries = r.get("entry")
            if isinstance(entries, list):
                stack.extend(e.get("resource") for e in reversed(entries) if isinstance(e, dict))
            continue
        if not isinstance(rt, str) or not rt or rt == "OperationOutcome":
            continue
        rid = r.get("id")
        if isinstance(rid, str):
            if (rt, rid) in seen:
                continue
            seen.add((rt, rid))
        out.append(r)
    return out


def _ref(r: dict[str, Any]) -> str:
    rid = r.get("id")
    rt = r.get("resourceType")
    rt = rt if isinstance(rt, str) else "Resource"
    return f"{rt}/{rid}" if isinstance(rid, str) else f"{rt}/(no id)"


def _codings(concept: Any) -> Codings:
    if not isinstance(concept, dict):
        return []
    out: Codings = []
    for c in concept.get("coding") or ():
        if isinstance(c, dict):
            system, code = c.get("system"), c.get("code")
            out.append(
                (
                    system if isinstance(system, str) else None,
                    code if isinstance(code, str) else None,
                )
            )
    return out


def _text(concept: Any) -> str:
    """CodeableConcept.text and the codings' displays, each distinct string once."""
    if not isinstance(concept, dict):
        return ""
    parts: list[str] = []
    t = concept.get("text")
    if isinstance(t, str) and t.strip():
        parts.append(t.strip())
    for c in concept.get("coding") or ():
        if isinstance(c, dict) and isinstance(c.get("display"), str):
            d = c["display"].strip()
            if d and all(d.lower() not in p.lower() for p in parts):
                parts.append(d)
    return "; ".join(parts)


def _names(concept: Any) -> tuple[str, ...]:
    """CodeableConcept.text and each coding's display, separately (for exact-name matching)."""
    if not isinstance(concept, dict):
        return ()
    out = [concept["text"]] if isinstance(concept.get("text"), str) else []
    for c in concept.get("coding") or ():
        if isinstance(c, dict) and isinstance(c.get("display"), str):
            out.append(c["display"])
    return tuple(out)


def _has_bp_component(r: dict[str, Any]) -> bool:
    for comp in r.get("component") or ():
        if isinstance(comp, dict):
            for system, code in _codings(comp.get("code")):
                series = codes.series_for_code(system, code)
                if series is not None and series.name in ("sbp", "dbp", "map"):
                    return True
    return False


def _h(d: timedelta) -> str:
    hours = d.total_seconds() / 3600
    return f"{hours:g} h"


def _is_rate_unit(unit: Any) -> bool:
    """A dose per time (µg/min, mg/h, µg/kg/min, U/min): the unit of an infusion rate."""
    if not isinstance(unit, str):
        return False
    u = unit.strip().lower()
    return u.endswith(("/min", "/h", "/hr", "/s", ".min-1", ".h-1"))


def _number(v: Any) -> float | None:
    """A finite float, or None (not a number, NaN, infinite, or an integer beyond float range)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        f = float(v)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def _effective(r: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    t = parse_instant(r.get("effectiveDateTime")) or parse_instant(r.get("effectiveInstant"))
    if t is not None:
        return t, t
    p = r.get("effectivePeriod")
    if isinstance(p, dict):
        return parse_instant(p.get("start")), parse_instant(p.get("end"))
    return None, None


class _Adapter:
    def __init__(self) -> None:
        self.data = PatientData()
        self.medications: dict[str, dict[str, Any]] = {}
        self.devices: dict[str, dict[str, Any]] = {}
        self._rate_pending: list[tuple[dict[str, Any], Any, str]] = []
        # Flowsheet Observations of a vasopressor rate: (resource, drug, ref), read at the end
        # when the weight is known.
        self._rate_obs_pending: list[tuple[dict[str, Any], Any, str]] = []
        # Point-in-time vasopressor rows by drug: (time, rate, ref, note, stop)
        self._rate_points: dict[
            str, list[tuple[datetime, float | None, str, str | None, bool]]
        ] = {}

    # -- Patient -----------------------------------------------------------------------------
    def patient(self, r: dict[str, Any]) -> None:
        bd = parse_instant(r.get("birthDate"))
        self.data.birth_date = bd.date() if bd else None
        g = r.get("gender")
        self.data.gender = g if isinstance(g, str) else None
        if r.get("deceasedBoolean") is True:
            self.data.deceased = True
        dt = parse_instant(r.get("deceasedDateTime"))
        if dt is not None:
            self.data.deceased = True
            self.data.deceased_time = dt

    # -- Observation ---------------------------------------------------------------------------
    def observation(self, r: dict[str, Any]) -> None:
        if r.get("status") in IGNORED_STATUS:
            return
        code = r.get("code")
        codings = _codings(code)
        index = codes.observation_index()
        hit: Any = False  # False: no code matched; None: the blood-pressure panel
        for key in codings:
            if key in index:
                hit = index[key]  # type: ignore[index]
                break
        ref = _ref(r)
        start, end = _effective(r)
        t = end or start
        if hit is None:
            self._bp_panel(r, t, ref)
            return
        if hit is False and _has_bp_component(r):
            # A blood-pressure panel under a local code ("NIBP", "Non-invasive blood pressure"):
            # its LOINC components make it a blood pressure, whatever its name.
            self._bp_panel(r, t, ref)
            return
        if hit is False and self._neuro_observation(r, codings, t, ref):
            return
        if hit is False:
            test = codes.match_infection_test(codings, _text(code))
            if test is not None:
                self._infection_test(r, test)
                return
            # A locally coded number: its exact name and its UCUM unit must both match.
            q = r.get("valueQuantity")
            if isinstance(q, dict):
                unit = q.get("code") if isinstance(q.get("code"), str) else None
                local = codes.local_series(list(_names(code)), unit)
                if local is not None:
                    if t is None:
                        self.data.unreadable.append((ref, f"{local.label}: no effective time"))
                        return
                    self._sample(local, q, t, ref, r.get("referenceRange"))
                    return
            # Oxygen support from an Observation by code (its code or its coded value); by
            # name only on a device row ("O2 Device: BiPAP"), where the row's name and the
            # value's exact device name must both match: "Non-invasive blood pressure" is not
            # ventilation.
            value = r.get("valueCodeableConcept")
            o2 = codes.match_o2(codings + _codings(value))
            if o2 is None and codes.is_o2_device_observation(list(_names(code))):
                o2 = codes.match_o2([], _names(value))
            if o2 is not None and t is not None:
                self.data.o2_episodes.append(O2Episode(o2[0], t, t, ref, o2[1]))
                return
            drug = codes.match_drug(codings, _text(code))
            if drug is not None and drug.drug_class == "vasopressor":
                self._rate_obs_pending.append((r, drug, ref))
            return
        if t is None:
            self.data.unreadable.append((ref, f"{hit.label}: no effective time"))
            return
        self._sample(hit, r.get("valueQuantity"), t, ref, r.get("referenceRange"))

    def _neuro_observation(
        self, r: dict[str, Any], codings: Codings, t: datetime | None, ref: str
    ) -> bool:
        """An ICE or CAPD score (by the product's code, or by name with an integer value) or a
        coded level of consciousness (AVPU): `knowledge.icans`. True when it was one."""
        tool = _neuro_tool(r.get("code"), codings)
        if tool is not None:
            if t is None:
                self.data.unreadable.append((ref, f"{tool.label}: no effective time"))
                return True
            score = _integer_value(r)
            if score is None and tool.tool == "ice" and self._ice_unarousable(r, t, ref):
                return True
            if score is None or not 0 <= score <= tool.max_score:
                self.data.unreadable.append(
                    (
                        ref,
                        f"{tool.label}: the value is not a whole number from 0 to {tool.max_score}",
                    )
                )
                return True
            self.data.neuro.append(
                NeuroFact(tool.tool, t, ref, f"{tool.label} {score}/{tool.max_score}", score=score)
            )
            return True
        if _named(r.get("code"), codings, KI.GCS_CODES, KI.GCS_NAMES) and not _named(
            r.get("code"), (), (), KI.GCS_COMPONENT_WORDS
        ):
            # Shown with its value; ASTCT 2019 does not grade by it (knowledge.icans GCS_NOTE).
            v = _integer_value(r)
            if t is None or v is None or not KI.GCS_MIN <= v <= KI.GCS_MAX:
                why = "no effective time" if t is None else "the value is not a whole number"
                self.data.unreadable.append((ref, f"Glasgow coma score: {why}"))
                return True
            self.data.neuro.append(NeuroFact("gcs", t, ref, f"Glasgow coma score {v}", score=v))
            return True
        for key in _codings(r.get("valueCodeableConcept")):
            c = KI.CONSCIOUSNESS_BY_CODE.get(codes._norm_key(*key)) if key[1] else None
            if c is None:
                continue
            if t is None:
                self.data.unreadable.append((ref, "Level of consciousness: no effective time"))
                return True
            self.data.neuro.append(
                NeuroFact("consciousness", t, ref, f"Level of consciousness: {c.label}", c.rule)
            )
            return True
        if _named(r.get("code"), codings, KI.LOC_OBSERVATION_CODES, KI.LOC_OBSERVATION_NAMES):
            # Its value as text, read by whole phrase (knowledge.icans CONSCIOUSNESS_TERMS).
            value = _value_text(r)
            found, rule = KI.read_consciousness(value) if value else (False, None)
            if t is None or not found:
                why = "no effective time" if t is None else f"value not recognised ({value!r})"
                if t is not None and any(w in value.lower() for w in KI.SEDATION_TERMS):
                    why = f"{value!r}: {KI.SEDATION_NOTE}"
                self.data.unreadable.append((ref, f"Level of consciousness: {why}"))
                return True
            self.data.neuro.append(
                NeuroFact(
                    "consciousness",
                    t,
                    ref,
                    f"Level of consciousness: {value}",
                    rule,
                    text_matched=True,
                )
            )
            return True
        return False

    def _ice_unarousable(self, r: dict[str, Any], t: datetime | None, ref: str) -> bool:
        """An ICE score charted as text because the patient cannot be roused ("unable to
        assess - patient unarousable"): read as an unarousable level of consciousness."""
        value = _value_text(r)
        found, rule = KI.read_consciousness(value) if value else (False, None)
        if t is None or not found or rule != "icans.loc.g4":
            return False
        self.data.neuro.append(
            NeuroFact("consciousness", t, ref, f"ICE score: {value}", rule, text_matched=True)
        )
        return True

    def _bp_panel(self, r: dict[str, Any], t: datetime | None, ref: str) -> None:
        if t is None:
            self.data.unreadable.append((ref, "Blood pressure: no effective time"))
            return
        for comp in r.get("component") or ():
            if not isinstance(comp, dict):
                continue
            for s, c in _codings(comp.get("code")):
                series = codes.series_for_code(s, c)
                if series is not None:
                    self._sample(series, comp.get("valueQuantity"), t, ref, None)
                    break

    def _sample(
        self, series: codes.SeriesConcept, q: Any, t: datetime, ref: str, ranges: Any
    ) -> None:
        name = series.name
        if not isinstance(q, dict):
            self.data.unreadable.append((ref, f"{series.label}: no valueQuantity"))
            return
        v = _number(q.get("value"))
        if v is None:
            self.data.unreadable.append((ref, f"{series.label}: value is not a number"))
            return
        unit = q.get("code") if isinstance(q.get("code"), str) else q.get("unit")
        try:
            value = self._to_unit(series, v, unit)
            low = high = None
            if isinstance(ranges, list) and ranges and isinstance(ranges[0], dict):
                rr = ranges[0]
                lo, hi = rr.get("low"), rr.get("high")
                if isinstance(lo, dict) and _number(lo.get("value")) is not None:
                    low = self._to_unit(
                        series, float(lo["value"]), lo.get("code") or lo.get("unit") or unit
                    )
                if isinstance(hi, dict) and _number(hi.get("value")) is not None:
                    high = self._to_unit(
                        series, float(hi["value"]), hi.get("code") or hi.get("unit") or unit
                    )
        except units.UnitError as e:
            self.data.unreadable.append((ref, f"{series.label}: {e}"))
            return
        self.data.series.setdefault(name, []).append(Sample(t, value, ref, low, high))

    def _to_unit(self, series: codes.SeriesConcept, v: float, unit: Any) -> float:
        unit = unit if isinstance(unit, str) else None
        if series.unit == "%":
            return units.fraction_or_percent_to_percent(v, unit)
        if series.molar_mass and unit and "mol" in unit:
            # umol/L → mg/dL through the analyte's molar mass
            mol_per_l = units.convert(v, unit, "mol/L")
            return round(units.convert(mol_per_l * series.molar_mass, "g/L", series.unit), 6)
        if unit is None:
            raise units.UnitError("no unit")
        return units.convert(v, unit, series.unit)

    # -- Oxygen support as Procedure / DeviceUseStatement ----------------------------------------
    def procedure(self, r: dict[str, Any]) -> None:
        if r.get("status") in IGNORED_STATUS or r.get("status") == "preparation":
            return
        if self._cell_therapy_infusion(r):
            return
        o2 = codes.match_o2(_codings(r.get("code")), _names(r.get("code")))
        if o2 is None:
            return
        ref = _ref(r)
        start = parse_instant(r.get("performedDateTime"))
        end: datetime | None = start
        p = r.get("performedPeriod")
        if start is None and isinstance(p, dict):
            start, end = parse_instant(p.get("start")), parse_instant(p.get("end"))
            if end is None and r.get("status") == "completed":
                end = start
        if start is None:
            self.data.unreadable.append((ref, f"{o2[1]}: no performed time"))
            return
        self.data.o2_episodes.append(O2Episode(o2[0], start, end, ref, o2[1]))

    def _cell_therapy_infusion(self, r: dict[str, Any]) -> bool:
        """A T-cell therapy infusion charted as a Procedure: read as its administration."""
        if r.get("status") not in codes.CELL_THERAPY_PROCEDURE_STATUS:
            return False
        names = " ".join(_names(r.get("code")))
        if any(t in names.lower() for t in codes.CELL_THERAPY_PROCEDURE_EXCLUDE):
            return False
        drug = codes.match_drug(_codings(r.get("code")), names)
        if drug is None or drug.drug_class != "cellular_therapy":
            return False
        start = parse_instant(r.get("performedDateTime"))
        p = r.get("performedPeriod")
        if start is None and isinstance(p, dict):
            start = parse_instant(p.get("start"))
        ref = _ref(r)
        if start is None:
            self.data.unreadable.append((ref, f"{drug.name} infusion: no performed time"))
            return True
        self.data.drugs.append(
            DrugEvent(
                drug=drug.name,
                drug_class=drug.drug_class,
                kind="administration",
                time=start,
                end=start,
                ref=ref,
                status=r.get("status") or "",
                start=start,
            )
        )
        return True

    def device_use(self, r: dict[str, Any]) -> None:
        if r.get("status") in IGNORED_STATUS:
            return
        dev = r.get("device")
        codings: Codings = []
        names: list[str] = []
        if isinstance(dev, dict):
            if isinstance(dev.get("display"), str):
                names.append(dev["display"])
            target = dev.get("reference")
            device = None
            if isinstance(target, str):
                if target.startswith("#"):
                    for c in r.get("contained") or ():
                        if isinstance(c, dict) and c.get("id") == target[1:]:
                            device = c
                else:
                    device = self.devices.get("Device/" + target.rsplit("/", 1)[-1])
            if isinstance(device, dict):
                codings += _codings(device.get("type"))
                names += _names(device.get("type"))
                for dn in device.get("deviceName") or ():
                    if isinstance(dn, dict) and isinstance(dn.get("name"), str):
                        names.append(dn["name"])
        o2 = codes.match_o2(codings, tuple(names))
        if o2 is None:
            return
        ref = _ref(r)
        tp = r.get("timingPeriod")
        start = end = parse_instant(r.get("timingDateTime"))
        if start is None and isinstance(tp, dict):
            start, end = parse_instant(tp.get("start")), parse_instant(tp.get("end"))
        if start is None:
            self.data.unreadable.append((ref, f"{o2[1]}: no timing"))
            return
        self.data.o2_episodes.append(O2Episode(o2[0], start, end, ref, o2[1]))

    # -- Medications -------------------------------------------------------------------------
    def _medication_concept(self, r: dict[str, Any]) -> tuple[Codings, str]:
        mcc = r.get("medicationCodeableConcept")
        if isinstance(mcc, dict):
            return _codings(mcc), _text(mcc)
        mref = r.get("medicationReference")
        if isinstance(mref, dict):
            text = mref.get("display") if isinstance(mref.get("display"), str) else ""
            target = mref.get("reference")
            med = None
            if isinstance(target, str):
                if target.startswith("#"):
                    for c in r.get("contained") or ():
                        if isinstance(c, dict) and c.get("id") == target[1:]:
                            med = c
                else:
                    med = self.medications.get(target) or self.medications.get(
                        target.rsplit("/", 1)[-1] and "Medication/" + target.rsplit("/", 1)[-1]
                    )
            if isinstance(med, dict):
                codings = _codings(med.get("code"))
                text = " ".join(filter(None, [text, _text(med.get("code"))]))
                for ing in med.get("ingredient") or ():
                    if isinstance(ing, dict):
                        codings += _codings(ing.get("itemCodeableConcept"))
                        ir = ing.get("itemReference")
                        if isinstance(ir, dict) and isinstance(ir.get("display"), str):
                            text += " " + ir["display"]
                return codings, text
            return [], text
        return [], ""

    def _medication(self, r: dict[str, Any]) -> dict[str, Any] | None:
        """The Medication a resource references (contained or in the data), if any."""
        mref = r.get("medicationReference")
        target = mref.get("reference") if isinstance(mref, dict) else None
        if not isinstance(target, str):
            return None
        if target.startswith("#"):
            for c in r.get("contained") or ():
                if isinstance(c, dict) and c.get("id") == target[1:]:
                    return c
            return None
        return self.medications.get(target) or self.medications.get(
            "Medication/" + target.rsplit("/", 1)[-1]
        )

    def strength_mg(
        self, r: dict[str, Any], codings: Codings, text: str
    ) -> tuple[float, str] | None:
        """Milligrams per tablet (or capsule) of the product a resource names, and where that
        came from: the Medication's ingredient strength, the coded clinical drug, or the name."""
        med = self._medication(r)
        if isinstance(med, dict):
            for ing in med.get("ingredient") or ():
                st = ing.get("strength") if isinstance(ing, dict) else None
                if not isinstance(st, dict):
                    continue
                num, den = st.get("numerator"), st.get("denominator")
                if not isinstance(num, dict) or not isinstance(den, dict):
                    continue
                v, dv = _number(num.get("value")), _number(den.get("value"))
                factor = KO.MASS_TO_MG.get(str(num.get("code") or num.get("unit") or "").lower())
                if v is not None and dv == 1 and factor is not None and _is_count(den):
                    return v * factor, "the Medication's ingredient strength"
        hit = codes.strength_for(codings)
        if hit is not None:
            return (
                hit.mg_per_unit,
                f"RxNorm {hit.code.rpartition('|')[2]} ({_n(hit.mg_per_unit)} mg per tablet)",
            )
        mg = codes.strength_in_text(text)
        if mg is not None:
            return mg, f"the product name ({_n(mg)} mg per unit)"
        return None

    def dose_mg(
        self, r: dict[str, Any], q: Any, codings: Codings, text: str, weight_kg: float | None
    ) -> tuple[float | None, str | None, str | None]:
        """(mg, problem, basis) for a dose Quantity: mass units, per kg with a weight, or a
        count of tablets through the product's strength."""
        if not isinstance(q, dict):
            return None, "no structured dose", None
        v = _number(q.get("value"))
        if v is None:
            return None, "the dose is not a number", None
        code = q.get("code") if isinstance(q.get("code"), str) else None
        unit = q.get("unit") if isinstance(q.get("unit"), str) else None
        shown = code or unit or "(no unit)"
        if _is_count(q):
            st = self.strength_mg(r, codings, text)
            if st is None:
                return (
                    None,
                    f"the dose is {_n(v)} {shown} and the product's strength per unit is not "
                    "known (no strength on the Medication, a code without a known strength, no "
                    "strength in its name)",
                    None,
                )
            return v * st[0], None, f"{_n(v)} × {_n(st[0])} mg, strength from {st[1]}"
        for u in (code, unit):
            if not u:
                continue
            norm = u.strip().lower().replace(" ", "")
            per_kg = norm.endswith("/kg")
            factor = KO.MASS_TO_MG.get(norm[: -len("/kg")] if per_kg else norm)
            if factor is None:
                continue
            if not per_kg:
                return v * factor, None, None
            if weight_kg is None:
                return None, f"the dose is {_n(v)} {shown} and no body weight is recorded", None
            return (
                v * factor * weight_kg,
                None,
                f"{_n(v)} {u.strip()} × {_n(weight_kg)} kg",
            )
        return None, f"the unit {shown} is neither a mass nor a tablet count", None

    def medication_event(self, r: dict[str, Any]) -> None:
        rt = r.get("resourceType")
        status = r.get("status") if isinstance(r.get("status"), str) else ""
        if rt == "MedicationRequest" and status == "draft":
            self._record_draft(r)
            return
        if status in IGNORED_STATUS or (
            rt == "MedicationRequest" and status in ORDER_IGNORED_STATUS
        ):
            return
        if rt == "MedicationRequest" and r.get("intent") in ("proposal", "plan"):
            return
        codings, text = self._medication_concept(r)
        drug = codes.match_drug(codings, text)
        if drug is None:
            return
        ref = _ref(r)
        if rt == "MedicationAdministration":
            kind = "administration"
            start, end = _effective(r)
            t = start
        elif rt == "MedicationRequest":
            kind = "order"
            t = parse_instant(r.get("authoredOn"))
            end = None
            start = t
        else:
            kind = "statement"
            start, end = _effective(r)
            t = start or parse_instant(r.get("dateAsserted"))
        if drug.drug_class == "vasopressor" and rt == "MedicationAdministration":
            self._rate_pending.append((r, drug, ref))
            return
        dose_value = dose_unit = route = None
        dose_mg = dose_note = per_day = None
        if rt == "MedicationAdministration":
            dosage = r.get("dosage") if isinstance(r.get("dosage"), dict) else {}
            dq = dosage.get("dose") if isinstance(dosage.get("dose"), dict) else {}
            dose_value = _number(dq.get("value"))
            dose_unit = dq.get("code") or dq.get("unit")
            route = _text(dosage.get("route")) or None
            if dq:
                dose_mg, dose_note, _basis = self.dose_mg(r, dq, codings, text, None)
        elif rt == "MedicationRequest":
            dosage = _first_dosage(r)
            dq = _dose_quantity(dosage)
            if isinstance(dq, dict):
                dose_value = _number(dq.get("value"))
                dose_unit = dq.get("code") or dq.get("unit")
                dose_mg, dose_note, _basis = self.dose_mg(r, dq, codings, text, None)
            per_day = _doses_per_day(dosage)
            route = _text(dosage.get("route")) or None
            bounds = ((dosage.get("timing") or {}).get("repeat") or {}).get("boundsPeriod")
            if isinstance(bounds, dict):
                start = parse_instant(bounds.get("start")) or start
                end = parse_instant(bounds.get("end"))
        elif rt == "MedicationStatement":
            dl = r.get("dosage")
            dosage = dl[0] if isinstance(dl, list) and dl and isinstance(dl[0], dict) else {}
            dq = _dose_quantity(dosage)
            if isinstance(dq, dict):
                dose_value = _number(dq.get("value"))
                dose_unit = dq.get("code") or dq.get("unit")
                dose_mg, dose_note, _basis = self.dose_mg(r, dq, codings, text, None)
            per_day = _doses_per_day(dosage)
            route = _text(dosage.get("route")) or None
        if (
            rt != "MedicationAdministration"
            and dose_mg is None
            and drug.drug_class == "corticosteroid"
        ):
            # A sig written only as text ("60 mg daily", "80 mg IV q12h"): read its mg and
            # frequency, and say the dose came from text.
            dosage = _first_dosage(r) if rt == "MedicationRequest" else dosage
            sig = _sig(dosage.get("text") if isinstance(dosage, dict) else None)
            if sig is not None:
                dose_mg, sig_per_day = sig
                per_day = per_day or sig_per_day
                dose_note = "dose read from the dosage text"
        names = drug.components or (drug.name,)
        for name in names:
            concept = codes.drug_by_name(name) or drug
            self.data.drugs.append(
                DrugEvent(
                    drug=concept.name,
                    drug_class=concept.drug_class,
                    kind=kind,
                    time=t,
                    end=end,
                    ref=ref,
                    status=status,
                    dose_value=dose_value,
                    dose_unit=dose_unit if isinstance(dose_unit, str) else None,
                    route=route,
                    target=concept.target,
                    dose_mg=dose_mg,
                    dose_note=dose_note,
                    doses_per_day=per_day,
                    start=start,
                )
            )

    def _record_draft(self, r: dict[str, Any]) -> None:
        codings, text = self._medication_concept(r)
        drug = codes.match_drug(codings, text)
        if drug is None:
            return
        for name in drug.components or (drug.name,):
            concept = codes.drug_by_name(name) or drug
            self.data.drafts.append(
                DrugEvent(
                    drug=concept.name,
                    drug_class=concept.drug_class,
                    kind="draft",
                    time=parse_instant(r.get("authoredOn")),
                    end=None,
                    ref=_ref(r),
                    status="draft",
                    target=concept.target,
                )
            )

    def _vasopressor(
        self, r: dict[str, Any], drug: codes.DrugConcept, ref: str, weight_kg: float | None
    ) -> None:
        start, end = _effective(r)
        if start is None:
            self.data.unreadable.append((ref, f"{drug.name} infusion: no effective time"))
            return
        if r.get("status") == "in-progress" and end == start and "effectivePeriod" in r:
            end = None
        dosage = r.get("dosage") if isinstance(r.get("dosage"), dict) else {}
        rq = dosage.get("rateQuantity")
        target_unit = drug.extra["unit"]
        rate: float | None = None
        note: str | None = None
        if not isinstance(rq, dict) or _number(rq.get("value")) is None:
            note = "no infusion rate recorded"
        else:
            v = float(rq["value"])
            unit = rq.get("code") if isinstance(rq.get("code"), str) else rq.get("unit")
            rate, note = _convert_rate(v, unit, target_unit, weight_kg, drug.name)
        self.data.drugs.append(
            DrugEvent(
                drug.name, "vasopressor", "administration", start, end, ref, r.get("status") or ""
            )
        )
        if end == start:
            # A point-in-time row (a charted rate): it holds until the next row of this drug.
            stop = r.get("status") == "stopped" or rate == 0
            if note and not stop:
                self.data.unreadable.append((ref, f"{drug.name} infusion: {note}"))
            self._rate_points.setdefault(drug.name, []).append((start, rate, ref, note, stop))
            return
        if note:
            self.data.unreadable.append((ref, f"{drug.name} infusion: {note}"))
        self.data.infusions.append(Infusion(drug.name, start, end, rate, ref, note))

    def _rate_observation(
        self, r: dict[str, Any], drug: codes.DrugConcept, ref: str, weight_kg: float | None
    ) -> None:
        """A flowsheet row of a vasopressor rate (an Observation whose code names the drug)."""
        t, _ = _effective(r)
        if t is None:
            self.data.unreadable.append((ref, f"{drug.name} rate: no effective time"))
            return
        q = r.get("valueQuantity")
        if not isinstance(q, dict) or _number(q.get("value")) is None:
            self.data.unreadable.append((ref, f"{drug.name} rate: no numeric value"))
            return
        unit = q.get("code") if isinstance(q.get("code"), str) else q.get("unit")
        rate, note = _convert_rate(
            float(q["value"]), unit, drug.extra["unit"], weight_kg, drug.name
        )
        if note:
            self.data.unreadable.append((ref, f"{drug.name} rate: {note}"))
            if rate is None and not _is_rate_unit(unit):
                return  # not a rate at all (a concentration, a level): not an infusion row
        self._rate_points.setdefault(drug.name, []).append((t, rate, ref, note, rate == 0))

    def _point_infusions(self) -> None:
        """Charted rates → infusion spans: each holds until the next row of the same drug, a
        documented stop, or the tabled maximum gap; what is cut is said in data_quality."""
        gap = timedelta(hours=KC.value("vaso_row_max_gap"))
        for drug, rows in self._rate_points.items():
            rows.sort(key=lambda x: x[0])
            for i, (t, rate, ref, note, stop) in enumerate(rows):
                if stop:
                    continue
                nxt = rows[i + 1][0] if i + 1 < len(rows) else None
                end = t + gap if nxt is None or nxt - t > gap else nxt
                if end <= t:
                    continue  # two rows at the same instant: the later one holds
                if nxt is None:
                    self.data.unreadable.append(
                        (
                            ref,
                            f"{drug} rate charted at {t.astimezone(UTC):%Y-%m-%d %H:%M} UTC with no later row or stop: "
                            f"held for at most {_h(gap)}",
                        )
                    )
                elif nxt - t > gap:
                    self.data.unreadable.append(
                        (
                            ref,
                            f"{drug} rate charted at {t.astimezone(UTC):%Y-%m-%d %H:%M} UTC, next row {nxt.astimezone(UTC):%H:%M}: "
                            f"held for {_h(gap)} only; the gap is unknown",
                        )
                    )
                prev = self.data.infusions[-1] if self.data.infusions else None
                if (
                    prev is not None
                    and prev.drug == drug
                    and prev.end == t
                    and prev.rate == rate
                    and prev.rate_note == note
                ):
                    # The same rate charted again: one infusion span, cited by its first row.
                    self.data.infusions[-1] = Infusion(drug, prev.start, end, rate, prev.ref, note)
                    continue
                self.data.infusions.append(Infusion(drug, t, end, rate, ref, note))

    # -- Conditions ---------------------------------------------------------------------------
    def condition(self, r: dict[str, Any]) -> None:
        vs = _codings(r.get("verificationStatus"))
        if any(c in ("entered-in-error", "refuted") for _, c in vs):
            return
        code = r.get("code")
        text = _text(code)
        self._neuro_condition(r, text)
        self._metabolic_condition(r, text)
        hit = codes.classify_condition(_codings(code), text)
        if hit is None:
            return
        cs = [c for _, c in _codings(r.get("clinicalStatus"))]
        active = not any(c in INACTIVE_CONDITION for c in cs)
        # Only an onset is an onset: recordedDate is when it was written down (kept apart).
        onset = parse_instant(r.get("onsetDateTime"))
        if onset is None and isinstance(r.get("onsetPeriod"), dict):
            onset = parse_instant(r["onsetPeriod"].get("start"))
        recorded = parse_instant(r.get("recordedDate"))
        recorded_grade = _recorded_grade(r)
        grade = hit.grade if hit.grade is not None else recorded_grade
        if hit.kind != "crs" and hit.grade is not None and recorded_grade is not None:
            # A code that implies a grade (DKA: at least 3) is a floor, not a cap.
            grade = max(hit.grade, recorded_grade)
        self.data.conditions.append(
            ConditionFact(
                kind=hit.kind,
                onset=onset,
                active=active,
                ref=_ref(r),
                text=text or hit.kind.replace("_", " "),
                code=hit.code,
                grade=grade,
                bsa_percent=None,
                text_matched=hit.text_matched,
                excluded=hit.excluded,
                exclusion_source=hit.exclusion_source,
                recorded=recorded,
                mass_effect=_mass_effect(r, text),
                ici_coded=hit.ici_coded,
                needs_marker=hit.needs_marker,
                competing_cause=hit.competing,
            )
        )

    def _metabolic_condition(self, r: dict[str, Any], text: str) -> None:
        """An active Condition coded as a metabolic cause of encephalopathy (knowledge.icans
        OTHER_CAUSES rows with codes)."""
        keys = {f"{s}|{c}" for s, c in _codings(r.get("code"))}
        cs = [c for _, c in _codings(r.get("clinicalStatus"))]
        if any(c in INACTIVE_CONDITION for c in cs) or r.get("abatementDateTime"):
            return
        for row in KI.OTHER_CAUSES:
            if keys & set(row.codes):
                t = parse_instant(r.get("onsetDateTime")) or parse_instant(r.get("recordedDate"))
                self.data.metabolic.append((row.kind, t, _ref(r), text or row.label))
                return

    def _neuro_condition(self, r: dict[str, Any], text: str) -> None:
        """A Condition carrying an ICANS domain (`knowledge.icans.NEURO`), by exact code or by
        an affirmed phrase in its text; read beside (never instead of) the irAE reading."""
        keys = {codes._norm_key(s, c) for s, c in _codings(r.get("code")) if c}
        low = text.lower()
        concept, by_text = None, False
        for n in KI.NEURO:
            if keys & set(n.codes):
                concept = n
                break
        if concept is None:
            for n in KI.NEURO:
                if any(codes.mentions(term, text) for term in n.terms):
                    concept, by_text = n, True
                    break
        if concept is None:
            return
        ref = _ref(r)
        onset = parse_instant(r.get("onsetDateTime"))
        if onset is None and isinstance(r.get("onsetPeriod"), dict):
            onset = parse_instant(r["onsetPeriod"].get("start"))
        t = onset or parse_instant(r.get("recordedDate"))
        if t is None:
            self.data.unreadable.append((ref, f"{text or concept.kind}: no onset or recorded date"))
            return
        end = parse_instant(r.get("abatementDateTime"))
        cs = [c for _, c in _codings(r.get("clinicalStatus"))]
        if end is None and any(c in INACTIVE_CONDITION for c in cs):
            end = t
        if concept.kind in ("seizure", "status_epilepticus"):
            end = t  # an event, not a state
        rule = concept.rule
        if concept.kind == "cerebral_oedema" and any(w in low for w in KI.DIFFUSE_TERMS):
            rule = KI.NEURO_BY_KIND["raised_icp"].rule
        excluded = None
        if concept.kind in ("cerebral_oedema", "raised_icp") and any(
            w in low for w in KI.HAEMORRHAGE_TERMS
        ):
            excluded = "intracranial haemorrhage is not ICANS (ASTCT 2019)"
        grade = None
        if concept.kind == "icans":
            graded = dict(concept.graded_codes)
            grade = next((graded[k] for k in keys if k in graded), None)
            if grade is None:
                grade = _recorded_grade(r)
        self.data.neuro.append(
            NeuroFact(
                concept.kind,
                t,
                ref,
                text or concept.kind.replace("_", " "),
                rule,
                grade=grade,
                end=end,
                text_matched=by_text,
                excluded=excluded,
                extent_unknown=concept.kind == "cerebral_oedema"
                and rule == concept.rule
                and not any(w in low for w in ("focal", "local")),
            )
        )

    def _infection_test(self, r: dict[str, Any], test: codes.InfectionTest) -> None:
        start, end = _effective(r)
        t = end or start
        if t is None:
            return
        positive = _positive_result(r)
        if positive is None:
            return
        self.data.tests.append(
            TestResult(
                test.kinds, _text(r.get("code")) or test.label, t, positive, _ref(r), test.source
            )
        )

    # -- Allergies and intolerances ---------------------------------------------------------
    def allergy(self, r: dict[str, Any]) -> None:
        """An active AllergyIntolerance to a drug the plan could propose (by code or name, or a
        drug class such as sulfonamides: `knowledge.codes.ALLERGY_CLASSES`). Refuted, entered in
        error, inactive and resolved records are not read."""
        vs = [c for _, c in _codings(r.get("verificationStatus"))]
        if any(c in ("refuted", "entered-in-error") for c in vs):
            return
        cs = [c for _, c in _codings(r.get("clinicalStatus"))]
        if any(c in ("inactive", "resolved") for c in cs):
            return
        concepts = [r.get("code")]
        concepts += [rx.get("substance") for rx in r.get("reaction") or () if isinstance(rx, dict)]
        drugs: list[str] = []
        texts: list[str] = []
        for concept in concepts:
            text = _text(concept)
            if text:
                texts.append(text)
            hit = codes.match_drug(_codings(concept), text)
            if hit is not None:
                drugs.extend(hit.components or (hit.name,))
            drugs.extend(codes.allergy_class_drugs(text))
        if not drugs:
            return
        crit = r.get("criticality")
        self.data.allergies.append(
            AllergyFact(
                substance=texts[0] if texts else drugs[0],
                drugs=tuple(dict.fromkeys(drugs)),
                criticality=crit if isinstance(crit, str) else None,
                ref=_ref(r),
            )
        )

    def finish(self) -> PatientData:
        weight = self._weight_for_rates()
        for r, drug, ref in self._rate_pending:
            try:
                self._vasopressor(r, drug, ref, weight)
            except (TypeError, AttributeError, ValueError, KeyError):
                self.data.unreadable.append(
                    (ref, "malformed resource (a field has the wrong type)")
                )
        for r, drug, ref in self._rate_obs_pending:
            try:
                self._rate_observation(r, drug, ref, weight)
            except (TypeError, AttributeError, ValueError, KeyError):
                self.data.unreadable.append(
                    (ref, "malformed resource (a field has the wrong type)")
                )
        self._point_infusions()
        d = self.data
        for s in d.series.values():
            s.sort(key=lambda x: x.time)
        d.o2_episodes.sort(key=lambda e: e.start)
        d.infusions.sort(key=lambda i: i.start)
        d.drugs.sort(key=lambda e: (e.time is None, e.time))
        d.neuro.sort(key=lambda n: n.time)
        return d

    def _weight_for_rates(self) -> float | None:
        ws = self.data.samples("weight")
        if not ws:
            return None
        return max(ws, key=lambda s: s.time).value


_MASS_EFFECT_TERMS = (
    "mass effect",
    "chiasm",
    "visual",
    "vision",
    "severe headache",
    "optic",
)


def _mass_effect(r: dict[str, Any], text: str) -> bool | None:
    """Mass effect written on a hypophysitis Condition (its text, notes or evidence)."""
    parts = [text or ""]
    for n in r.get("note") or ():
        if isinstance(n, dict) and isinstance(n.get("text"), str):
            parts.append(n["text"])
    for e in r.get("evidence") or ():
        if isinstance(e, dict):
            for cc in e.get("code") or ():
                parts.append(_text(cc))
    joined = "; ".join(p for p in parts if p)
    if any(codes.mentions(t, joined) for t in _MASS_EFFECT_TERMS):
        return True
    low = joined.lower()
    return False if any(t in low for t in _MASS_EFFECT_TERMS) else None


def _positive_result(r: dict[str, Any]) -> bool | None:
    """True for a positive or detected result, False for negative, None when it cannot be read."""
    for _, c in _codings(r.get("valueCodeableConcept")) + [
        x for i in (r.get("interpretation") or ()) for x in _codings(i)
    ]:
        if c in codes.POSITIVE_RESULT_CODES:
            return True
        if c in codes.NEGATIVE_RESULT_CODES:
            return False
    words = " ".join(
        filter(
            None,
            [
                _text(r.get("valueCodeableConcept")),
                r.get("valueString") if isinstance(r.get("valueString"), str) else "",
            ],
        )
    ).lower()
    if not words:
        return None
    if any(w in words for w in ("negative", "not detected", "no growth", "none detected")):
        return False
    if any(w in words for w in ("positive", "detected", "isolated", "growth", "present")):
        return True
    return None


_n = fmt.exact  # a number quoted as the record gives it


def _is_count(q: dict[str, Any]) -> bool:
    """A Quantity that counts tablets, capsules or pills."""
    for key in ("code", "unit"):
        u = q.get(key)
        if isinstance(u, str):
            norm = u.strip().lower()
            if norm in KO.COUNT_UNITS or norm.rstrip("(s)") in KO.COUNT_UNITS:
                return True
    return False


_SIG_MG = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*mg\b(?!\s*/)", re.I)
_SIG_FREQ = (
    (re.compile(r"\bq\s*(\d+)\s*h", re.I), None),
    (re.compile(r"\b(daily|once a day|once daily|every day|qd|per day|/day)\b", re.I), 1.0),
    (re.compile(r"\b(bid|twice daily|twice a day)\b", re.I), 2.0),
    (re.compile(r"\b(tid|three times daily)\b", re.I), 3.0),
    (re.compile(r"\b(qid|four times daily)\b", re.I), 4.0),
)


def _sig(text: Any) -> tuple[float, float | None] | None:
    """(mg per dose, doses per day) from a sig with one dose in mg ("60 mg daily",
    "methylprednisolone 80 mg IV q12h"); None for anything else (no mg, or several)."""
    if not isinstance(text, str):
        return None
    amounts = {float(x.group(1)) for x in _SIG_MG.finditer(text)}
    if len(amounts) != 1:  # none, or a taper written out in words: not guessed
        return None
    m = _SIG_MG.search(text)
    assert m is not None
    for pattern, per_day in _SIG_FREQ:
        f = pattern.search(text)
        if f is not None:
            if per_day is None:
                hours = float(f.group(1))
                return float(m.group(1)), (24.0 / hours if hours > 0 else None)
            return float(m.group(1)), per_day
    return float(m.group(1)), None


def _first_dosage(r: dict[str, Any]) -> dict[str, Any]:
    di = r.get("dosageInstruction")
    first = di[0] if isinstance(di, list) and di else {}
    return first if isinstance(first, dict) else {}


def _dose_quantity(dosage: dict[str, Any]) -> dict[str, Any] | None:
    """The ordered dose: doseQuantity, or the high end of doseRange."""
    for dr in dosage.get("doseAndRate") or ():
        if not isinstance(dr, dict):
            continue
        q = dr.get("doseQuantity")
        if isinstance(q, dict):
            return q
        rng = dr.get("doseRange")
        if isinstance(rng, dict) and isinstance(rng.get("high"), dict):
            return rng["high"]
    return None


def _count_label(q: dict[str, Any]) -> str | None:
    """A count of tablets or capsules in words ("1 tablet", "2 capsules"), not as the UCUM
    annotation a client may send without a `unit` (the CDS Hooks sandbox sends `{pill}`)."""
    v = _number(q.get("value"))
    if v is None or not _is_count(q):
        return None
    units = " ".join(str(q.get(k) or "") for k in ("unit", "code")).lower()
    word = "capsule" if "cap" in units else "tablet"
    return f"{_n(v)} {word}{'s' if v > 1 else ''}"


def _dose_label(dosage: dict[str, Any]) -> str:
    for dr in dosage.get("doseAndRate") or ():
        if not isinstance(dr, dict):
            continue
        q = dr.get("doseQuantity")
        if isinstance(q, dict):
            return _count_label(q) or (
                f"{q.get('value')} {q.get('unit') or q.get('code') or ''}".strip()
            )
        rng = dr.get("doseRange")
        if isinstance(rng, dict) and isinstance(rng.get("high"), dict):
            hi = rng["high"]
            return f"up to {hi.get('value')} {hi.get('unit') or hi.get('code') or ''}".strip()
    text = dosage.get("text")
    return text if isinstance(text, str) and text else "no structured dose"


def _doses_per_day(dosage: dict[str, Any]) -> float | None:
    timing = dosage.get("timing")
    rep = timing.get("repeat") if isinstance(timing, dict) else None
    if not isinstance(rep, dict):
        return None
    freq, period = _number(rep.get("frequency")), _number(rep.get("period"))
    days = (
        _PERIOD_DAYS.get(rep.get("periodUnit") or "")
        if isinstance(rep.get("periodUnit") or "", str)
        else None
    )
    if freq is None or period is None or period <= 0 or days is None:
        return None
    return freq / (period * days)


def _recorded_grade(r: dict[str, Any]) -> int | None:
    """A grade written on the Condition: stage.summary or severity ("Grade 3", SNOMED mild...)."""
    import re

    texts: list[str] = []
    for st in r.get("stage") or ():
        if isinstance(st, dict):
            texts.append(_text(st.get("summary")))
    sev = r.get("severity")
    texts.append(_text(sev))
    for t in texts:
        m = re.search(r"grade\s*([1-5])", t or "", re.IGNORECASE)
        if m:
            return int(m.group(1))
    for s, c in _codings(sev):
        g = codes.SEVERITY_GRADE.get(f"{s}|{c}")
        if g:
            return g
    return None


def _neuro_tool(concept: Any, codings: Codings) -> KI.Tool | None:
    """The ICE score or CAPD, by the product's code or by name (`knowledge.icans.TOOLS`)."""
    for s, c in codings:
        tool = KI.TOOL_BY_LOCAL_CODE.get(f"{s}|{c}")
        if tool is not None:
            return tool
    for name in _names(concept):
        low = " ".join(name.lower().split())
        for tool in KI.TOOLS:
            if any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", low) for n in tool.names):
                return tool
    return None


def _named(
    concept: Any, codings: Codings, code_keys: tuple[str, ...], names: tuple[str, ...]
) -> bool:
    """The Observation's code is one of `code_keys`, or names one of `names` as a whole phrase
    in its text or a coding's display."""
    if any(f"{s}|{c}" in code_keys for s, c in codings):
        return True
    for name in _names(concept):
        low = " ".join(name.lower().split())
        if any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", low) for n in names):
            return True
    return False


def _value_text(r: dict[str, Any]) -> str:
    """valueString, or valueCodeableConcept's text and displays."""
    v = r.get("valueString")
    if isinstance(v, str) and v.strip():
        return v.strip()
    return _text(r.get("valueCodeableConcept"))


def _integer_value(r: dict[str, Any]) -> int | None:
    """valueInteger, or a valueQuantity whose value is a whole number."""
    v = r.get("valueInteger")
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    q = r.get("valueQuantity")
    if isinstance(q, dict):
        n = _number(q.get("value"))
        if n is not None and float(n).is_integer():
            return int(n)
    return None


def _convert_rate(
    v: float, unit: Any, target: str, weight_kg: float | None, drug: str
) -> tuple[float | None, str | None]:
    """An infusion rate in the drug's canonical unit, using the weight where needed."""
    if not isinstance(unit, str) or not unit.strip():
        return None, "rate has no unit"
    if drug == "vasopressin" and unit.strip() in ("U/min", "U/h"):
        unit = unit.strip().replace("U/", "[iU]/")
    try:
        src = units.normalise(unit)
        per_kg_src = "/kg" in src
        per_kg_dst = "/kg" in target
        if per_kg_src == per_kg_dst:
            return units.convert(v, src, target), None
        if weight_kg is None:
            return None, f"rate in {unit} needs a body weight to convert to {target}"
        if per_kg_src:  # ug/kg/min → ug/min
            return round(units.convert(v, src, target + "/kg") * weight_kg, 6), None
        return round(
            units.convert(v / weight_kg, src + "/kg" if "/" not in src else _per_kg(src), target), 6
        ), None
    except units.UnitError as e:
        return None, str(e)


def _per_kg(unit: str) -> str:
    """'ug/min' → 'ug/kg/min'."""
    num, _, den = unit.partition("/")
    return f"{num}/kg/{den}"


def to_patient_data(resources: Iterable[Any]) -> PatientData:
    return _adapt(flatten(resources))[1]


def to_patient_data_pair(
    without: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]
) -> tuple[PatientData, PatientData]:
    """(the data of `without`, the data of `new` and `without` together), the second exactly
    `to_patient_data([*new, *without])`, the first exactly `to_patient_data(without)`, in one
    adapter pass where that is exact: every new resource an Observation with an id of its own
    (`without` holds none with that id), none of them a vasopressor rate row (its span depends on
    the rows around it) and no weight among them while rates need a weight. Then "without" is
    "with" less everything read from the new resources; else the adapter reads `without` again."""
    a, with_ = _adapt(flatten([*new, *without]))
    new_flat = flatten(new)
    refs = {_ref(r) for r in new_flat}
    own = all(
        r.get("resourceType") == "Observation" and isinstance(r.get("id"), str) for r in new_flat
    )
    if not own or not refs.isdisjoint(_ref(r) for r in without):
        return to_patient_data(without), with_
    if any(ref in refs for _, _, ref in a._rate_obs_pending) or any(
        ref in refs for rows in a._rate_points.values() for _, _, ref, _, _ in rows
    ):
        return to_patient_data(without), with_
    d = with_
    if (a._rate_pending or a._rate_obs_pending) and any(s.ref in refs for s in d.samples("weight")):
        return to_patient_data(without), with_
    kept = [
        d.infusions,
        d.drugs,
        d.conditions,
        d.drafts,
        d.allergies,
    ]
    if any(getattr(x, "ref", None) in refs for xs in kept for x in xs):
        return to_patient_data(without), with_
    series = {}
    for name, samples in d.series.items():
        left = [s for s in samples if s.ref not in refs]
        if left:
            series[name] = left
    before = dataclasses.replace(
        d,
        series=series,
        o2_episodes=[e for e in d.o2_episodes if e.ref not in refs],
        infusions=list(d.infusions),
        drugs=list(d.drugs),
        conditions=list(d.conditions),
        tests=[t for t in d.tests if t.ref not in refs],
        drafts=list(d.drafts),
        allergies=list(d.allergies),
        neuro=[n for n in d.neuro if n.ref not in refs],
        unreadable=[u for u in d.unreadable if u[0] not in refs],
    )
    return before, with_


def _adapt(flat: list[dict[str, Any]]) -> tuple[_Adapter, PatientData]:
    a = _Adapter()
    for r in flat:
        if r.get("resourceType") == "Medication" and isinstance(r.get("id"), str):
            a.medications[f"Medication/{r['id']}"] = r
        if r.get("resourceType") == "Device" and isinstance(r.get("id"), str):
            a.devices[f"Device/{r['id']}"] = r
    handlers = {
        "Patient": a.patient,
        "Observation": a.observation,
        "Procedure": a.procedure,
        "DeviceUseStatement": a.device_use,
        "MedicationAdministration": a.medication_event,
        "MedicationRequest": a.medication_event,
        "MedicationStatement": a.medication_event,
        "Condition": a.condition,
        "AllergyIntolerance": a.allergy,
    }
    for r in flat:
        rt = r.get("resourceType")
        h = handlers.get(rt) if isinstance(rt, str) else None
        if h is not None:
            try:
                h(r)
            except (TypeError, AttributeError, ValueError, KeyError):
                # A field of the wrong JSON type somewhere in this resource: list it, keep going.
                a.data.unreadable.append(
                    (_ref(r), "malformed resource (a field has the wrong type)")
                )
    return a, a.finish()


_SAFE_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def read_draft_orders(
    draft_orders: Any, weight_kg: float | None, contained_in: Iterable[Any] = ()
) -> list[DraftOrder]:
    """The draft MedicationRequests of a CDS Hooks `draftOrders` Bundle that name a known drug,
    each with its dose in mg where it can be read (mass, per kg with a weight, tablets through
    the product's strength) and, where not, why."""
    resources = flatten([draft_orders]) if isinstance(draft_orders, dict) else []
    a = _Adapter()
    for r in [*resources, *flatten(contained_in)]:
        if r.get("resourceType") == "Medication" and isinstance(r.get("id"), str):
            a.medications.setdefault(f"Medication/{r['id']}", r)
    out: list[DraftOrder] = []
    for r in resources:
        if r.get("resourceType") != "MedicationRequest" or r.get("status") in DRAFT_INACTIVE_STATUS:
            continue
        rid = r.get("id")
        if not isinstance(rid, str) or not _SAFE_ID.match(rid):
            continue
        try:
            codings, text = a._medication_concept(r)
            drug = codes.match_drug(codings, text)
            if drug is None:
                continue
            dosage = _first_dosage(r)
            q = _dose_quantity(dosage)
            mg, problem, basis = a.dose_mg(r, q, codings, text, weight_kg)
            per_day = _doses_per_day(dosage)
            label = _dose_label(dosage)
            if mg is not None and isinstance(q, dict) and _is_count(q):
                label = f"{label} ({_n(mg)} mg)"
        except (TypeError, AttributeError, ValueError, KeyError):
            continue
        out.append(
            DraftOrder(
                id=rid,
                ref=f"MedicationRequest/{rid}",
                resource=r,
                drug=drug,
                dose_mg=mg,
                doses_per_day=per_day,
                dose_text=label,
                dose_problem=problem,
                dose_basis=basis,
            )
        )
    return out
