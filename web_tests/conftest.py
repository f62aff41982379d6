"""Browser tests: Debian's Chromium driven by Playwright against the live portal, with cloudsim
and a real Celery worker behind it.

`playwright install` cannot download browsers on these machines; `make test` installs the
distribution's Chromium (`apt-get install chromium`) when it is missing. A failing test leaves
a screenshot of each of its open pages in `test-output/screenshots/`. The worker, cloudsim
and tenant fixtures (`worker`, `devel`) come from the root conftest. With
`SAVE_README_SCREENSHOTS=1` the flow also writes the README's screenshots to
`docs/screenshots/`.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# Headless, as root in a container, and never talking to any host but the portal under test.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
ROOT = Path(__file__).resolve().parent.parent
FAILURE_SHOTS = ROOT / "test-output" / "screenshots"
README_SHOTS = ROOT / "docs" / "screenshots"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.call_failed = report.failed
    return report


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"No Chromium at {CHROMIUM}: `make test` installs it (apt-get install chromium)."
        )
    from playwright.sync_api import expect, sync_playwright

    # The worker, cloudsim and the portal share two cores here: wait longer than the default.
    expect.set_options(timeout=15_000)

    # Playwright's sync API keeps an event loop in this thread; Django refuses database work
    # in a thread with a running loop unless told the caller knows it is synchronous.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def _browser_context(browser, live_server, request, **options):
    """A fresh browser profile on the live portal; on failure, a screenshot of each page."""
    # The browser lives in Tokyo and the portal in UTC, so a time in the person's zone shows.
    options.setdefault("timezone_id", "Asia/Tokyo")
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url, **options)
    # Generous: the machine has two cores, shared with the worker, cloudsim and the portal.
    context.set_default_timeout(15_000)
    yield context
    if getattr(request.node, "call_failed", False):
        FAILURE_SHOTS.mkdir(parents=True, exist_ok=True)
        for number, page in enumerate(context.pages):
            page.screenshot(path=FAILURE_SHOTS / f"{request.node.name}-{number}.png")
    context.close()


@pytest.fixture
def context(browser, live_server, request):
    """A browser with scripts on, allowed to read back what the page copied."""
    for context in _browser_context(browser, live_server, request):
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        yield context


@pytest.fixture
def context_without_script(browser, live_server, request):
    """A browser with JavaScript off: the core actions must still work."""
    yield from _browser_context(browser, live_server, request, java_script_enabled=False)


def readme_screenshot(page, name: str) -> None:
    """Save the page as the README's picture `name`, when SAVE_README_SCREENSHOTS=1."""
    if os.environ.get("SAVE_README_SCREENSHOTS") != "1":
        return
    README_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=README_SHOTS / f"{name}.png")
