"""The EHR's style from `smart_style_url` (SMART App Launch 2.x, "Styling"): fetched only from the
FHIR server's origin, through the one HTTP client, SMART keys only, strict values, applied as
CSS custom properties by a stylesheet the app serves (`smart_app.style`). The EHR is mocked by
`responses`."""

from __future__ import annotations

import logging

import pytest
import requests
import responses

from smart_app import style

ISS = "https://ehr.example.org/fhir/r4"
URL = "https://ehr.example.org/smart-style.json"
CFG = {"FHIR_ALLOWLIST": ISS, "FHIR_TIMEOUT_S": 5}
# the example of the SMART App Launch guide's "Styling" section
EXAMPLE = {
    "color_background": "#edeae3",
    "color_error": "#9e2d2d",
    "color_highlight": "#69b5ce",
    "color_modal_backdrop": "",
    "color_success": "#498e49",
    "color_text": "#303030",
    "dim_border_radius": "6px",
    "dim_font_size": "13px",
    "dim_spacing_size": "20px",
    "font_family_body": "Georgia, Times, 'Times New Roman', serif",
    "font_family_heading": "'HelveticaNeue-Light', Helvetica, Arial, 'Lucida Grande', sans-serif;",
}


@pytest.fixture(autouse=True)
def _empty_cache():
    style._cache.clear()
    yield
    style._cache.clear()


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("color_text", "#303030", True),
        ("color_text", "#fff", True),
        ("color_text", "#30303080", True),
        ("color_text", "#30303", False),
        ("color_text", "rgb(48, 48, 48)", True),
        ("color_text", "rgba(0,0,0,0.6)", True),
        ("color_text", "red", False),
        ("color_text", "#fff;} body{background:url(https://x)", False),
        ("color_text", "url(https://x)", False),
        ("color_text", "expression(alert(1))", False),
        ("dim_font_size", "13px", True),
        ("dim_font_size", "1.2rem", True),
        ("dim_font_size", "0.9em", True),
        ("dim_font_size", "13pt", False),
        ("dim_font_size", "calc(1px + 1em)", False),
        ("dim_font_size", "13", False),
        ("font_family_body", "Georgia, Times, 'Times New Roman', serif", True),
        ("font_family_heading", "'HelveticaNeue-Light', Helvetica, sans-serif;", True),
        ("font_family_body", "'Georgia", False),
        ("font_family_body", "Arial; background: url(x)", False),
        ("font_family_body", "Arial}</style><script>", False),
        ("font_family_body", "Arial\\", False),
        ("font_family_body", "A" * 201, False),
        ("color_text", 303030, False),
        ("color_text", "", False),
    ],
)
def test_only_values_of_the_strict_patterns_are_kept(key, value, ok):
    assert (style.clean_value(key, value) is not None) is ok


def test_only_the_smart_keys_are_kept():
    doc = {**EXAMPLE, "logo": "https://x/logo.png", "css": "body{}", "color_link": "#000"}
    got = style.clean(doc)
    assert sorted(got) == sorted(k for k in EXAMPLE if k != "color_modal_backdrop")
    assert got["font_family_heading"] == (
        "'HelveticaNeue-Light', Helvetica, Arial, 'Lucida Grande', sans-serif"
    )


def test_the_stylesheet_sets_custom_properties_and_the_page_s_own_variables():
    css = style.stylesheet(style.clean(EXAMPLE))
    assert "--smart-color-background: #edeae3;" in css
    assert "--smart-font-family-body: Georgia, Times, 'Times New Roman', serif;" in css
    assert "--fg: var(--smart-color-text);" in css
    assert "--accent: var(--smart-color-highlight);" in css
    assert "--urgent: var(--smart-color-error);" in css
    assert "body { background: var(--smart-color-background); }" in css
    assert css.count("@media screen {") == 1  # the printout keeps its own style
    assert "<" not in css and "url(" not in css


def test_no_style_is_the_default_style():
    assert "--smart" not in style.stylesheet({})


@responses.activate
def test_a_style_on_the_fhir_server_s_origin_is_fetched_without_the_token():
    responses.get(URL, json=EXAMPLE)
    got = style.load_style(CFG, ISS, URL)
    assert got["color_background"] == "#edeae3" and len(got) == 10
    [call] = responses.calls
    assert "Authorization" not in call.request.headers
    assert call.request.headers["Accept"] == "application/json"


@responses.activate
def test_it_is_fetched_once_per_worker_for_a_while():
    responses.get(URL, json=EXAMPLE)
    style.load_style(CFG, ISS, URL)
    style.load_style(CFG, ISS, URL)
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.org/smart-style.json",
        "https://ehr.example.org.evil.org/smart-style.json",
        "http://ehr.example.org/smart-style.json",  # another scheme, another origin
        "https://ehr.example.org:8443/smart-style.json",
        "https://user@ehr.example.org/smart-style.json",
        "https://ehr.example.org/fhir/../../etc/style.json",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "//evil.example.org/style.json",
    ],
)
@responses.activate
def test_a_url_off_the_fhir_server_s_origin_is_never_requested(url, caplog):
    caplog.set_level(logging.INFO, logger="immunotox.app")
    assert style.load_style(CFG, ISS, url) == {}
    assert len(responses.calls) == 0
    [msg] = [r.getMessage() for r in caplog.records if "SMART style" in r.getMessage()]
    assert "default style" in msg
    assert "evil" not in msg and "ehr.example.org" not in msg and "passwd" not in msg


@responses.activate
def test_a_session_whose_server_left_the_allowlist_fetches_nothing():
    assert style.load_style({"FHIR_ALLOWLIST": "https://other.example.org/fhir"}, ISS, URL) == {}
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"status": 404}, "fetch failed (http_status)"),
        (
            {"status": 302, "headers": {"Location": "https://evil.example.org/s.json"}},
            "http_status",
        ),
        ({"body": "not json"}, "fetch failed"),
        ({"json": ["#fff"]}, "not a JSON object"),
        ({"json": {"color_text": "red", "font_family_body": "x;y"}}, "no SMART style key"),
        ({"body": "{" + " " * (17 * 1024) + "}"}, "fetch failed (too_large)"),
        ({"body": requests.ConnectionError("refused")}, "fetch failed (unreachable)"),
        ({"body": requests.Timeout("slow")}, "fetch failed (timeout)"),
    ],
)
@responses.activate
def test_any_failure_is_the_default_style_logged_without_the_url(answer, why, caplog):
    caplog.set_level(logging.INFO, logger="immunotox.app")
    responses.get(URL, **answer)
    assert style.load_style(CFG, ISS, URL) == {}
    msgs = [r.getMessage() for r in caplog.records if "SMART style" in r.getMessage()]
    assert any(why in m for m in msgs), msgs
    assert not any("ehr.example.org" in m or "smart-style" in m for m in msgs)
    assert len(responses.calls) == 1  # the redirect is not followed


def test_no_style_url_is_no_request_and_no_log(caplog):
    caplog.set_level(logging.INFO, logger="immunotox.app")
    assert style.load_style(CFG, ISS, None) == {}
    assert not [r for r in caplog.records if "SMART style" in r.getMessage()]


def test_the_stylesheet_route_without_a_session_is_the_default_style_never_an_error(tmp_path):
    from tests.unit.cds_hooks.test_cds_http import make_app

    r = make_app(tmp_path).test_client().get("/app/style.css")
    assert r.status_code == 200
    assert r.mimetype == "text/css"
    assert "--smart" not in r.get_data(as_text=True)
    assert "style-src 'self'" in r.headers["Content-Security-Policy"]
