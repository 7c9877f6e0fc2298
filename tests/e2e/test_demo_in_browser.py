"""A clinician's path through the demo in a real browser: the EHR's patient list, a SMART EHR
launch of the app for the seed pembrolizumab patient, the assessment page (grades, timeline,
plan), then a CDS Hooks card and its SMART link."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SEED = "seed-pembrolizumab"


def wait_for(driver, css: str, timeout: float = 60):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def csp_violations(driver) -> list[str]:
    return [
        e["message"]
        for e in driver.get_log("browser")
        if "Content Security Policy" in e.get("message", "")
    ]


def save_full_page(driver, path) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(int(height), 1000), 12000))
    driver.save_screenshot(str(path))


def test_ehr_launch_of_the_seed_patient_shows_grades_timeline_and_plan(demo, browser, output_dir):
    from selenium.webdriver.common.by import By

    assert SEED in demo["patients"]
    browser.get(demo["ehr"] + "/")
    wait_for(browser, f"#launch-{SEED}").click()
    wait_for(browser, "#crs-h")
    assert browser.current_url.startswith(demo["app"] + "/app/")

    banner = browser.find_element(By.CSS_SELECTOR, ".patient-banner").text
    assert "Example-Seed" in banner

    grades = {
        td.get_attribute("data-system"): td.get_attribute("data-grade")
        for td in browser.find_elements(By.CSS_SELECTOR, "td.grade")
    }
    assert set(grades) == {"lee2014", "astct2019", "ctcae5"}
    assert all(g and int(g) >= 1 for g in grades.values()), grades

    svg = browser.find_element(By.CSS_SELECTOR, "svg.timeline")
    assert svg.find_elements(By.CSS_SELECTOR, ".panel-temperature polyline")
    assert (
        len(svg.find_elements(By.CSS_SELECTOR, ".panel-grade text.lane-label")) == 3
    )  # one lane each
    assert svg.find_elements(By.CSS_SELECTOR, ".panel-temperature line.ref-line")  # fever line
    assert svg.find_elements(By.CSS_SELECTOR, ".panel-bp line.ref-line")  # hypotension for age
    assert svg.find_elements(By.CSS_SELECTOR, ".panel-temperature text.axis-value")
    assert svg.find_elements(By.CSS_SELECTOR, "text.last-time")  # the last value has its time
    legends = [e.text for e in svg.find_elements(By.CSS_SELECTOR, ".panel-bp text.legend")]
    assert "Mean arterial" not in legends  # no legend for a series not drawn
    tables = browser.find_element(By.CSS_SELECTOR, ".timeline-data").get_attribute("innerHTML")
    assert "tl-vasopressors" in tables and "tl-oxygen" in tables  # every series in the table
    assert svg.find_elements(By.CSS_SELECTOR, ".panel-oxygen rect.o2-band")
    assert svg.find_elements(By.CSS_SELECTOR, ".panel-nee rect.nee-step")
    assert svg.size["width"] > 600

    glance = browser.find_element(By.CSS_SELECTOR, "section.glance").text
    assert "discontinue" in glance.lower() and "pembrolizumab" in glance

    plan = browser.find_elements(By.CSS_SELECTOR, "#plan li.rec")
    assert plan, "the plan is empty"
    assert "pembrolizumab" in browser.find_element(By.ID, "ici").text

    browser.save_screenshot(str(output_dir / "e2e-seed-pembrolizumab-first-screen.png"))
    browser.find_element(By.ID, "timeline").screenshot(
        str(output_dir / "e2e-seed-pembrolizumab-timeline.png")
    )
    save_full_page(browser, output_dir / "e2e-seed-pembrolizumab-app.png")
    assert csp_violations(browser) == []


def test_a_patient_view_card_link_launches_the_app_with_its_context(demo, browser, output_dir):
    from selenium.webdriver.common.by import By

    browser.get(f"{demo['ehr']}/ehr/patient/{SEED}")
    wait_for(browser, "#fire-patient-view").click()
    card = wait_for(browser, "#cards article.card")
    assert card.find_element(By.CSS_SELECTOR, "h4").text
    # read in ten seconds: at most four suggestions, a short detail, the urgent action first
    assert len(card.find_elements(By.CSS_SELECTOR, ".suggestions li")) <= 4
    detail = browser.execute_script(
        "const c = arguments[0].cloneNode(true);"
        "c.querySelectorAll('h4, ul.suggestions, p.links, p.small').forEach(e => e.remove());"
        "return c.textContent.replace(/\\s+/g, ' ').trim();",
        card,
    )
    assert 200 < len(detail) <= 1300, len(detail)  # about 1,200 characters as read
    assert "CRITICAL Discontinue pembrolizumab" in card.find_element(By.CSS_SELECTOR, "h4").text
    assert card.size["height"] < 1400, card.size
    save_full_page(browser, output_dir / "e2e-seed-pembrolizumab-cards.png")
    browser.set_window_size(1280, 1000)
    link = card.find_element(By.CSS_SELECTOR, "a.smart-link")
    link.click()
    wait_for(browser, "#crs-h")
    assert "Opened from a decision-support card" in browser.page_source


def test_order_sign_with_an_overdose_returns_a_card_with_a_suggestion(demo, browser):
    from selenium.webdriver.common.by import By

    browser.get(f"{demo['ehr']}/ehr/patient/{SEED}")
    wait_for(browser, "input[value='tocilizumab-1000']").click()
    browser.find_element(By.ID, "fire-order-sign").click()
    card = wait_for(browser, "#cards article.card")
    assert "tocilizumab" in card.text
    assert card.find_elements(By.CSS_SELECTOR, ".suggestions li")


def test_the_tocilizumab_course_shows_in_the_cards_the_page_and_the_timeline(
    demo, browser, output_dir
):
    from selenium.webdriver.common.by import By

    pid = "toci-course-pembrolizumab"
    browser.get(f"{demo['ehr']}/ehr/patient/{pid}")
    wait_for(browser, "input[value='tocilizumab-560']").click()
    browser.find_element(By.ID, "fire-order-select").click()
    card = wait_for(browser, "#cards article.card")
    assert "dose 2 of 4" in card.text and "the next not before" in card.text
    save_full_page(browser, output_dir / "e2e-toci-course-order-select.png")

    browser.set_window_size(1280, 1000)
    browser.get(demo["ehr"] + "/")
    wait_for(browser, f"#launch-{pid}").click()
    given = wait_for(browser, "#given")
    assert "Tocilizumab dose 2 of 4 given at" in given.text
    assert len(given.find_elements(By.CSS_SELECTOR, "tbody tr")) == 2
    doses = browser.find_elements(By.CSS_SELECTOR, "svg.timeline g.dose-anti_cytokine")
    assert len(doses) == 2
    given.screenshot(str(output_dir / "e2e-toci-course-given.png"))
    browser.find_element(By.ID, "timeline").screenshot(
        str(output_dir / "e2e-toci-course-timeline.png")
    )
    assert csp_violations(browser) == []


def test_the_steroid_taper_shows_in_the_page_and_a_fast_taper_gets_a_card(
    demo, browser, output_dir
):
    from selenium.webdriver.common.by import By

    pid = "steroid-taper-nivolumab"
    browser.get(f"{demo['ehr']}/ehr/patient/{pid}")
    wait_for(browser, "input[value='prednisone-20-tablet']").click()
    browser.find_element(By.ID, "fire-order-sign").click()
    card = wait_for(browser, "#cards article.card")
    assert "faster than the taper" in card.text
    save_full_page(browser, output_dir / "e2e-steroid-taper-order-sign.png")

    browser.set_window_size(1280, 1000)
    browser.get(demo["ehr"] + "/")
    wait_for(browser, f"#launch-{pid}").click()
    given = wait_for(browser, "#given")
    assert "Tapering since" in given.text and "PJP prophylaxis" in given.text
    given.screenshot(str(output_dir / "e2e-steroid-taper-given.png"))


XSS_ID = "xss-probe"
XSS_NAME = "<script>window.__xss='name'</script>"
XSS_CONDITION = (
    "<img src=x onerror=\"window.__xss='condition'\"> **bold** [click](javascript:alert(1))"
)


def _xss_bundle() -> dict:
    """A patient whose every text field carries markup: it must show as text everywhere."""
    now = "2026-11-20T11:00:00Z"
    subject = {"reference": f"Patient/{XSS_ID}"}

    def put(r: dict) -> dict:
        return {
            "resource": r,
            "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
        }

    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            put(
                {
                    "resourceType": "Patient",
                    "id": XSS_ID,
                    "name": [{"family": XSS_NAME, "given": ["<b>Eve</b>"]}],
                    "birthDate": "1970-01-01",
                }
            ),
            put(
                {
                    "resourceType": "MedicationAdministration",
                    "id": "xss-ma",
                    "status": "completed",
                    "subject": subject,
                    "medicationCodeableConcept": {"text": "pembrolizumab <i>Keytruda</i>"},
                    "effectiveDateTime": "2026-11-10T11:00:00Z",
                }
            ),
            put(
                {
                    "resourceType": "Condition",
                    "id": "xss-c",
                    "subject": subject,
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                    "code": {
                        "coding": [
                            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G37.3"}
                        ],
                        "text": XSS_CONDITION,
                    },
                    "onsetDateTime": now,
                }
            ),
            put(
                {
                    "resourceType": "Observation",
                    "id": "xss-t",
                    "status": "final",
                    "subject": subject,
                    "code": {
                        "coding": [{"system": "http://loinc.org", "code": "8310-5"}],
                        "text": "<svg onload=alert(1)>",
                    },
                    "effectiveDateTime": now,
                    "valueQuantity": {"value": 38.9, "unit": "Cel", "code": "Cel"},
                }
            ),
        ],
    }


def _no_script_ran(driver) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    assert driver.execute_script("return window.__xss === undefined")
    try:
        _ = driver.switch_to.alert
    except NoAlertPresentException:
        pass
    else:
        raise AssertionError("an alert opened: markup from FHIR ran as script")


def test_markup_in_every_fhir_text_field_shows_as_text_in_the_app_and_the_card(
    demo, browser, output_dir
):
    from selenium.webdriver.common.by import By

    from demo.runner import load_bundle

    load_bundle(demo["fhir_upstream"], _xss_bundle())
    # The app, through a real EHR launch
    browser.get(demo["ehr"] + "/")
    wait_for(browser, f"#launch-{XSS_ID}").click()
    wait_for(browser, "#crs-h")
    _no_script_ran(browser)
    assert XSS_NAME in browser.find_element(By.CSS_SELECTOR, ".patient-banner").text
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "<img src=x" in body  # the condition's markup is visible as characters
    assert not browser.find_elements(By.CSS_SELECTOR, "img[src='x'], main script, main svg[onload]")
    save_full_page(browser, output_dir / "e2e-xss-app.png")
    # The patient-view card in the demo EHR
    browser.set_window_size(1280, 1000)
    browser.get(f"{demo['ehr']}/ehr/patient/{XSS_ID}")
    wait_for(browser, "#fire-patient-view").click()
    card = wait_for(browser, "#cards article.card")
    _no_script_ran(browser)
    # The compact card names the condition by its clinical label, not the recorded text; what
    # it does carry from FHIR must not turn into markup.
    assert "Discontinue pembrolizumab" in card.text
    assert not card.find_elements(By.CSS_SELECTOR, "img, script, a[href^='javascript']")


def test_the_seed_assessment_prints_on_two_pages_with_the_patient_on_each(
    demo, browser, output_dir
):
    """Print to PDF on A4 and on Letter: at most two pages each. The print header (name, birth
    date, assessment time) is fixed, which Chromium repeats on every printed page."""
    import base64
    import re

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.print_page_options import PrintOptions

    browser.get(demo["ehr"] + "/")
    wait_for(browser, f"#launch-{SEED}").click()
    wait_for(browser, "#crs-h")
    header = browser.find_element(By.CSS_SELECTOR, ".print-header")
    text = header.get_attribute("textContent")
    assert "Example-Seed" in text and "Born 1964-03-02" in text and "Assessed" in text
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert header.value_of_css_property("position") == "fixed"
    # a badge is legible without colour: black text and outline, no white-on-red
    badge = browser.find_element(By.CSS_SELECTOR, ".badge")
    assert badge.value_of_css_property("color") in ("rgba(0, 0, 0, 1)", "rgb(0, 0, 0)")
    browser.set_window_size(718, 1000)  # the A4 printable width at 96 dpi
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(718, min(int(height) + 100, 6000))
    browser.save_screenshot(str(output_dir / "e2e-seed-pembrolizumab-print.png"))
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    for name, (w, h) in {"a4": (21.0, 29.7), "letter": (21.59, 27.94)}.items():
        opts = PrintOptions()
        opts.page_width, opts.page_height = w, h
        pdf = base64.b64decode(browser.print_page(opts))
        (output_dir / f"e2e-seed-pembrolizumab-{name}.pdf").write_bytes(pdf)
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert 1 <= pages <= 2, f"{name}: {pages} pages"


def test_the_bedside_ice_form_grades_and_saves_the_score_by_keyboard(demo, browser, output_dir):
    """cart-icans: the ten points entered with the keyboard only (Space on each radio, Enter on
    the button), the score and its ICANS grade shown (ICE 5: grade 2, ASTCT 2019), the score
    saved to the chart through the EHR's FHIR gateway, and the form empty again."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(demo["ehr"] + "/")
    wait_for(browser, "#launch-cart-icans").click()
    form = wait_for(browser, "#ice form.ice-form")
    assert "Submitting saves the ICE score to the chart." in form.text
    points = {
        "orientation_year": "1",
        "orientation_month": "1",
        "orientation_city": "0",
        "orientation_hospital": "0",
        "naming": "2",
        "commands": "0",
        "writing": "1",
        "attention": "0",
    }
    for item, value in points.items():
        form.find_element(By.CSS_SELECTOR, f"input[name='ice_{item}'][value='{value}']").send_keys(
            Keys.SPACE
        )
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").send_keys(Keys.ENTER)
    result = wait_for(browser, "#ice-result")
    assert (result.get_attribute("data-ice-score"), result.get_attribute("data-ice-grade")) == (
        "5",
        "2",
    )
    assert "ICE score 5/10" in result.text
    message = browser.find_element(By.CSS_SELECTOR, "#ice .ice-message")
    assert message.text == "Saved to the chart."
    assert not browser.find_elements(By.CSS_SELECTOR, "#ice input[type=radio]:checked")
    browser.find_element(By.ID, "ice").screenshot(str(output_dir / "e2e-cart-icans-ice-form.png"))
    assert csp_violations(browser) == []
