"""An EHR that shows the app in a frame from another site, as many EHRs do: the EHR on
`localhost`, the app on `127.0.0.1` (two sites for the browser). Headless Chromium opens the
EHR page, and the SMART EHR launch runs inside the frame, through the EHR's authorization
server and back, to the assessment page. This needs the cookies `SameSite=None; Secure;
Partitioned` and the EHR's origin in `frame-ancestors` (IMMUNOTOX_FRAME_ANCESTORS)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_demo_in_browser import wait_for

from demo.runner import ThreadedServer, free_port, load_bundle, sekmet_executable, sekmet_server
from tests.ci import require_or_skip

pytestmark = [pytest.mark.browser, pytest.mark.integration]

FIXTURE = Path(__file__).resolve().parents[1] / "integration" / "smart" / "fixtures"
PATIENT = "itx-test-pembro"


@pytest.fixture(scope="module")
def cross_site(tmp_path_factory):
    from flask import Flask, Response

    from demo.authserver import DevClient, DevSmartServer
    from immunotox.app import create_app

    if sekmet_executable() is None:
        require_or_skip("the sekmet FHIR server is not installed (the demo extra)")
    cm = sekmet_server(free_port(), tmp_path_factory.mktemp("sekmet-frame"))
    try:
        upstream = cm.__enter__()
    except RuntimeError as e:
        pytest.fail(f"the sekmet FHIR server could not start: {e}", pytrace=False)
    load_bundle(upstream, json.loads((FIXTURE / "pembro-patient.json").read_text()))
    ehr_port, app_port = free_port(), free_port()
    ehr_base = f"http://localhost:{ehr_port}"  # the EHR's site
    app_base = f"http://127.0.0.1:{app_port}"  # the app's site
    dev = DevSmartServer(upstream, ehr_base)
    dev.register_client(DevClient("immunotox", [f"{app_base}/smart/callback"]))
    ehr = Flask("ehr")
    dev.init_app(ehr)

    @ehr.get("/chart/<launch>")
    def chart(launch: str):
        src = f"{app_base}/smart/launch?iss={dev.fhir_base}&launch={launch}"
        html = (
            "<!doctype html><title>EHR chart</title><h1>Chart</h1>"
            f'<iframe id="app" src="{src}" width="1200" height="900"></iframe>'
        )
        return Response(html, mimetype="text/html")

    tmp = tmp_path_factory.mktemp("frame-app")
    app = create_app(
        {
            "INSTANCE_DIR": str(tmp),
            "DATABASE_URL": f"sqlite:///{tmp / 'store.sqlite3'}",
            "FHIR_ALLOWLIST": dev.fhir_base,
            "PUBLIC_BASE_URL": app_base,
            "SESSION_COOKIE_SECURE": True,  # Chromium keeps Secure cookies on loopback http
            "FRAME_ANCESTORS": ehr_base,
            "CDS_AUTH": "off",
        }
    )
    servers = [
        ThreadedServer(ehr, "127.0.0.1", ehr_port).start(),
        ThreadedServer(app, "127.0.0.1", app_port).start(),
    ]
    try:
        yield {"dev": dev, "ehr": ehr_base, "app": app_base, "flask_app": app}
    finally:
        for s in servers:
            s.stop()
        cm.__exit__(None, None, None)


def test_the_launch_completes_inside_a_frame_of_another_site(cross_site, browser, output_dir):
    from selenium.webdriver.common.by import By

    launch = cross_site["dev"].create_launch(PATIENT)
    browser.get(f"{cross_site['ehr']}/chart/{launch}")
    frame = wait_for(browser, "iframe#app")
    browser.switch_to.frame(frame)
    try:
        wait_for(browser, "#crs-h", timeout=90)
    except Exception:
        kind = browser.find_elements(By.CSS_SELECTOR, "[data-error-kind]")
        pytest.fail(
            "the app did not open inside the frame: "
            + (kind[0].get_attribute("data-error-kind") + ": " + kind[0].text if kind else "")
        )
    assert browser.execute_script("return location.origin") == cross_site["app"]
    assert "Testperson" in browser.find_element(By.CSS_SELECTOR, ".patient-banner").text
    browser.switch_to.default_content()
    assert browser.current_url.startswith(cross_site["ehr"])  # the EHR page stayed on top
    browser.save_screenshot(str(output_dir / "e2e-iframe-cross-site.png"))


def test_a_site_not_listed_cannot_frame_the_app(cross_site, browser):
    """Same page, the EHR's origin removed from IMMUNOTOX_FRAME_ANCESTORS: Chromium refuses to
    show the app in the frame (frame-ancestors), so the launch never reaches the app page."""
    app = cross_site["flask_app"]
    saved = app.config["FRAME_ANCESTORS"]
    app.config["FRAME_ANCESTORS"] = ""
    try:
        launch = cross_site["dev"].create_launch(PATIENT)
        browser.get(f"{cross_site['ehr']}/chart/{launch}")
        frame = wait_for(browser, "iframe#app")
        import time

        time.sleep(3)
        browser.switch_to.frame(frame)
        from selenium.webdriver.common.by import By

        assert not browser.find_elements(By.CSS_SELECTOR, "#crs-h")
    finally:
        app.config["FRAME_ANCESTORS"] = saved
