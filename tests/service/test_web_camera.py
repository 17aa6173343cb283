"""The page's camera mode in headless Chromium: a fake camera plays a real clip, its frames go to
the embedded `vfer serve` over the /stream WebSocket, and a labelled box appears over the live
video with a rolling timeline per face. Screenshots at desktop and phone widths."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.media import VIDEO, y4m_copy
from tests.service.browser import DESKTOP, PHONE, SCREENSHOTS, Page, launch
from vfer.labels import LABELS
from vfer.models import DEFAULT_MODEL


@pytest.fixture(scope="module")
def camera_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    clip = y4m_copy(VIDEO / "single_face.mp4", tmp_path_factory.mktemp("camera") / "face.y4m", seconds=6)
    fake_camera = (
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
    )
    with launch(*fake_camera) as chromium:
        yield chromium


def test_the_camera_shows_a_labelled_box_over_the_live_video(camera_browser: Any, embedded_url: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, viewport, scale in (("desktop", DESKTOP, 1), ("phone", PHONE, 3)):
        with Page(camera_browser, embedded_url, viewport, scale, permissions=["camera"]) as view:
            page = view.page
            page.click("#camera")
            page.wait_for_function("document.getElementById('live-video').videoWidth > 0", timeout=20_000)
            page.wait_for_function("document.getElementById('live-overlay').dataset.drawn === '1'", timeout=60_000)
            assert page.inner_text("#live-faces .face-label") in LABELS
            assert page.locator("#live-faces .band").count() >= 1
            assert page.inner_text("#live-note").startswith("Each label is the expression of the last 2 s")
            # No result names the model live: the page names the server's default and its figures.
            page.wait_for_function("document.getElementById('live-model').textContent.length > 0")
            described = page.inner_text("#live-model")
            assert described.startswith(f"Model: {DEFAULT_MODEL} ") and "faces it never trained on" in described
            # A close call is marked live too: a window whose top two are 29 and 28 %.
            page.evaluate(
                """() => {
                  const w = live.windows[live.windows.length - 1];
                  const close = {neutral: .2, surprise: .05, happy: .05, disgust: .28, sad: .29, fear: .05, anger: .08};
                  live.windows.push({...w, index: w.index + 1, start_s: w.start_s + 1, end_s: w.end_s + 1,
                    faces: w.faces.map((f) => ({...f, label: "sad", distribution: close}))});
                  liveTimelines();
                }"""
            )
            assert "a close call with disgust (28\u00a0%)" in page.inner_text("#live-faces")
            assert page.locator("#live-faces .band.close").count() >= 1
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.screenshot(path=str(SCREENSHOTS / f"camera-{name}.png"), full_page=True)
            page.click("#stop")
            page.wait_for_function("document.getElementById('live-video').srcObject === null")
            assert page.inner_text("#status-text") == "The live view stopped."
            # Nothing of the stopped view stays (a black player, the last box, "now happy" and Stop did).
            assert page.locator("#live").is_hidden() and page.locator("#stop").is_hidden()
            assert page.inner_text("#live-faces") == page.inner_text("#live-note") == ""
            # After Stop the server still sends the stream's last window, then closes: the page
            # must take it quietly (before, it read the stopped view's state and threw).
            page.wait_for_timeout(3000)
            assert view.errors == []


@pytest.mark.parametrize(
    ("error", "sentence"),
    [
        ("NotAllowedError", "The camera was not allowed."),
        ("NotFoundError", "No camera was found on this device."),
        ("NotReadableError", "The camera is in use by another program"),
    ],
)
def test_a_camera_that_cannot_start_reads_as_a_sentence(
    camera_browser: Any, embedded_url: str, error: str, sentence: str
) -> None:
    """The browser's own refusals (permission denied, no device, device busy), as getUserMedia
    reports them, each become a sentence; nothing is sent and the live view stays closed."""
    with Page(camera_browser, embedded_url, DESKTOP) as view:
        view.context.add_init_script(
            f"navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('refused', '{error}'));"
        )
        view.page.reload()
        view.page.click("#camera")
        view.page.wait_for_selector("#status.error", timeout=20_000)
        assert view.page.inner_text("#status-text").startswith(sentence)
        assert view.page.locator("#live").is_hidden()
