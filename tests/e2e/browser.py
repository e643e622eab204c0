"""The workbench in a real browser: Playwright driving Debian's Chromium (never a downloaded one),
signed in with a key, with screenshots at the two widths the workbench must work at.

Screenshots go to out/screenshots/<test>/<name>-<width>.png (gitignored), so a person can look at
what the tests saw."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTHS = (1024, 1440)
SHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=zh-CN",  # (Windows and ChromeOS; on Linux, CHROMIUM_ENV below)
]
# Date inputs as a Chinese evaluator's browser shows them (2022/10/31): Chromium on Linux takes its
# own language from the environment, not from --lang, and needs chromium-l10n's zh-CN.pak for it.
CHROMIUM_ENV = {**os.environ, "LANGUAGE": "zh_CN"}


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=CHROMIUM_ENV)
        try:
            yield browser
        finally:
            browser.close()


class Workbench:
    """One signed-in tab of the workbench."""

    def __init__(self, browser: Any, base_url: str, key: str, test_name: str) -> None:
        self.base_url = base_url
        self.page = browser.new_page(viewport={"width": WIDTHS[0], "height": 900}, locale="zh-CN")
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.shots = SHOTS / re.sub(r"[^\w.-]+", "_", test_name)
        self.key = key

    def open(self, query: str = "") -> Any:
        """Open the workbench at `?query`, signed in (the key travels in the fragment, never to the server)."""
        self.page.goto(f"{self.base_url}/dashboard{'?' + query if query else ''}#key={self.key}")
        self.page.wait_for_selector("#who:not([hidden])")
        return self.page

    def screenshot(self, name: str) -> list[Path]:
        """The page at each width, whole; the viewport is put back to the narrow one afterwards."""
        paths = []
        self.shots.mkdir(parents=True, exist_ok=True)
        for width in WIDTHS:
            self.page.set_viewport_size({"width": width, "height": 900})
            self.page.wait_for_timeout(150)  # layout settles after a resize
            path = self.shots / f"{name}-{width}.png"
            self.page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        self.page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        return paths

    def no_script_errors(self) -> None:
        assert not self.errors, f"the page raised: {self.errors}"


@pytest.fixture
def workbench(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A factory: workbench(base_url, key) → a signed-in Workbench in one shared browser."""
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    with chromium() as browser:
        opened: list[Workbench] = []

        def make(base_url: str, key: str) -> Workbench:
            bench = Workbench(browser, base_url, key, request.node.name)
            opened.append(bench)
            return bench

        yield make
        for bench in opened:
            bench.page.close()
