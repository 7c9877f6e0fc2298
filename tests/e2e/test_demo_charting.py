"""A nurse charts in the demo EHR (headless Chromium): a normal temperature gives no card; a
fever and a low pressure are stored on the FHIR server, fire org.immunotox.observation-create
and the card appears with the change; accepting its write-back creates the Condition on the
FHIR server and the feedback is recorded."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.test_demo_in_browser import csp_violations, save_full_page, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# Hypotensive on norepinephrine after pembrolizumab, no fever so far: findings, not CRS.
PID = "afebrile-pembrolizumab"


def chart(browser, **values: str) -> None:
    from selenium.webdriver.common.by import By

    for field, value in values.items():
        box = browser.find_element(By.ID, f"chart-{field}")
        box.clear()
        box.send_keys(value)
    browser.find_element(By.ID, "chart-submit").click()
    wait_for(browser, "#cards")


def test_a_nurse_charts_a_fever_and_a_pressure_and_the_card_appears(demo, browser, output_dir):
    from selenium.webdriver.common.by import By

    browser.get(f"{demo['ehr']}/ehr/patient/{PID}")
    wait_for(browser, "#charting")

    chart(browser, temperature="37.1")
    cards = browser.find_element(By.ID, "cards")
    assert "Temperature 37.1 °C" in browser.find_element(By.ID, "charted").text
    assert "No cards." in cards.text
    assert not cards.find_elements(By.CSS_SELECTOR, "article.card")

    chart(browser, temperature="39.2", sbp="84")
    [card] = browser.find_elements(By.CSS_SELECTOR, "#cards article.card")
    summary = card.find_element(By.TAG_NAME, "h4").text
    assert "critical" in card.get_attribute("class")
    assert "CRS grade 0 → 3 (ASTCT 2019)" in summary, summary
    assert "temperature 39.2 °C" in summary
    assert "What changed" in card.text and "just charted" in card.text
    save_full_page(browser, output_dir / "e2e-observation-create-card.png")

    labels = [li.text for li in card.find_elements(By.CSS_SELECTOR, "ul.suggestions > li")]
    assert any("Record CRS grade 3 (D89.833) on the problem list" in t for t in labels), labels
    condition = next(
        li
        for li in card.find_elements(By.CSS_SELECTOR, "ul.suggestions > li")
        if "problem list" in li.text
    )
    condition.find_element(By.CSS_SELECTOR, "button.accept-suggestion").click()
    accepted = wait_for(browser, "#accepted").text
    assert "Condition/" in accepted and "feedback HTTP 200" in accepted, accepted
    browser.save_screenshot(str(output_dir / "e2e-observation-create-accepted.png"))

    ref = accepted.split("Condition/", 1)[1].split(" ", 1)[0]
    stored = requests.get(
        f"{demo['fhir_upstream']}/Condition/{ref}",
        headers={"Accept": "application/fhir+json"},
        timeout=10,
    ).json()
    assert stored["code"]["coding"][0]["code"] == "D89.833"
    assert stored["subject"]["reference"] == f"Patient/{PID}"
    assert stored["verificationStatus"]["coding"][0]["code"] == "provisional"
    assert any(d["reference"].startswith("Observation/") for d in stored["evidence"][0]["detail"])
    assert csp_violations(browser) == []
