"""The trajectory's shortcuts give the same answers as the long way round.

`crs.evaluate` grades each distinct window once (`Findings.grading_key`) and finds a window's
vasopressor segments by bisection (`_Index.segments`). These tests compare both with the plain
computation on random patients, and fail if `Findings` grows a field the key leaves out.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services import crs, fhir_adapter
from services import vasopressors as V
from services.model import DrugEvent, Evidence, O2Episode, O2Level, Sample
from tests import fhir_factory as F

PATIENTS = Path(__file__).resolve().parents[2] / "demo" / "patients"

hours = st.floats(min_value=0, max_value=200, allow_nan=False)
vital = st.one_of(
    st.builds(lambda v, h: F.temp(v, hours_before=h), st.floats(36, 40.5), hours),
    st.builds(lambda v, h: F.sbp(v, hours_before=h), st.floats(60, 130), hours),
    st.builds(lambda v, h: F.obs("3150-0", v, "%", h), st.floats(21, 80), hours),
    st.builds(lambda v, h: F.obs("3151-8", v, "L/min", h), st.floats(0, 15), hours),
    st.builds(lambda v, h: F.lab("1742-6", v, "U/L", 40, h), st.floats(10, 1000), hours),
)
pressor = st.builds(
    lambda drug, rate, start, length: F.infusion(
        drug, rate, "ug/min", start, max(start - length, 0) if length else None
    ),
    st.sampled_from(["norepinephrine", "epinephrine", "vasopressin", "phenylephrine"]),
    st.one_of(st.none(), st.floats(1, 40)),
    hours,
    st.one_of(st.none(), st.floats(0.5, 30)),
)
device = st.builds(
    lambda code, start, length: F.o2(code, start, max(start - length, 0)),
    st.sampled_from(["371907003", "426854004", "129121000"]),
    hours,
    st.floats(0.5, 48),
)


def _evaluate_the_long_way(data, at, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(crs.Findings, "grading_key", lambda self: object())  # never equal: no reuse
        return crs.evaluate(data, at)


def _same(a: crs.CrsEvaluation, b: crs.CrsEvaluation) -> None:
    assert a.now == b.now
    assert a.trajectory == b.trajectory
    assert a.worst == b.worst


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    vitals=st.lists(vital, max_size=60),
    pressors=st.lists(pressor, max_size=8),
    devices=st.lists(device, max_size=3),
    tocilizumab=st.one_of(st.none(), hours),
)
def test_grading_each_distinct_window_once_changes_no_grade(
    vitals, pressors, devices, tocilizumab, monkeypatch_session
):
    resources = [F.patient(), F.weight(70), *vitals, *pressors, *devices]
    if tocilizumab is not None:
        resources.append(F.given("tocilizumab", tocilizumab, (560, "mg")))
    data = fhir_adapter.to_patient_data(resources)
    _same(crs.evaluate(data, F.AT), _evaluate_the_long_way(data, F.AT, monkeypatch_session))


@pytest.mark.parametrize("path", sorted(PATIENTS.glob("*.json")), ids=lambda p: p.stem)
def test_the_demo_patients_grade_the_same_either_way(path, monkeypatch):
    bundle = json.loads(path.read_text("utf-8"))
    data = fhir_adapter.to_patient_data([bundle])
    at = F.AT
    _same(crs.evaluate(data, at), _evaluate_the_long_way(data, at, monkeypatch))


@settings(max_examples=80, deadline=None)
@given(pressors=st.lists(pressor, max_size=10), a_h=hours, width=st.floats(0, 48))
def test_segments_by_bisection_equal_the_linear_scan(pressors, a_h, width):
    data = fhir_adapter.to_patient_data([F.patient(), F.weight(70), *pressors])
    ix = crs._Index(data, F.AT)
    b = F.AT - timedelta(hours=a_h)
    a = b - timedelta(hours=width)
    segs, evidence = ix.segments(a, b)
    assert segs == V.overlapping(ix.segs, a, b)
    assert evidence == (crs._ev_segments(segs) if segs else ())


def test_every_findings_field_the_graders_read_is_in_the_grading_key():
    """Changing any field (other than the window's bounds) must change the key, or two windows
    that differ in it could share one grade."""
    t = F.AT
    sample = Sample(t, 1.0, "Observation/x", None, None)
    present = {
        "temp_max": sample,
        "temp_n": 1,
        "sbp_min": sample,
        "map_min": sample,
        "bp_n": 1,
        "fio2_max": sample,
        "flow_max": sample,
        "o2_top": O2Episode(O2Level.MASK, t, t, "Procedure/x", "mask"),
        "o2_n": 1,
        "vaso_segments": [V.Segment(t - timedelta(hours=1), t, ())],
        "vaso_evidence": (Evidence("MedicationAdministration/x", "x", t),),
        "high_dose": V.HighDoseRun(t, t, ()),
        "labs_n": 1,
        "organ": [crs.OrganTox("alt", 2, sample, 1.0, False, "ctcae4")],
        "anticytokine": DrugEvent.__new__(DrugEvent),
        "deceased": True,
        "onset": Evidence("Observation/x", "Temperature 38.5 Cel", t),
        "sbp_limit": 76.0,
        "map_limit": None,
        "age_known": False,
        "masking": DrugEvent.__new__(DrugEvent),
    }
    fields = {f.name for f in dataclasses.fields(crs.Findings)} - {"start", "end"}
    assert fields == set(present), "a new Findings field needs a place in grading_key"
    base = crs.Findings(t, t)
    for name, value in present.items():
        changed = dataclasses.replace(base, **{name: value})
        assert changed.grading_key() != base.grading_key(), name


@pytest.fixture(scope="module")
def monkeypatch_session():
    """A monkeypatch usable inside a hypothesis test (function-scoped fixtures are not)."""
    m = pytest.MonkeyPatch()
    yield m
    m.undo()
