"""CRS is graded only when it is CRS: exposure and attribution by timing, the primary system,
death, point-in-time vasopressor rows and children's blood pressure. Each rule on both sides
of its boundary; expected values written out from the sources (knowledge.crs rows cite them)."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from cds_hooks.cards import CardContext, assessment_cards, order_cards
from services.assess import assess, assess_bundle
from tests.fhir_factory import AT, given, iso, obs, patient, sbp, temp, weight

PATIENTS = Path(__file__).resolve().parents[2] / "demo" / "patients"


def therapy(name: str, hours_before: float) -> dict:
    """A therapy named only in text (CAR T products and T-cell engagers have no RxNorm row)."""
    return given(name, hours_before, by_text=True)


def run(*resources, primary=None, birth="1970-01-01", **pat):
    return assess([patient(birth=birth, **pat), *resources], at=AT, crs_primary=primary)


def pressor_row(rate: float | None, hours_before: float, status: str = "in-progress") -> dict:
    """A charted norepinephrine rate: one MedicationAdministration at one instant."""
    r = {
        "resourceType": "MedicationAdministration",
        "id": f"row{hours_before}",
        "status": status,
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "7512"}]
        },
        "effectiveDateTime": iso(hours_before),
    }
    if rate is not None:
        r["dosage"] = {"rateQuantity": {"value": rate, "unit": "ug/min", "code": "ug/min"}}
    return r


# --- Exposure and attribution -----------------------------------------------------------------


def test_no_crs_associated_therapy_means_crs_grading_does_not_apply():
    a = run(temp(39.2), sbp(82))
    assert a.crs_attribution.applies is False
    assert a.crs_attribution.reason == (
        "No CRS-associated therapy on record: CRS grading does not apply."
    )
    assert {r.grade for r in a.crs.values()} == {0}
    assert [e.what for e in a.crs["astct2019"].findings] == ["Systolic blood pressure 82 mm[Hg]"]
    assert a.recommendations == [] and a.irae == []
    assert a.to_dict()["crs_attribution"]["applies"] is False


@pytest.mark.parametrize(
    ("drug", "hours_before", "applies"),
    [
        # onset (fever 1 h before) 13 d 23 h after the CAR T infusion: within 14 days
        ("axicabtagene ciloleucel", 14 * 24, True),
        ("axicabtagene ciloleucel", 14 * 24 + 2, False),  # 14 d 1 h
        # T-cell engager: within 7 days of the most recent dose
        ("teclistamab", 7 * 24, True),
        ("teclistamab", 7 * 24 + 2, False),
        # checkpoint inhibitor: within 18 weeks (126 days) of the most recent dose
        ("pembrolizumab", 126 * 24, True),
        ("pembrolizumab", 126 * 24 + 2, False),
    ],
)
def test_onset_window_after_the_most_recent_dose(drug, hours_before, applies):
    a = run(therapy(drug, hours_before), temp(39.0, hours_before=1), sbp(84))
    assert a.crs_attribution.applies is applies
    assert a.crs["astct2019"].grade == (2 if applies else 0)
    if not applies:
        assert "CRS grading does not apply" in a.crs_attribution.reason


def test_car_t_wins_over_a_checkpoint_inhibitor_given_in_its_window_too():
    # Pembrolizumab 10 days ago is inside its window, but CAR T cells 3 days ago are the
    # frequent cause (rank 1 against rank 2).
    a = run(
        weight(80),
        given("pembrolizumab", 24 * 10),
        therapy("axicabtagene ciloleucel", 24 * 3),
        temp(39.0, hours_before=30),
        temp(39.4),
        sbp(82),
    )
    assert (a.crs_attribution.agent, a.crs_attribution.drug_class) == (
        "axicabtagene ciloleucel",
        "cellular_therapy",
    )
    assert "also in its window: pembrolizumab (checkpoint inhibitor)" in a.crs_attribution.reason
    assert a.irae == []
    assert not [r for r in a.recommendations if r.id.startswith("checkpoint_inhibitor.")]


def _statement(status: str, start_h: float, end_h: float | None) -> dict:
    period = {"start": iso(start_h)}
    if end_h is not None:
        period["end"] = iso(end_h)
    return {
        "resourceType": "MedicationStatement",
        "id": f"st-{status}",
        "status": status,
        "medicationCodeableConcept": {"text": "pembrolizumab (Keytruda)"},
        "effectivePeriod": period,
    }


def test_an_active_statement_is_ongoing_therapy_and_a_completed_one_ends_at_its_end():
    ongoing = run(_statement("active", 24 * 400, None), temp(39.0), sbp(84))
    assert (ongoing.crs_attribution.applies, ongoing.crs_attribution.agent) == (
        True,
        "pembrolizumab",
    )
    ended = run(_statement("completed", 24 * 400, 24 * 130), temp(39.0), sbp(84))
    assert ended.crs_attribution.applies is False  # 130 days: beyond the 126-day window


@pytest.mark.parametrize(
    ("car_t_days", "engager_days", "agent"),
    [(5, 2, "teclistamab"), (2, 5, "axicabtagene ciloleucel")],
)
def test_between_two_rank_1_therapies_the_most_recent_dose_wins(car_t_days, engager_days, agent):
    a = run(
        therapy("axicabtagene ciloleucel", 24 * car_t_days),
        therapy("teclistamab", 24 * engager_days),
        temp(39.0),
    )
    assert a.crs_attribution.agent == agent


def test_car_t_wins_over_a_more_recent_checkpoint_inhibitor_dose():
    # Rank decides before recency: CAR T cells (rank 1) 5 days ago, pembrolizumab (rank 2) 2.
    a = run(
        therapy("axicabtagene ciloleucel", 24 * 5),
        given("pembrolizumab", 24 * 2),
        temp(39.0),
        sbp(84),
    )
    assert a.crs_attribution.agent == "axicabtagene ciloleucel"


def test_crs_attributed_to_the_checkpoint_inhibitor_holds_it():
    a = run(weight(70), given("pembrolizumab", 24 * 10), temp(39.0), sbp(84))
    assert a.crs_attribution.agent == "pembrolizumab"
    [crs] = [f for f in a.irae if f.kind == "crs"]
    assert (crs.grade, crs.checkpoint_inhibitor_action) == (2, "hold")
    assert "checkpoint_inhibitor.hold.pembrolizumab" in {r.id for r in a.recommendations}


def test_tocilizumab_after_car_t_marks_a_treated_crs_and_before_it_does_not():
    # Tocilizumab 4 days after the infusion, afebrile on a pressor: CRS was being treated
    # (ASTCT footnote), so grading continues without fever.
    after = run(
        therapy("axicabtagene ciloleucel", 24 * 6),
        given("tocilizumab", 24 * 2),
        temp(37.1),
        pressor_row(5, 3),
        pressor_row(5, 1),
    )
    assert {s: r.grade for s, r in after.crs.items()} == {"lee2014": 2, "astct2019": 3, "ctcae5": 3}
    assert after.crs_attribution.reason.startswith(
        "CRS attributed to axicabtagene ciloleucel (CAR T-cell or other T-cell therapy, last "
        "given 2026-11-14; tocilizumab given"
    )
    # The same tocilizumab given before the infusion (prophylaxis): no onset, not CRS.
    before = run(
        given("tocilizumab", 24 * 6 + 1),
        therapy("axicabtagene ciloleucel", 24 * 6),
        temp(37.1),
        pressor_row(5, 3),
        pressor_row(5, 1),
    )
    assert {r.grade for r in before.crs.values()} == {0}


def test_a_steroid_after_the_therapy_does_not_mark_an_onset():
    a = run(
        therapy("teclistamab", 30),
        given("methylprednisolone", 20),
        temp(37.1),
        sbp(84),
    )
    assert {r.grade for r in a.crs.values()} == {0}


# --- One primary system drives the plan --------------------------------------------------------


@pytest.fixture(scope="module")
def seed_doc():
    return json.loads((PATIENTS / "seed-pembrolizumab.json").read_text())


def test_default_primary_is_astct_2019_and_the_seed_plan_follows_grade_3(seed_doc):
    a = assess_bundle(seed_doc, at=AT)
    assert a.crs_primary_system == "astct2019"
    assert a.primary_crs_grade == 3
    ids = {r.id for r in a.recommendations}
    assert "crs.icu" in ids and "crs.g2" not in ids
    assert a.crs_higher_than_primary == []
    [crs] = [f for f in a.irae if f.kind == "crs"]
    assert crs.grade == 3
    assert (
        crs.grade_basis
        == "ASTCT 2019 grade 3 (the primary system); Lee 2014 grade 2, CTCAE v5.0 grade 3"
    )


def test_lee_2014_primary_follows_the_lee_algorithm_and_says_who_grades_higher(seed_doc):
    a = assess_bundle(seed_doc, at=AT, crs_primary="lee2014")
    assert a.crs_primary_system == "lee2014"
    assert a.primary_crs_grade == 2
    ids = {r.id for r in a.recommendations}
    # Lee 2014 Figure 2 at grade 2: consider immunosuppression; no grade 3-4 ICU line.
    assert "crs.g2" in ids and "crs.icu" not in ids
    assert [(h["system"], h["grade"]) for h in a.crs_higher_than_primary] == [
        ("astct2019", 3),
        ("ctcae5", 3),
    ]
    assert a.to_dict()["crs_primary_system"] == "lee2014"


def test_ctcae_primary_and_an_unknown_system_is_refused(seed_doc):
    assert assess_bundle(seed_doc, at=AT, crs_primary="ctcae5").primary_crs_grade == 3
    with pytest.raises(ValueError, match="not one of astct2019, lee2014, ctcae5"):
        assess_bundle(seed_doc, at=AT, crs_primary="penn")


# --- Death ---------------------------------------------------------------------------------


def test_a_deceased_patient_gets_no_plan_and_no_order_suggestions():
    a = run(
        weight(70),
        given("pembrolizumab", 24 * 10),
        temp(39.0, hours_before=10),
        sbp(80, 9),
        obs("8480-6", 78, "mm[Hg]", 8),
        deceasedDateTime=iso(6),
    )
    assert a.recommendations == []
    cc = CardContext(service_id="immunotox-patient-view", patient_id="p1", base_url="https://x")
    for card in assessment_cards(a, cc):
        assert card.suggestions == ()
    assert order_cards(a, cc) == []


def test_alive_at_the_assessment_time_the_plan_is_made():
    a = run(
        weight(70),
        given("pembrolizumab", 24 * 10),
        temp(39.0, hours_before=10),
        sbp(80, 9),
        deceasedDateTime="2026-11-21T12:00:00+00:00",  # a day after the assessment time
    )
    assert a.recommendations != []


# --- Vasopressors charted as point-in-time rows -------------------------------------------------


def test_charted_rates_hold_until_the_next_row_and_make_a_3_hour_high_dose():
    a = run(
        given("pembrolizumab", 24 * 10),
        temp(39.0),
        pressor_row(25, 4),
        pressor_row(25, 2),
        pressor_row(0, 0.5),  # documented stop
    )
    assert {s: r.grade for s, r in a.crs.items()} == {"lee2014": 3, "astct2019": 3, "ctcae5": 3}
    assert "lee2014.g3.high_dose" in {c.id for c in a.crs["lee2014"].criteria}


def test_a_gap_longer_than_2_hours_breaks_the_infusion_and_is_reported():
    a = run(
        given("pembrolizumab", 24 * 10),
        temp(39.0),
        pressor_row(25, 4.1),
        pressor_row(25, 2),
        pressor_row(0, 0.5),
    )
    # 4.1 h to 2.1 h, then 2 h to 0.5 h: no 3-hour run, one vasopressor: Lee 2014 grade 2.
    assert a.crs["lee2014"].grade == 2
    assert "lee2014.g3.high_dose" not in {c.id for c in a.crs["lee2014"].criteria}
    assert any(
        "held for 2 h only; the gap is unknown" in d["problem"]
        and d["ref"] == "MedicationAdministration/row4.1"
        for d in a.data_quality
    )


def test_the_last_row_without_a_stop_holds_at_most_2_hours_and_says_so():
    a = run(given("pembrolizumab", 24 * 10), temp(39.0), pressor_row(5, 10))
    # 10 h to 8 h before: still inside the 24-hour window, so ASTCT 3.
    assert a.crs["astct2019"].grade == 3
    [(start, end)] = [(v["start"], v["end"]) for v in a.timeline["vasopressors"]]
    assert (start, end) == (iso(10), iso(8))
    assert any(
        "with no later row or stop: held for at most 2 h" in d["problem"] for d in a.data_quality
    )


def test_a_row_without_a_rate_is_listed_and_still_counts_as_a_vasopressor():
    a = run(given("pembrolizumab", 24 * 10), temp(39.0), pressor_row(None, 3))
    assert a.crs["astct2019"].grade == 3
    assert any("no infusion rate recorded" in d["problem"] for d in a.data_quality)


def test_flowsheet_observation_of_the_rate_is_an_infusion_row_and_a_level_is_not():
    def flow(value, unit, hours_before, text):
        return {
            "resourceType": "Observation",
            "id": f"fs{hours_before}{unit}",
            "status": "final",
            "code": {"coding": [{"system": "urn:epic:flowsheet", "code": "3040104"}], "text": text},
            "effectiveDateTime": iso(hours_before),
            "valueQuantity": {"value": value, "unit": unit, "code": unit},
        }

    rate = run(
        given("pembrolizumab", 24 * 10),
        temp(39.0),
        flow(22, "ug/min", 5, "Norepinephrine infusion rate"),
        flow(22, "ug/min", 3, "Norepinephrine infusion rate"),
        flow(22, "ug/min", 1, "Norepinephrine infusion rate"),
    )
    assert rate.crs["lee2014"].grade == 3  # 22 µg/min held 5 h: Lee 2014 Table 3
    level = run(
        given("pembrolizumab", 24 * 10), temp(39.0), flow(2.1, "ng/mL", 3, "Norepinephrine level")
    )
    assert level.crs["astct2019"].grade == 1
    assert level.timeline["vasopressors"] == []
    assert any("norepinephrine rate" in d["problem"] for d in level.data_quality)


# --- Children: hypotension by age (PALS), mean arterial pressure where recorded -----------------


@pytest.mark.parametrize(
    ("birth", "value", "astct"),
    [
        ("2020-06-01", 82, 1),  # 6 years: hypotension is <70 + 2 × 6 = 82
        ("2020-06-01", 81, 2),
        ("2026-05-01", 70, 1),  # 6 months: <70
        ("2026-05-01", 69, 2),
        ("2026-11-10", 60, 1),  # 10 days: <60
        ("2026-11-10", 59, 2),
        ("2026-10-24", 60, 1),  # 27 days: still a neonate, <60
        ("2026-10-24", 69, 1),
        ("2026-10-23", 69, 2),  # 28 days: an infant, <70
        ("2026-10-23", 70, 1),
        ("2025-05-01", 71, 2),  # 1 year 6 months: <70 + 2 × 1 = 72
        ("2025-05-01", 72, 1),
        ("2017-06-01", 87, 2),  # 9 years: <70 + 2 × 9 = 88
        ("2017-06-01", 88, 1),
        ("2014-06-01", 89, 2),  # 12 years: <90, as adults
        ("2014-06-01", 90, 1),
    ],
)
def test_systolic_hypotension_by_age(birth, value, astct):
    a = run(therapy("axicabtagene ciloleucel", 24 * 3), temp(39.0), sbp(value), birth=birth)
    assert a.crs["astct2019"].grade == astct


@pytest.mark.parametrize(("series", "end"), [("sbp", 10), ("map", 18)])
def test_the_age_bands_of_each_limit_neither_overlap_nor_leave_a_gap(series, end):
    # PALS systolic limits: neonate, infant, 1-10 years, then the adult 90 mm Hg; Haque 2007
    # mean arterial pressure: 1-17 years, then the adult 65 mm Hg. Where two rows overlapped,
    # the later would silently decide for the ages they share.
    from services.knowledge.crs import AGE_LIMITS

    bands = sorted((r.min_years, r.max_years) for r in AGE_LIMITS if r.series == series)
    assert bands[0][0] == (0 if series == "sbp" else 1)
    assert all(lo < hi for lo, hi in bands)
    assert all(prev[1] == nxt[0] for prev, nxt in pairwise(bands))
    assert bands[-1][1] == end


@pytest.mark.parametrize(
    ("birth", "value", "astct"),
    [
        ("2018-06-01", 52, 1),  # 8 years: MAP <40 + 1.5 × 8 = 52
        ("2018-06-01", 51, 2),
        ("2009-06-01", 65, 2),  # 17 years: MAP <40 + 1.5 × 17 = 65.5
        ("2009-06-01", 66, 1),
        ("2008-06-01", 64, 2),  # 18 years: the adult MAP <65
        ("2008-06-01", 65, 1),
        ("1970-01-01", 65, 1),  # adult: MAP <65
        ("1970-01-01", 64, 2),
    ],
)
def test_mean_arterial_pressure_by_age(birth, value, astct):
    a = run(
        therapy("axicabtagene ciloleucel", 24 * 3),
        temp(39.0),
        obs("8478-0", value, "mm[Hg]"),
        birth=birth,
    )
    assert a.crs["astct2019"].grade == astct


def test_without_a_birth_date_adult_limits_are_used_and_the_birth_date_is_asked_for():
    a = assess(
        [{"resourceType": "Patient", "id": "nb"}, given("pembrolizumab", 240), temp(39.0), sbp(86)],
        at=AT,
    )
    assert a.crs["astct2019"].grade == 2
    assert "birth date" in {m.data for m in a.crs["astct2019"].missing}


# --- The views: command line, cards -----------------------------------------------------------


def test_command_line_names_the_primary_system_and_takes_crs_primary(capsys):
    from immunotox.cli import main

    seed = str(PATIENTS / "seed-pembrolizumab.json")
    assert main(["assess", seed, "--at", "2026-11-20T12:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "Primary system (drives the plan): ASTCT 2019" in out
    assert main(["assess", seed, "--at", "2026-11-20T12:00:00Z", "--crs-primary", "lee2014"]) == 0
    out = capsys.readouterr().out
    assert "Primary system (drives the plan): Lee 2014" in out
    assert "ASTCT 2019 grades higher (grade 3)" in out
    assert main(["assess", seed, "--crs-primary", "penn"]) == 2
    assert "not one of astct2019, lee2014, ctcae5" in capsys.readouterr().err


def test_command_line_says_crs_grading_does_not_apply_without_immunotherapy(capsys):
    from immunotox.cli import main

    sepsis = str(PATIENTS / "negative-sepsis.json")
    assert main(["assess", sepsis, "--at", "2026-11-20T12:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "  No CRS-associated therapy on record: CRS grading does not apply.\n" in out
    assert "finding, not graded as CRS: norepinephrine 12 µg/min" in out


def test_the_configuration_refuses_an_unknown_primary_system():
    from immunotox import config

    cfg = config.load(
        environ={"IMMUNOTOX_CRS_PRIMARY": "lee2014"}, overrides={"INSTANCE_DIR": "var"}
    )
    assert cfg["CRS_PRIMARY"] == "lee2014"
    with pytest.raises(ValueError):
        config.load(environ={"IMMUNOTOX_CRS_PRIMARY": "highest"})


def _cards(name):
    a = assess_bundle(json.loads((PATIENTS / f"{name}.json").read_text()), at=AT)
    cc = CardContext(service_id="immunotox-patient-view", patient_id=name, base_url="https://x")
    return a, assessment_cards(a, cc)


def test_afebrile_patient_on_a_checkpoint_inhibitor_gets_an_information_card_only():
    _a, [card] = _cards("afebrile-pembrolizumab")
    assert card.indicator == "info"
    assert card.summary == (
        "Findings without fever on pembrolizumab: not graded as CRS; consider other causes"
    )
    assert card.suggestions == ()
    assert "sepsis, bleeding, cardiac causes, drugs" in card.detail


def test_car_t_patient_card_follows_astct_and_names_no_checkpoint_action():
    _a, [card] = _cards("cart-prior-pembrolizumab")
    assert card.indicator == "critical"
    assert "CRS grade 3 (ASTCT 2019)" in card.summary
    assert "pembrolizumab" not in card.summary
    assert "CRS attributed to axicabtagene ciloleucel" in card.detail


# --- A T-cell therapy infusion charted as a Procedure (local code, product in the text) ----------


def cart_procedure(text: str, status: str = "completed", hours_before: float = 72) -> dict:
    return {
        "resourceType": "Procedure",
        "id": "cart-proc",
        "status": status,
        "code": {
            "coding": [{"system": "http://hospital.example.org/flowsheet", "code": "CART-INF"}],
            "text": text,
        },
        "performedDateTime": iso(hours_before),
    }


def test_a_car_t_infusion_charted_as_a_procedure_is_the_exposure():
    a = run(cart_procedure("CAR-T cell infusion (Yescarta)"), temp(38.6), sbp(84))
    assert a.crs_attribution.applies is True
    assert a.crs_attribution.agent == "axicabtagene ciloleucel"
    assert a.crs["astct2019"].grade == 2


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("CAR-T cell infusion (Kymriah)", "entered-in-error"),
        ("CAR-T cell infusion (Kymriah)", "not-done"),
        ("CAR-T cell infusion (Kymriah)", "preparation"),
        ("Leukapheresis for CAR-T cell collection (Kymriah)", "completed"),
        ("Lymphodepleting chemotherapy before CAR-T", "completed"),
    ],
)
def test_procedures_that_are_not_a_given_infusion_are_not_an_exposure(text, status):
    a = run(cart_procedure(text, status), temp(38.6), sbp(84))
    assert a.crs_attribution.applies is False


def _result(system, grade, *criteria):
    from services.model import Criterion, GradeResult

    crit = tuple(Criterion(f"{system}.x{i}", g, t, "src") for i, (g, t) in enumerate(criteria))
    return GradeResult(system, grade, crit, (), AT)


@pytest.mark.parametrize(
    ("astct", "lee", "shown"),
    [(None, 0, False), (None, 1, True), (2, 2, False), (2, 1, False), (2, 3, True)],
)
def test_a_system_is_said_to_grade_higher_only_when_its_grade_is_higher(astct, lee, shown):
    from services.assess import higher_than_primary

    now = {
        "astct2019": _result("astct2019", astct),
        "lee2014": _result("lee2014", lee, (lee, "organ toxicity"), (0, "none")),
        "ctcae5": _result("ctcae5", 0),
    }
    out = higher_than_primary(now, "astct2019")
    assert [h["system"] for h in out] == (["lee2014"] if shown else [])
    if shown:
        why = f"its grade {lee} criterion: organ toxicity"
        if astct is None:
            why += "; the primary system has no grade (data missing)"
        assert out[0]["why"] == why
