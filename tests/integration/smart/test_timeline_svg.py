"""The server-drawn timeline: every panel, dose markers, and escaping of text from FHIR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.model import Assessment, GradeResult, TrajectoryPoint
from smart_app import timeline

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def iso(hours_before: float) -> str:
    return (AT - timedelta(hours=hours_before)).isoformat()


def an_assessment(**timeline_doc) -> Assessment:
    crs = {
        s: GradeResult(system=s, grade=2, criteria=(), missing=(), at=AT)
        for s in ("lee2014", "astct2019", "ctcae5")
    }
    points = [
        TrajectoryPoint(AT - timedelta(hours=48), dict.fromkeys(crs, 0)),
        TrajectoryPoint(AT - timedelta(hours=20), dict.fromkeys(crs, 2)),
    ]
    return Assessment(
        at=AT,
        ruleset_version="test",
        age_years=60,
        weight=None,
        deceased=False,
        crs=crs,
        crs_worst=dict.fromkeys(crs, points[1]),
        trajectory=points,
        window_start=AT - timedelta(days=4),
        exposures=[],
        irae=[],
        recommendations=[],
        data_quality=[],
        disclaimer="",
        timeline=timeline_doc,
    )


def test_every_panel_is_drawn_with_dose_markers_and_o2_bands():
    a = an_assessment(
        series={
            "temperature": [{"t": iso(30), "v": 37.0}, {"t": iso(10), "v": 39.4}],
            "sbp": [{"t": iso(30), "v": 120}, {"t": iso(10), "v": 84}],
            "map": [{"t": iso(10), "v": 60}],
            "spo2": [{"t": iso(10), "v": 91}],
            "crp": [{"t": iso(12), "v": 150}],
            "ferritin": [{"t": iso(12), "v": 4200}],
            "il6": [{"t": iso(12), "v": 80}],
        },
        units={"temperature": "Cel", "sbp": "mm[Hg]", "crp": "mg/L"},
        o2_support=[
            {"start": iso(20), "end": None, "level": "low_flow_cannula", "label": "Nasal cannula"}
        ],
        norepinephrine_equivalent=[{"start": iso(18), "end": iso(6), "value": 8.0}],
        doses=[
            {"time": iso(40), "drug": "pembrolizumab", "drug_class": "checkpoint_inhibitor"},
            {"time": iso(8), "drug": "tocilizumab", "drug_class": "anti_cytokine"},
        ],
    )
    svg = str(timeline.render(a))
    for panel in ("temperature", "bp", "oxygen", "nee", "crp", "ferritin", "il6", "grade"):
        assert f"panel-{panel}" in svg
    assert svg.count('<g class="dose ') == 2
    assert "o2-level-2" in svg and "Nasal cannula" in svg
    assert 'class="nee-step"' in svg
    assert "39.4" in svg  # latest value beside the line
    assert "<title" in svg and "<desc" in svg  # accessible name and description


def test_text_from_fhir_is_escaped_in_the_svg():
    a = an_assessment(
        series={},
        o2_support=[{"start": iso(20), "end": iso(1), "level": 3, "label": "<script>x</script>"}],
        doses=[{"time": iso(5), "drug": "<img src=x>", "drug_class": '"><b>'}],
    )
    svg = str(timeline.render(a))
    assert "<script>" not in svg and "<img" not in svg and '"><b>' not in svg
    assert "&lt;script&gt;" in svg


def test_an_empty_timeline_says_there_is_no_data():
    svg = str(timeline.render(an_assessment()))
    assert "no data in this window" in svg
    assert "no vasopressor in this window" in svg


def test_a_dense_series_is_thinned_for_drawing_but_keeps_every_peak_and_trough():
    """10,000 readings over four days: at most the lowest and highest of each 4-pixel column
    are drawn, in time order, and the single fever spike and the single trough are among them."""
    n = 10_000
    temps = [{"t": iso(96 * (1 - i / n)), "v": 37.0 + (i % 7) * 0.01} for i in range(n)]
    temps[4321]["v"] = 40.2  # one spike
    temps[8765]["v"] = 35.1  # one trough
    svg = str(timeline.render(an_assessment(series={"temperature": temps})))
    drawn = svg.count('<circle class="pt s-temp"')
    plot_w = timeline.W - timeline.LEFT - timeline.RIGHT
    assert drawn <= 2 * (plot_w // timeline.COLUMN_PX + 1)
    assert drawn >= plot_w // timeline.COLUMN_PX  # thinned, not emptied
    assert "Temperature 40.2" in svg and "Temperature 35.1" in svg


def test_a_sparse_series_is_drawn_point_for_point():
    temps = [{"t": iso(h), "v": 37.0 + h / 100} for h in range(0, 90, 3)]
    svg = str(timeline.render(an_assessment(series={"temperature": temps})))
    assert svg.count('<circle class="pt s-temp"') == len(temps)
