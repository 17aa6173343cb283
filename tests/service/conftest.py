from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from service.app import create_app
from service.gateway_settings import Settings
from tests.service.helpers import (
    CLAIM_KEY,
    CLAIM_S,
    REDIS_HOST,
    REDIS_PORT,
    GrpcServer,
    Publications,
    RedisServer,
    Worker,
    claimed_db,
    redis_alive,
    service_env,
    service_ready,
    vfer_serve,
    wait_until,
)


@pytest.fixture(scope="session")
def redis_port() -> Iterator[int]:
    """The machine's Redis on 6379, or a private redis-server where none runs (a laptop)."""
    if redis_alive(REDIS_PORT):
        yield REDIS_PORT
        return
    server = RedisServer().start()
    try:
        yield server.port
    finally:
        server.stop()


@pytest.fixture(scope="session")
def test_db(redis_port: int) -> Iterator[int]:
    """A database of the machine's Redis that this run alone uses (`claimed_db`)."""
    with claimed_db(redis_port) as db:
        yield db


@pytest.fixture(scope="module")
def broker_url(redis_port: int, test_db: int) -> Iterator[str]:
    client = redis.Redis(host=REDIS_HOST, port=redis_port, db=test_db)
    client.flushdb()
    client.set(CLAIM_KEY, os.getpid(), ex=CLAIM_S)  # still this run's
    yield f"redis://{REDIS_HOST}:{redis_port}/{test_db}"
    client.flushdb()
    client.set(CLAIM_KEY, os.getpid(), ex=CLAIM_S)


@pytest.fixture(scope="module")
def service_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service")


@pytest.fixture(scope="module")
def queue() -> str:
    return f"vfer-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def settings(broker_url: str, service_dir: Path, queue: str) -> Settings:
    return Settings(
        broker_url=broker_url,
        blob_dir=service_dir / "blobs",
        queue=queue,
        max_upload_bytes=1_000_000,
        default_wait_s=30,
        max_wait_s=60,
    )


@pytest.fixture(scope="module")
def worker(settings: Settings, service_dir: Path) -> Iterator[Worker]:
    env = service_env(
        settings.broker_url,
        settings.blob_dir,
        VFER_QUEUE=settings.queue,
        VFER_MAX_UPLOAD_BYTES="1000000",
        VFER_MAX_DURATION_S="5",  # small, to test the duration limit
    )
    process = Worker(env, service_dir / "worker.log")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(settings: Settings, worker: Worker) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        wait_until(lambda: test_client.get("/readyz").json()["workers"], 60, "a worker to answer /readyz")
        yield test_client


@pytest.fixture(scope="session")
def embedded_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`vfer serve` with no broker: the embedded default, its worker in the same process."""
    root = tmp_path_factory.mktemp("embedded")
    env = service_env(None, root / "blobs", VFER_LOG_LEVEL="warning")
    with vfer_serve(env, root / "serve.log", ready=service_ready) as url:
        yield url


@pytest.fixture(scope="module")
def grpc_target(settings: Settings, worker: Worker) -> Iterator[str]:
    """A real gRPC server on port 0 on the module's worker, its models loaded by a first job."""
    from tests.media import VIDEO
    from vfer_client.grpc_client import Client

    server = GrpcServer(settings)
    with Client(server.target) as client:
        client.predict((VIDEO / "single_face.mp4").read_bytes(), timeout=120)
    yield server.target
    server.stop()


@pytest.fixture
def publications(broker_url: str) -> Iterator[Publications]:
    heard = Publications(broker_url)
    yield heard
    heard.close()
