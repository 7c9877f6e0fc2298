"""Headless Chromium against the whole demo: sekmet, the service and app under gunicorn, the
demo EHR with its SMART authorization server. Skips, saying why, when a piece is missing (a
failure under CI=true: `tests.ci`); a demo that is installed but does not start is a failure with
the service's log."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.ci import require_or_skip

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    from demo.runner import demo_stack, free_port, sekmet_executable

    if sekmet_executable() is None:
        require_or_skip("the sekmet FHIR server is not installed (the demo extra)")
    cm = demo_stack(
        "127.0.0.1",
        free_port(),
        free_port(),
        app_port=free_port(),
        workers=2,
        workdir=tmp_path_factory.mktemp("demo"),
    )
    try:
        urls = cm.__enter__()
    except RuntimeError as e:
        pytest.fail(f"the demo could not start: {e}", pytrace=False)
    yield urls
    cm.__exit__(None, None, None)


@pytest.fixture
def browser(tmp_path):
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        require_or_skip(
            "headless Chromium is not installed (/usr/bin/chromium, /usr/bin/chromedriver); "
            "run scripts/test-setup-browser.sh"
        )
    try:
        from selenium import webdriver
    except ImportError:
        require_or_skip("selenium is not installed (the test extra)")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


@pytest.fixture
def output_dir():
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT
