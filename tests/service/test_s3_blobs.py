"""Uploads in an S3-compatible bucket: moto's real server over HTTP, a real worker and Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.gateway_settings import Settings
from tests.media import VIDEO
from tests.service.helpers import Worker, free_port, service_env, wait_until
from tests.service.s3server import CREDENTIALS, S3Server, keys
from vfer.errors import InvalidOptionError
from vfer_jobs.blobs import BlobNotFoundError
from vfer_jobs.s3 import S3BlobStore
from vfer_jobs.settings import JobSettings, load_settings


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server(tmp_path_factory.mktemp("s3") / "moto.log")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def bucket(s3: S3Server) -> str:
    name = f"vfer-{uuid.uuid4().hex[:12]}"
    s3.client().create_bucket(Bucket=name)
    return name


def store(s3: S3Server, bucket: str, ttl_s: int = 3600) -> S3BlobStore:
    blobs = S3BlobStore.from_settings(JobSettings(blob_ttl_s=ttl_s, **_blob_settings(s3, bucket)))
    assert isinstance(blobs, S3BlobStore)
    return blobs


def _blob_settings(s3: S3Server, bucket: str) -> dict[str, str]:
    return {"blob_url": f"s3://{bucket}/uploads", "s3_endpoint_url": s3.url}


def key() -> str:
    return uuid.uuid4().hex


def test_a_blob_is_readable_only_once_committed(s3: S3Server, bucket: str) -> None:
    blobs, name = store(s3, bucket), key()
    pending = blobs.begin(name)
    pending.file.write(b"half an upload")
    with pytest.raises(BlobNotFoundError):
        blobs.read(name)
    assert keys(s3, bucket) == []
    pending.commit()
    assert blobs.read(name) == b"half an upload"
    assert keys(s3, bucket) == [f"uploads/{name}"]
    blobs.delete(name)
    with pytest.raises(BlobNotFoundError):
        blobs.read(name)
    blobs.delete(name)  # deleting twice is not an error (a cancel and the job's end may both do it)


def test_a_failed_upload_leaves_nothing(s3: S3Server, bucket: str) -> None:
    blobs, name = store(s3, bucket), key()
    with pytest.raises(RuntimeError), blobs.writer(name) as out:
        out.write(b"partial")
        raise RuntimeError("the client went away")
    assert keys(s3, bucket) == []


def test_a_large_upload_is_spooled_and_sent_in_parts(s3: S3Server, bucket: str) -> None:
    blobs, name = store(s3, bucket), key()
    data = (VIDEO / "single_face.mp4").read_bytes() * (
        20 * 1024 * 1024 // (VIDEO / "single_face.mp4").stat().st_size + 1
    )
    with blobs.writer(name) as out:
        for start in range(0, len(data), 64 * 1024):  # as the gateway writes it: chunk by chunk
            out.write(data[start : start + 64 * 1024])
    head = s3.client().head_object(Bucket=bucket, Key=f"uploads/{name}")
    assert "-" in head["ETag"], "a multipart upload (its ETag names the part count)"
    assert blobs.read(name) == data


def test_sweep_deletes_expired_blobs_and_nothing_else(s3: S3Server, bucket: str) -> None:
    blobs, old = store(s3, bucket, ttl_s=1), key()
    blobs.put(old, b"old")
    client = s3.client()
    client.put_object(Bucket=bucket, Key="uploads/README.txt", Body=b"not a blob")
    client.put_object(Bucket=bucket, Key="elsewhere/" + key(), Body=b"outside the prefix")
    time.sleep(2.1)
    fresh = key()
    blobs.put(fresh, b"fresh")
    assert blobs.sweep() == 1
    remaining = keys(s3, bucket)
    assert f"uploads/{old}" not in remaining
    assert {f"uploads/{fresh}", "uploads/README.txt"} <= set(remaining) and len(remaining) == 3


def test_a_bad_blob_url_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VFER_BLOB_URL", "https://bucket/uploads")
    with pytest.raises(InvalidOptionError, match=r"VFER_BLOB_URL: .*s3://BUCKET"):
        load_settings(JobSettings)


def test_gateway_and_worker_share_uploads_through_the_bucket(
    s3: S3Server, bucket: str, broker_url: str, tmp_path: Path, data: Path
) -> None:
    queue = f"vfer-s3-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        broker_url=broker_url, queue=queue, max_upload_bytes=1_000_000, default_wait_s=30, **_blob_settings(s3, bucket)
    )
    env = service_env(broker_url, tmp_path / "unused", VFER_QUEUE=queue, **s3.env(bucket))
    worker = Worker(env, tmp_path / "worker.log")
    try:
        with TestClient(create_app(settings)) as client:
            wait_until(lambda: client.get("/readyz").json()["workers"], 60, "the worker to answer")
            clip = (VIDEO / "single_face.mp4").read_bytes()
            response = client.post("/predict", files={"file": ("single_face.mp4", clip, "video/mp4")})
            assert response.status_code == 200, response.text
            assert len(response.json()["faces"]) == 1
            assert keys(s3, bucket) == [], "the worker deleted the upload when the job ended"
            too_big = client.post("/predict", content=b"\x00\x00\x00\x18ftypmp42" + bytes(1_100_000))
            assert too_big.status_code == 413
            assert keys(s3, bucket) == [], "a refused upload leaves nothing in the bucket"
    finally:
        worker.stop()


def test_an_unreachable_store_is_a_transient_fault(tmp_path: Path) -> None:
    """The worker retries OSError (a volume hiccup); an object store that is down is the same."""
    import boto3
    from botocore.config import Config

    dead = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(OSError, match="object store"):
        S3BlobStore(dead, "vfer-uploads", "blobs", ttl_s=60).read(key())


def test_a_failed_delete_never_fails_the_job(s3: S3Server, bucket: str) -> None:
    """The job's result stands; the sweeper deletes the blob later."""
    from worker.tasks import finish

    class UndeletableStore(S3BlobStore):
        def delete(self, key: str) -> None:
            raise ConnectionError("the store went away after the read")

    blobs = store(s3, bucket)
    name = key()
    blobs.put(name, b"clip")
    undeletable = UndeletableStore(blobs.client, blobs.bucket, blobs.prefix, blobs.ttl_s)
    outcome = finish(undeletable, name, lambda data: {"size": len(data)})
    assert outcome == {"ok": True, "result": {"size": 4}}
