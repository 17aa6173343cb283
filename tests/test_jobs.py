"""The job contract: options validated once, settings errors named, the blob store's guarantees."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vfer.config import PipelineConfig
from vfer.errors import InvalidOptionError, ModelNotFoundError
from vfer_jobs.blobs import BlobNotFoundError, DirectoryBlobStore
from vfer_jobs.celery_config import celery_config
from vfer_jobs.imagesize import encoded_size
from vfer_jobs.options import JobOptions, StreamOptions, VideoJob, WindowJob, parse
from vfer_jobs.settings import JobSettings, load_settings
from vfer_jobs.stores import open_blob_store


def test_job_options_default_to_the_pipelines_defaults() -> None:
    options, pipeline = JobOptions(), PipelineConfig()
    assert (options.mode, options.window_s, options.stride_s) == (pipeline.mode, pipeline.window_s, pipeline.stride_s)
    assert options.to_pipeline_config() == pipeline


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"window_s": 100}, "window_s"),
        ({"window_s": 1.0, "stride_s": 2.0}, "stride_s"),
        ({"mode": "slow"}, "mode"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_options_from_the_wire_are_the_callers_error(given: dict[str, object], named: str) -> None:
    with pytest.raises(InvalidOptionError, match=named):
        parse(JobOptions, given)


def test_stream_options_take_a_frame_format_and_the_same_window_rules() -> None:
    assert parse(StreamOptions, {"format": "png", "window_s": 1.0}).to_pipeline_config().window_s == 1.0
    with pytest.raises(InvalidOptionError, match="format"):
        parse(StreamOptions, {"format": "gif"})


def test_task_payloads_round_trip_through_json() -> None:
    job = VideoJob(options=JobOptions(mode="paper", window_s=1.5, stride_s=0.5), filename="a.mp4")
    assert parse(VideoJob, job.model_dump(mode="json")) == job
    window = WindowJob(first_frame=12, tracks={"faces": [[0, [1.0, 2.0, 3.0, 4.0]]], "next_id": 1})
    assert parse(WindowJob, window.model_dump(mode="json")) == window


def test_a_bad_setting_names_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VFER_MAX_UPLOAD_BYTES", "abc")
    with pytest.raises(InvalidOptionError, match=r"^VFER_MAX_UPLOAD_BYTES: "):
        load_settings(JobSettings)
    monkeypatch.delenv("VFER_MAX_UPLOAD_BYTES")
    monkeypatch.setenv("VFER_BROKER_URL", "http://x")
    with pytest.raises(InvalidOptionError, match=r"^VFER_BROKER_URL: .*redis://"):
        load_settings(JobSettings)


@pytest.mark.parametrize(
    ("settings", "env", "secret"),
    [
        ("service", {"VFER_API_KEYS": "s3cretKEY1,s3cretKEY2", "VFER_VISIBILITY_TIMEOUT_S": "10"}, "s3cretKEY"),
        ("service", {"VFER_API_KEYS": "s3cretKEY1", "VFER_TOPOLOGY": "split"}, "s3cretKEY"),
        ("worker", {"VFER_BROKER_URL": "redis://:hunter2@redis:6379/0", "VFER_VISIBILITY_TIMEOUT_S": "10"}, "hunter2"),
        ("worker", {"VFER_BROKER_URL": "http://vfer:hunter2@redis:6379/0"}, "hunter2"),
        ("worker", {"VFER_RESULT_BACKEND": "redis://vfer:hunter2@redis/1", "VFER_QUEUE": "a", "VFER_TOPOLOGY": "split",
                    "VFER_INFERENCE_QUEUE": "a", "VFER_BROKER_URL": "redis://vfer:hunter2@redis/0"}, "hunter2"),
    ],
)  # fmt: skip
def test_a_bad_setting_never_shows_a_key_or_a_password(
    monkeypatch: pytest.MonkeyPatch, settings: str, env: dict[str, str], secret: str
) -> None:
    """`vfer serve` and `vfer worker` print this line before they exit: it said every setting's
    value, API keys and broker passwords included."""
    from service.gateway_settings import Settings
    from worker.worker_settings import WorkerSettings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InvalidOptionError) as raised:
        load_settings(Settings if settings == "service" else WorkerSettings)
    message = str(raised.value)
    assert secret not in message and message.startswith(("settings: ", "VFER_")), message
    if "http://" in env.get("VFER_BROKER_URL", ""):
        assert "'http://vfer:***@redis:6379/0'" in message  # the value is still shown, masked


def test_a_blob_is_readable_only_once_complete_and_never_after_a_failed_write(tmp_path: Path) -> None:
    store = DirectoryBlobStore(tmp_path, ttl_s=60)
    key, broken = "a" * 32, "b" * 32
    with store.writer(key) as out:
        out.write(b"first half ")
        with pytest.raises(BlobNotFoundError):
            store.read(key)
        out.write(b"second half")
    assert store.read(key) == b"first half second half"
    with pytest.raises(RuntimeError), store.writer(broken) as out:
        out.write(b"partial")
        raise RuntimeError("the client went away")
    with pytest.raises(BlobNotFoundError):
        store.read(broken)
    assert [p.name for p in tmp_path.iterdir()] == [key], "a failed write leaves nothing behind"
    store.delete(key)
    assert list(tmp_path.iterdir()) == []


def test_blob_settings_choose_the_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VFER_BLOB_DIR", str(tmp_path))
    monkeypatch.setenv("VFER_BLOB_URL", "")  # as the shared-volume overlay sets it: unset
    monkeypatch.setenv("VFER_S3_ENDPOINT_URL", "")
    assert isinstance(open_blob_store(load_settings(JobSettings)), DirectoryBlobStore)
    monkeypatch.setenv("VFER_BLOB_URL", "s3://vfer-uploads/blobs")
    assert load_settings(JobSettings).blob_url == "s3://vfer-uploads/blobs"


def test_a_request_names_a_model_and_never_reaches_a_path(tmp_path: Path) -> None:
    from worker.tasks import requested_model
    from worker.worker_settings import WorkerSettings

    (tmp_path / "mine.pt").write_bytes(b"weights")
    (tmp_path / "mine.json").write_text("{}")
    (tmp_path / "half.pt").write_bytes(b"weights, no metadata")
    settings = WorkerSettings(model_dir=tmp_path)
    assert requested_model("c3d_convlstm_fer", settings) == "c3d_convlstm_fer"
    assert requested_model("mine", settings) == str(tmp_path / "mine.pt")
    messages = set()
    for name in ("half", "absent", "mine.pt"):
        with pytest.raises(ModelNotFoundError) as refused:
            requested_model(name, settings)
        messages.add(str(refused.value).replace(name, "NAME"))
    assert len(messages) == 1, "the error never tells whether a file exists"
    assert messages.pop().startswith("unknown model 'NAME'; known models: c3d_convlstm")
    for path in ("../mine", "/etc/passwd", "a/b"):
        with pytest.raises(InvalidOptionError):
            parse(JobOptions, {"model": path})
    with pytest.raises(ModelNotFoundError, match="known models"):
        JobSettings().check_model_name("mine")


def test_an_encoded_frames_size_is_read_from_its_header(data: Path) -> None:
    """What a decoder would allocate, known before decoding: baseline and progressive JPEG (with
    whatever segments come before the frame header), PNG; a cut or foreign header says nothing."""
    photo = data / "faces" / "london" / "neutral" / "001.jpg"
    image = cv2.imread(str(photo))
    height, width = image.shape[:2]
    assert encoded_size(photo.read_bytes(), "jpeg") == (width, height)
    wide = np.zeros((37, 6001, 3), np.uint8)
    for fmt, params in ((".png", []), (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]), (".jpg", [])):
        encoded = cv2.imencode(fmt, wide, params)[1].tobytes()
        assert encoded_size(encoded, "png" if fmt == ".png" else "jpeg") == (6001, 37)
    jpeg = photo.read_bytes()
    assert encoded_size(jpeg[:20], "jpeg") is None
    assert encoded_size(jpeg, "png") is None and encoded_size(b"\x89PNG\r\n\x1a\n", "png") is None


def test_sentinel_urls_need_the_primary_name_and_reach_celery(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "sentinel://10.0.0.1:26379/0;sentinel://10.0.0.2:26379/0"
    monkeypatch.setenv("VFER_BROKER_URL", url)
    monkeypatch.setenv("VFER_REDIS_SENTINEL_MASTER", "")  # as compose writes it when unset
    with pytest.raises(InvalidOptionError, match="VFER_REDIS_SENTINEL_MASTER"):
        load_settings(JobSettings)
    monkeypatch.setenv("VFER_REDIS_SENTINEL_MASTER", "vfer")
    settings = load_settings(JobSettings)
    config = celery_config(settings)
    assert config["broker_transport_options"]["master_name"] == "vfer"
    assert config["result_backend_transport_options"] == {"master_name": "vfer"}
    assert settings.backend_url == url
    monkeypatch.delenv("VFER_BROKER_URL")
    monkeypatch.delenv("VFER_REDIS_SENTINEL_MASTER")
    assert "master_name" not in celery_config(load_settings(JobSettings))["broker_transport_options"]


def test_a_worker_rides_out_a_redis_failover_at_a_jobs_start() -> None:
    """The full suite under load caught it: the primary died as a job started, its delivery count
    met the dead primary, and the job failed `internal_error` instead of waiting for the new one."""
    import redis

    from worker.deliveries import ride_out

    answers: list[object] = [
        redis.exceptions.ConnectionError("Connection closed by server."),
        redis.exceptions.TimeoutError(),
        2,
    ]

    def count() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return int(answer)  # type: ignore[call-overload]

    assert ride_out(count, limit_s=5) == 2 and not answers
    with pytest.raises(redis.exceptions.ConnectionError):
        ride_out(lambda: (_ for _ in ()).throw(redis.exceptions.ConnectionError("gone")), limit_s=0.1)
