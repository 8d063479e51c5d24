"""Real-browser tests: Playwright drives Debian's chromium (Playwright's own browser download cannot work offline).

Without /usr/bin/chromium these tests skip on a laptop; CI sets REQUIRE_BROWSER=1 and installs chromium, so there a
missing browser is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_in_ci

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if require_in_ci("REQUIRE_BROWSER"):
            pytest.fail("REQUIRE_BROWSER=1 but Debian's chromium is not installed (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed; browser tests run in CI")
    # Playwright's sync API runs an event loop in this thread; the Django test client and ORM calls in these tests
    # are synchronous and safe, so Django's async-safety guard is relaxed for this session only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a screenshot under var/screenshots/ for a person to look at (never compared automatically)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
