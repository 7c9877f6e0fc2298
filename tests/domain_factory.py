"""Tiny builders for the domain's typed inputs (`services.model`), for tests of the graders
that need no FHIR: values in the domain's units (°C, mm Hg, L/min, FiO2 %, µg/min), times in
hours before `AT`. The FHIR reader has its own tests (and `tests.fhir_factory` its builders)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from services.model import DrugEvent, Infusion, O2Episode, O2Level, PatientData, Sample
from tests.fhir_factory import AT

_ids = itertools.count(1)


def at(hours_before: float):
    return AT - timedelta(hours=hours_before)


def sample(value: float, hours_before: float = 1) -> Sample:
    return Sample(at(hours_before), value, f"Observation/s{next(_ids)}")


def oxygen(level: O2Level, start_h: float, end_h: float | None = None) -> O2Episode:
    end = at(end_h) if end_h is not None else None
    return O2Episode(level, at(start_h), end, f"Procedure/o{next(_ids)}", level.name.lower())


def pressor(drug: str, rate: float | None, start_h: float, end_h: float | None = None) -> Infusion:
    end = at(end_h) if end_h is not None else None
    return Infusion(drug, at(start_h), end, rate, f"MedicationAdministration/i{next(_ids)}")


def given(drug: str, drug_class: str, hours_before: float) -> DrugEvent:
    ref = f"MedicationAdministration/g{next(_ids)}"
    return DrugEvent(drug, drug_class, "administration", at(hours_before), None, ref, "completed")


def patient(
    *,
    series: dict[str, list[Sample]] | None = None,
    o2: list[O2Episode] | None = None,
    infusions: list[Infusion] | None = None,
    drugs: list[DrugEvent] | None = None,
    birth: date | None = date(1970, 1, 1),
) -> PatientData:
    """A patient as the reader would hand it over: every list sorted by time."""
    return PatientData(
        birth_date=birth,
        series={k: sorted(v, key=lambda s: s.time) for k, v in (series or {}).items()},
        o2_episodes=sorted(o2 or [], key=lambda e: e.start),
        infusions=sorted(infusions or [], key=lambda i: i.start),
        drugs=sorted(drugs or [], key=lambda d: (d.time is None, d.time)),
    )
