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
    assert svg.find_elements(By.CSS_SELECTOR, ".panel-grade polyline")
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
