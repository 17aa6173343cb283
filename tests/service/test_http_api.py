"""The HTTP API against the real Redis and a real `vfer worker` process."""

from __future__ import annotations

import errno
import io
import json
import time
from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.gateway_settings import Settings
from tests.media import VIDEO, encode, faststart_copy
from vfer.labels import LABELS
from vfer.models import REGISTERED_MODELS
from vfer.models.catalogue import WEIGHTS_DIR
from vfer_jobs.blobs import DirectoryBlobStore

SINGLE = VIDEO / "single_face.mp4"


def upload(client: TestClient, path: Path | None = None, content: bytes | None = None, **params: object):  # type: ignore[no-untyped-def]
    data = content if content is not None else (path or SINGLE).read_bytes()
    return client.post("/predict", params=params, files={"file": ("clip.mp4", data, "video/mp4")})


def test_upload_answers_with_the_cli_result(client: TestClient, data: Path) -> None:
    response = upload(client)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["labels"] == list(LABELS) and result["source"] == "clip.mp4"
    assert len(result["faces"]) == 1 and sum(result["distribution"].values()) == pytest.approx(1, abs=1e-4)
    assert response.headers["X-Job-Id"]


def test_raw_body_upload_and_options(client: TestClient, data: Path) -> None:
    response = client.post("/predict", params={"window_s": 1.0, "stride_s": 0.5}, content=SINGLE.read_bytes())
    assert response.status_code == 200, response.text
    assert response.json()["options"] == {"mode": "fast", "window_s": 1.0, "stride_s": 0.5}
    assert len(response.json()["faces"][0]["windows"]) >= 3
    assert response.json()["source"] == "upload", "no name given"


def test_a_raw_body_upload_keeps_the_name_it_is_given(client: TestClient, data: Path) -> None:
    clip = SINGLE.read_bytes()
    by_query = client.post("/predict", params={"filename": "holiday.mp4"}, content=clip)
    assert by_query.status_code == 200 and by_query.json()["source"] == "holiday.mp4"
    header = {"Content-Disposition": 'attachment; filename="interview.mov"'}
    by_header = client.post("/predict", headers=header, content=clip)
    assert by_header.status_code == 200 and by_header.json()["source"] == "interview.mov"


def test_async_job_life_cycle(client: TestClient, settings: Settings, data: Path) -> None:
    accepted = upload(client, wait=0)
    assert accepted.status_code == 202
    body = accepted.json()
    assert body["status"] == "queued" and accepted.headers["Location"] == body["status_url"]
    seen = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(body["status_url"]).json()
        seen.add(status["status"])
        if status["status"] == "done":
            break
        time.sleep(0.05)
    assert status["status"] == "done" and status["result"]["faces"], status
    assert seen <= {"queued", "running", "done"}
    assert not (settings.blob_dir / body["job_id"]).exists(), "the upload is deleted when the job ends"
    assert client.delete(body["status_url"]).json()["status"] == "done"
    assert client.get(body["status_url"]).status_code == 404, "a deleted job is forgotten"


def test_delete_answers_although_the_upload_store_is_read_only(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, data: Path
) -> None:
    """The cancel or forget takes effect; deleting the upload is cleanup (a read-only blob mount
    made DELETE answer a plain-text 500). The gateway's store fails here; the worker's does not."""

    def read_only(self: DirectoryBlobStore, key: str) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self.path(key)))

    finished = upload(client, wait=60).headers["X-Job-Id"]
    queued = upload(client, wait=0).json()
    monkeypatch.setattr(DirectoryBlobStore, "delete", read_only)
    forgot = client.delete(f"/jobs/{finished}")
    assert forgot.status_code == 200 and forgot.json()["status"] == "done", forgot.text
    cancelled = client.delete(queued["status_url"])
    assert cancelled.status_code == 200 and cancelled.json()["status"] in ("cancelled", "done"), cancelled.text


def _garbage_pictures(tmp: Path) -> bytes:
    whole = faststart_copy(SINGLE, tmp / "whole.mp4").read_bytes()
    body = whole.find(b"mdat") + 4
    return whole[:body] + np.random.default_rng(1).integers(0, 256, len(whole) - body, dtype=np.uint8).tobytes()


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda d, t: b"", 400, "empty_input"),
        (lambda d, t: b"plain text, certainly not a video\n" * 40, 415, "not_a_video"),
        (lambda d, t: (d / "faces" / "canada" / "003f.jpg").read_bytes(), 415, "not_a_video"),
        (lambda d, t: SINGLE.read_bytes()[:120_000], 415, "not_a_video"),  # truncated, index lost
        (_garbage_pictures_lambda := (lambda d, t: _garbage_pictures(t)), 400, "corrupt_video"),
        (
            lambda d, t: np.random.default_rng(0).integers(0, 256, 1_200_000, dtype=np.uint8).tobytes(),
            413,
            "upload_too_large",
        ),
    ],
    ids=["empty", "text", "image", "truncated", "corrupt", "oversized"],
)
def test_bad_uploads_get_a_clear_error_code(
    client: TestClient, data: Path, tmp_path: Path, make, status: int, code: str
) -> None:  # type: ignore[no-untyped-def]
    response = upload(client, content=make(data, tmp_path))
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]


def test_a_video_over_the_duration_limit_is_413(client: TestClient) -> None:
    long_clip = encode([np.full((64, 64), 128, np.uint8)] * 70, fps=10)  # 7 s; the worker allows 5 s
    response = upload(client, content=long_clip)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "limit_exceeded" and "5 s" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "params",
    [{"window_s": 0.01}, {"stride_s": 3, "window_s": 2}, {"mode": "slow"}, {"wait": -1}],
    ids=["window", "stride", "mode", "wait"],
)
def test_bad_parameters_are_422(client: TestClient, data: Path, params: dict[str, object]) -> None:
    response = upload(client, **params)
    assert response.status_code == 422 and response.json()["error"]["code"] in ("invalid_parameters", "invalid_option")


def test_unknown_model_is_422(client: TestClient, data: Path) -> None:
    response = upload(client, model="no_such_model")
    assert response.status_code == 422 and "known models" in response.json()["error"]["message"]


def test_models_lists_what_a_request_may_name_with_the_rules_figures(client: TestClient, settings: Settings) -> None:
    """GET /models: every registered model, the one served by default, and the development
    figures the model card's rule measured; a named model answers with the version listed."""
    listed = client.get("/models").json()
    models = {m["name"]: m for m in listed["models"]}
    assert set(models) == set(REGISTERED_MODELS)
    assert [name for name, m in models.items() if m["default"]] == [settings.model]
    selection = json.loads((WEIGHTS_DIR / "selection.json").read_text())
    for name, model in models.items():
        figures = selection["candidates"][name]
        assert model["kind"] == figures["kind"]
        development = model["development"]
        assert development["macro_recall"] == figures["pooled"]["macro_recall"]
        assert development["recall"] == figures["pooled"]["recall"] and development["ece"] == figures["people"]["ece"]
        assert development["ferplus_accuracy"] == figures["ferplus"]["accuracy"]
        assert development["people"] == selection["judged_on"]["development_people"]
    for name in (settings.model, "mini_xception_fer2013"):
        answered = upload(client, model=name).json()["model"]
        assert (answered["name"], answered["version"]) == (name, models[name]["version"])
    assert listed["model_dir"] is False
    card = client.get(f"/{listed['card']}")
    assert card.headers["content-type"].startswith("text/markdown") and card.text.startswith("# Model card")


def test_a_preview_asked_for_is_webm_on_the_results_clock(client: TestClient, data: Path) -> None:
    """POST /predict?preview=true on an MPEG program stream (no browser plays one): GET /jobs/{id}/preview is VP8 in WebM, the
    video's shape, from 0 to its end; a job that did not ask has none (404, its own code)."""
    response = upload(client, VIDEO / "grid" / "bbaf2n.mpg", preview="true")
    assert response.status_code == 200, response.text
    video = response.json()["video"]
    preview = client.get(f"/jobs/{response.headers['X-Job-Id']}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "video/webm"
    with av.open(io.BytesIO(preview.content)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
    assert stream.codec_context.name == "vp8" and frames[0].width <= 480
    assert frames[0].width / frames[0].height == pytest.approx(video["width"] / video["height"], rel=0.02)
    assert frames[0].time == 0 and frames[-1].time == pytest.approx(video["duration_s"], abs=0.2)
    other = upload(client).headers["X-Job-Id"]
    missing = client.get(f"/jobs/{other}/preview")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "preview_not_found"


def test_unknown_job_is_404(client: TestClient) -> None:
    for job in ("0" * 32, "not-a-job"):
        response = client.get(f"/jobs/{job}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "job_not_found"
    assert client.delete("/jobs/" + "0" * 32).status_code == 404


def test_health_readiness_and_metrics(client: TestClient, data: Path) -> None:
    assert upload(client).status_code == 200  # its own job, so the counters below do not rely on other tests
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {
        "status": "ready",
        "broker": True,
        "storage": True,
        "workers": True,
        "workers_failing": {},
    }
    text = client.get("/metrics").text
    assert 'vfer_http_requests_total{method="POST",route="/predict",status="200"}' in text
    assert "vfer_queue_depth" in text and 'vfer_job_outcomes_total{outcome="done"}' in text


def test_openapi_documents_the_upload(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "multipart/form-data" in spec["paths"]["/predict"]["post"]["requestBody"]["content"]


def test_api_keys_when_configured(settings: Settings, worker, data: Path) -> None:  # type: ignore[no-untyped-def]
    locked = settings.model_copy(update={"api_keys": ["s3cret-key"]})
    with TestClient(create_app(locked)) as client:
        assert upload(client).status_code == 401
        assert client.get("/jobs/" + "0" * 32, headers={"X-API-Key": "wrong"}).status_code == 401
        assert client.get("/models").status_code == 401
        assert client.get("/models/card").status_code == 200, "the card is open, as /docs is"
        assert client.get("/models", headers={"X-API-Key": "s3cret-key"}).status_code == 200
        response = client.post("/predict", headers={"X-API-Key": "s3cret-key"}, content=SINGLE.read_bytes())
        assert response.status_code == 200
        assert client.get("/healthz").status_code == 200, "probes need no key"
