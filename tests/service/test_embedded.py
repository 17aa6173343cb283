"""The embedded default end to end: `vfer serve` with no broker, and its web page in Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.media import VIDEO
from tests.service.helpers import service_env, service_ready, vfer_serve, wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def embedded_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("embedded")
    env = service_env(None, root / "blobs", VFER_LOG_LEVEL="warning")
    with vfer_serve(env, root / "serve.log", ready=service_ready) as url:
        yield url


def test_embedded_service_predicts_an_upload(embedded_url: str, data: Path) -> None:
    with httpx.Client(base_url=embedded_url, timeout=60) as client:
        assert client.get("/readyz").json() == {"status": "ready", "broker": True, "storage": True, "workers": True}
        response = client.post(
            "/predict?wait=50", files={"file": ("single_face.mp4", (VIDEO / "single_face.mp4").read_bytes())}
        )
        assert response.status_code == 200, response.text
        assert response.json()["source"] == "single_face.mp4" and len(response.json()["faces"]) == 1
        job = client.post("/predict?wait=0", content=(VIDEO / "no_face.mp4").read_bytes()).json()
        wait_until(lambda: client.get(job["status_url"]).json()["status"] == "done", 60, "the async job")
        assert client.get(job["status_url"]).json()["result"]["no_face"] is True


def test_web_page_shows_bars_and_a_timeline(embedded_url: str, data: Path, tmp_path: Path) -> None:
    if CHROMIUM is None:
        pytest.fail("Chromium is needed for the page test: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            page = browser.new_page()
            page.goto(embedded_url)
            page.set_input_files("#file", str(VIDEO / "grid" / "bbaf2n.mpg"))
            page.wait_for_selector("svg.timeline polyline", timeout=60_000)
            headline = page.inner_text("#headline")
            bars = page.locator("#bars .bar")
            assert bars.count() == 7
            assert [bars.nth(i).get_attribute("data-label") for i in range(7)][:3] == ["neutral", "surprise", "happy"]
            assert page.locator("svg.timeline polyline.series").count() == 7
            label = page.inner_text(".face-label")
            assert headline.startswith(f"Main face: {label}")
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        finally:
            browser.close()
