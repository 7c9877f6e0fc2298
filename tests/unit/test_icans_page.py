"""The SMART app page's ICANS section, rendered from the real template: the grade, the
criteria with their evidence, the IEC-HS screen, and text from FHIR escaped."""

from __future__ import annotations

from pathlib import Path

import flask

from services.assess import assess
from services.format import clinical
from smart_app import timeline, view
from tests.fhir_factory import AT, condition, lab, obs, patient, temp
from tests.unit.test_icans import cart, ice

ROOT = Path(__file__).resolve().parents[2]


def page(a) -> str:
    app = flask.Flask("t", template_folder=str(ROOT / "smart_app" / "templates"))
    bp = flask.Blueprint(
        "smart_app", "t", static_folder=str(ROOT / "smart_app" / "static"), url_prefix="/app"
    )
    bp.add_url_rule("/api/assessment", "api_assessment", lambda: "")
    bp.add_app_template_filter(clinical, "clin")  # as smart_app.blueprint registers it
    app.register_blueprint(bp)
    with app.test_request_context("/app/"):
        return flask.render_template(
            "smart_app/assessment.html",
            a=a,
            sess={},
            banner=None,
            problems=[],
            timeline_svg=timeline.render(a),
            panels=timeline.build_panels(a),
            systems=view.SYSTEMS,
            v=view,
            context_note=None,
            ctx="x",
        )


def test_icans_section_shows_grade_criteria_and_iec_hs():
    a = assess(
        [
            patient(),
            cart(),
            obs("29463-7", 70, "kg", 48),
            temp(37.0),
            ice(7, 30),
            ice(2, 2),
            lab("2276-4", 6000, "ng/mL", 400),
            lab("3255-7", 110, "mg/dL", None),
        ],
        at=AT,
    )
    html = page(a)
    assert 'id="icans"' in html
    assert 'data-icans-applies="true" data-grade="3"' in html
    assert "ICE score 2/10" in html
    assert 'data-iec-hs="positive"' in html
    assert "Grade over time" in html


def test_text_from_the_record_is_escaped():
    bad = condition("R56.9", "Seizure <script>alert(1)</script>", 2)
    html = page(assess([patient(), cart(), ice(9), bad], at=AT))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_no_section_without_immune_effector_therapy_or_data():
    html = page(assess([patient(), temp(37.0)], at=AT))
    assert 'id="icans"' not in html


def test_timeline_has_an_ice_lane_and_the_icans_grade():
    import json

    from services.assess import assess_bundle

    a = assess_bundle(json.loads((ROOT / "demo" / "patients" / "cart-icans.json").read_text()), AT)
    keys = [p.key for p in timeline.build_panels(a)]
    assert keys[-2:] == ["ice", "icans"]
    ice_panel = timeline.build_panels(a)[-2]
    assert [v for _t, v in ice_panel.lines[0][2]] == [10, 10, 9, 8, 6, 5, 4, 2]
    svg = str(timeline.render(a))
    assert 'class="panel panel-ice"' in svg and 'class="panel panel-icans"' in svg
    # Without ICE scores: no lane.
    b = assess([patient(), cart(), temp(38.5)], at=AT)
    assert "ice" not in [p.key for p in timeline.build_panels(b)]


def test_at_a_glance_lists_what_icans_is_missing():
    a = assess([patient(), cart(), ice(0), temp(37.0)], at=AT)
    assert "level of consciousness" in view.at_a_glance(a)["missing"]
