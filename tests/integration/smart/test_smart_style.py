"""The EHR's style end to end: an EHR launch whose token response carries `smart_style_url`
(the demo gateway serves the SMART guide's example on the FHIR server's origin); the page links
the app's own stylesheet, which carries the style as CSS custom properties. A style URL on
another origin is never fetched: the page keeps the default style."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.integration


def launch(smart, browser, style_url):
    from urllib.parse import urlencode

    lid = smart.dev.create_launch(smart.patient, smart_style_url=style_url)
    q = urlencode({"iss": smart.fhir_base, "launch": lid})
    return browser.get(f"{smart.app_base}/smart/launch?{q}")


def stylesheet(smart, browser, page) -> str:
    m = re.search(r'<link rel="stylesheet" href="(/app/style\.css[^"]*)">', page.text)
    assert m, "the page links no style stylesheet"
    r = browser.get(smart.app_base + m.group(1).replace("&amp;", "&"))
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/css")
    return r.text


def test_the_ehr_style_is_applied_as_custom_properties(smart, browser):
    page = launch(smart, browser, smart.dev.style_url)
    assert page.status_code == 200, page.text[:300]
    csp = page.headers["Content-Security-Policy"]
    assert "style-src 'self'" in csp and "unsafe-inline" not in csp
    css = stylesheet(smart, browser, page)
    assert "--smart-color-background: #edeae3;" in css
    assert "--fg: var(--smart-color-text);" in css
    assert "font_family" not in css  # keys become custom property names, never raw text


def test_a_style_url_on_another_origin_is_never_fetched(smart, browser):
    # the same style on the same server, named by another host: another origin, so refused
    # (had it been fetched, its colours would be in the stylesheet)
    other = smart.dev.style_url.replace("127.0.0.1", "localhost")
    assert other != smart.dev.style_url
    page = launch(smart, browser, other)
    assert page.status_code == 200
    css = stylesheet(smart, browser, page)
    assert "--smart" not in css and "default style" in css


def test_no_style_url_no_stylesheet_link(smart, browser):
    page = launch(smart, browser, None)
    assert page.status_code == 200
    assert "/app/style.css" not in page.text
