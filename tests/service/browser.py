"""Headless Chromium for the page tests: launched with the internet shut out of its pages."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@contextlib.contextmanager
def launch(*extra_args: str) -> Iterator[Any]:
    """Chromium (with `extra_args`, e.g. a fake camera) until the block ends."""
    if CHROMIUM is None:
        pytest.fail("Chromium is needed for the page test: apt-get install chromium (make test does it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                *extra_args,
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Page:
    """A page of a fresh context that may reach only the service and collects console errors."""

    def __init__(
        self, browser: Any, url: str, viewport: dict[str, int], scale: float = 1, permissions: list[str] | None = None
    ) -> None:
        self.context = browser.new_context(viewport=viewport, device_scale_factor=scale, permissions=permissions or [])
        self.context.route("**/*", lambda route: _local_only(route, url))
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(url)

    def upload(self, clip: Path) -> None:
        self.page.set_input_files("#file", str(clip))

    def __enter__(self) -> Page:
        return self

    def __exit__(self, *exc: object) -> None:
        self.context.close()


def _local_only(route: Any, url: str) -> None:
    if route.request.url.startswith((url, "blob:", "data:")):
        route.continue_()
    else:
        route.abort()
