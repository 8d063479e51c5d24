"""Real-browser tests: Playwright drives Debian's chromium (Playwright's own browser download cannot work offline).

Without /usr/bin/chromium these tests skip on a laptop; CI sets REQUIRE_BROWSER=1 and installs chromium, so there a
missing browser is a failure, not a skip.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.assets.images import media_root
from tests.conftest import require_in_ci

__all__ = ["media_root"]

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
TIMEOUT_MS = 10_000  # every wait in these tests is bounded: a broken page fails in seconds, never hangs
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 740}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if require_in_ci("REQUIRE_BROWSER"):
            pytest.fail("REQUIRE_BROWSER=1 but Debian's chromium is not installed (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed; browser tests run in CI")
    # Playwright's sync API runs an event loop in this thread; the Django test client and ORM calls in these tests
    # are synchronous and safe, so Django's async-safety guard is relaxed for this session only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh browser context (its own cookies: a second person). ``new_page(mobile=True)`` is a
    375 px wide phone."""
    contexts: list[Any] = []

    def open_page(*, mobile: bool = False) -> Any:
        context = browser.new_context(viewport=MOBILE if mobile else DESKTOP, device_scale_factor=1)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    return new_page()


@pytest.fixture(autouse=True)
def _isolated_media(media_root: Path) -> None:
    """Uploaded files go to a per-test directory (the live server runs in this process, so it sees the setting)."""


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot under var/screenshots/ for a person to look at (never compared automatically)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Any, live_server: Any, email: str, password: str) -> None:
    """Log in through the real form and wait for the landing page."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


_colors = itertools.count(1)


def image_file(directory: Path, name: str, fmt: str = "PNG", size: tuple[int, int] = (320, 240)) -> Path:
    """A real image file on disk (a new colour per call, so files are never duplicates of each other)."""
    from PIL import Image, ImageDraw

    n = next(_colors)
    image = Image.new("RGB", size, (n * 67 % 256, n * 131 % 256, n * 29 % 256))
    ImageDraw.Draw(image).ellipse((size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill="white")
    out = io.BytesIO()
    image.save(out, fmt)
    path = directory / name
    path.write_bytes(out.getvalue())
    return path


def no_horizontal_scroll(page: Any) -> bool:
    """True when nothing on the page is wider than the viewport (no sideways scrolling on a phone)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def hover_poster(page: Any, card: Any) -> None:
    """Move the mouse onto a library card's poster (the page makes the player on hover). A real mouse move, not
    ``hover()``: the poster is replaced by the player as soon as the pointer reaches it."""
    poster = card.locator("button.poster")
    poster.scroll_into_view_if_needed()
    box = poster.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
