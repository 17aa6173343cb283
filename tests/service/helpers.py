"""Real Redis, real `vfer worker` and `vfer serve` processes for the service tests."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import redis
from kombu.transport.redis import Channel as RedisChannel

from vfer_jobs.broker import queue_lists

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
TEST_DBS = tuple(range(13, 2, -1))  # the service tests' databases: each run claims a free one
CLAIM_KEY = "vfer-test-run"  # holds the claiming run's pid
CLAIM_S = 3 * 3600  # a run killed without cleaning up frees its database after this


@contextlib.contextmanager
def claimed_db(port: int = REDIS_PORT) -> Iterator[int]:
    """A database of the Redis on `port` that this process alone uses while it runs, flushed when
    it is given back: claimed by a key, so test suites and benchmarks run side by side (two
    checkouts, CI beside a session) never flush each other's jobs."""
    for db in TEST_DBS:
        client = redis.Redis(host=REDIS_HOST, port=port, db=db)
        if client.set(CLAIM_KEY, os.getpid(), nx=True, ex=CLAIM_S):
            try:
                yield db
            finally:
                client.flushdb()
            return
    raise RuntimeError(f"every test database of Redis on port {port} is claimed ({CLAIM_KEY} in db {TEST_DBS})")


@contextlib.contextmanager
def claimed_broker(port: int = REDIS_PORT) -> Iterator[str]:
    """`claimed_db` as a broker URL."""
    with claimed_db(port) as db:
        yield f"redis://{REDIS_HOST}:{port}/{db}"


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """Distinct free ports (the sockets are held together, so no port is handed out twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def gateway_metric(client: Any, name: str) -> float:
    """One metric's value from the gateway's /metrics (`client`: a TestClient or httpx.Client)."""
    lines = [line for line in client.get("/metrics").text.splitlines() if line.startswith(f"{name} ")]
    return float(lines[0].split()[1])


def service_ready(url: str) -> bool:
    """Whether `vfer serve` at `url` is ready and a worker answers (so a test's job runs at once)."""
    import httpx

    try:
        response = httpx.get(f"{url}/readyz", timeout=5)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and bool(response.json()["workers"])


def waiting(client: redis.Redis, queue: str) -> int:
    """Messages waiting on `queue`: in every priority's list (uploaded videos wait one step back)."""
    return sum(int(client.llen(key)) for key in queue_lists(RedisChannel, queue))


def lose_waiting(client: redis.Redis, queue: str) -> None:
    """Delete every message waiting on `queue`, as a lost message is gone."""
    client.delete(*queue_lists(RedisChannel, queue))


class FirstWindowWatch:
    """A gRPC stream of `clip` in a thread; `look()` runs the moment its first window arrives, and
    `result()` gives what it saw once the stream has ended (or says why the stream failed)."""

    def __init__(self, target: str, clip: Path, look: Callable[[], Any]) -> None:
        self.seen: list[Any] = []
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._stream, args=(target, clip, look))
        self.thread.start()

    def _stream(self, target: str, clip: Path, look: Callable[[], Any]) -> None:
        from vfer_client.grpc_client import Client, encoded_frames, stream_requests

        try:
            with Client(target) as rpc:
                for _ in rpc.stream(stream_requests(encoded_frames(clip)), timeout=300):  # type: ignore[arg-type]
                    if not self.seen:
                        self.seen.append(look())
        except BaseException as exc:  # result() says what went wrong
            self.errors.append(exc)

    def result(self, timeout: float = 300) -> Any:
        self.thread.join(timeout=timeout)
        assert not self.errors, f"the stream failed: {self.errors[0]!r}"
        assert self.seen, "the stream gave no window"
        return self.seen[0]


def redis_alive(port: int) -> bool:
    try:
        return bool(redis.Redis(host=REDIS_HOST, port=port, socket_connect_timeout=0.5).ping())
    except redis.exceptions.RedisError:
        return False


class RedisServer:
    """A private redis-server on a free port (for tests that stop the broker)."""

    def __init__(self, port: int | None = None, data_dir: Path | None = None, *args: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server (or brew install redis)")
        self.binary = binary
        self.port = port or free_port()
        self.data_dir = data_dir  # where `stop(save=True)` keeps the data for the next start
        self.args = args  # more redis-server options, e.g. "--replicaof", HOST, PORT
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        where = ["--dir", str(self.data_dir)] if self.data_dir is not None else []
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                REDIS_HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                *where,
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: redis_alive(self.port), 10, f"redis-server on port {self.port}")
        return self

    def stop(self, *, save: bool = False) -> None:
        """Stop; with `save`, as `redis-cli shutdown save` does (a restart keeps the data)."""
        if self.process is not None:
            if save:
                with contextlib.suppress(redis.ConnectionError):
                    redis.Redis(host=REDIS_HOST, port=self.port).shutdown(save=True)
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def kill(self) -> None:
        """SIGKILL: a primary that dies without a word."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


def _count(answer: object) -> int:
    """The length of a Sentinel's list answer (redis-py types it as a list or a bool)."""
    return len(answer) if isinstance(answer, list) else -1


class SentinelGroup:
    """A Redis primary, one replica and three Sentinels watching them (quorum 2), all on free
    ports: Redis high availability as an operator runs it, for failover tests."""

    MASTER = "vfer"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        primary, replica, *sentinels = free_ports(5)
        # Each server keeps its replication snapshot (dump.rdb) in the test's folder, not the cwd.
        for name in ("primary", "replica"):
            (folder / name).mkdir(exist_ok=True)
        self.primary = RedisServer(primary, folder / "primary")
        self.replica = RedisServer(replica, folder / "replica", "--replicaof", REDIS_HOST, str(primary))
        self.sentinel_ports = sentinels
        self.sentinels: list[subprocess.Popen[bytes]] = []

    def url(self, db: int = 0) -> str:
        return ";".join(f"sentinel://{REDIS_HOST}:{port}/{db}" for port in self.sentinel_ports)

    def start(self) -> SentinelGroup:
        self.primary.start()
        self.replica.start()
        for port in self.sentinel_ports:
            config = self.folder / f"sentinel-{port}.conf"  # a Sentinel rewrites its own file
            config.write_text(
                f"port {port}\nbind {REDIS_HOST}\ndir {self.folder}\n"
                f"sentinel monitor {self.MASTER} {REDIS_HOST} {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {self.MASTER} 1000\n"
                f"sentinel failover-timeout {self.MASTER} 5000\n"
            )
            self.sentinels.append(
                subprocess.Popen(
                    [self.primary.binary, str(config), "--sentinel"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        wait_until(self._watching, 60, "the Sentinels to know the replica and each other")
        return self

    def _sentinel(self, port: int) -> redis.Redis:
        return redis.Redis(host=REDIS_HOST, port=port, socket_connect_timeout=0.5, decode_responses=True)

    def _watching(self) -> bool:
        try:
            return all(
                _count(self._sentinel(port).sentinel_slaves(self.MASTER)) == 1
                and _count(self._sentinel(port).sentinel_sentinels(self.MASTER)) == 2
                for port in self.sentinel_ports
            )
        except redis.RedisError:
            return False

    def primary_port(self) -> int:
        """The port of the primary the Sentinels name now."""
        address = self._sentinel(self.sentinel_ports[0]).sentinel_get_master_addr_by_name(self.MASTER)
        assert isinstance(address, tuple | list), address  # (host, port)
        return int(address[1])

    def stop(self) -> None:
        for process in self.sentinels:
            process.terminate()
            process.wait(timeout=10)
        self.primary.stop()
        self.replica.stop()


def service_env(broker_url: str | None, blob_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VFER_")}
    env["VFER_BLOB_DIR"] = str(blob_dir)
    if broker_url:
        env["VFER_BROKER_URL"] = broker_url
    env.update(extra)
    return env


@contextlib.contextmanager
def vfer_serve(
    env: dict[str, str], log: Path, *, vfer: list[str] | None = None, ready: Callable[[str], bool] | None = None
) -> Iterator[str]:
    """A real `vfer serve` process on a free port, until the block ends; yields its URL once
    `ready(url)` (default: /readyz answers 200). `vfer` is the command (default: this Python's)."""
    port = free_port()
    command = vfer or [sys.executable, "-m", "vfer.cli"]
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen([*command, "serve", "--port", str(port)], env=env, stdout=out, stderr=out)
        try:
            wait_until(lambda: (ready or _ready)(url), 90, f"vfer serve on port {port} (log: {log})")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


def _ready(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def json_lines(log: Path) -> list[dict[str, Any]]:
    """The JSON lines of a log (VFER_LOG_FORMAT=json), skipping any other output."""
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


class Worker:
    """A real `vfer worker` process (its own process group, so it can be SIGKILLed whole)."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        pool: str = "solo",
        role: str = "jobs",
        concurrency: int = 1,
        loglevel: str = "WARNING",
        name: str | None = None,
    ) -> None:
        self.name = name or f"test-{uuid.uuid4().hex[:8]}@%h"
        self._log = log.open("ab")
        command = [sys.executable, "-m", "vfer.cli", "worker", "--role", role, "--pool", pool, "--name", self.name]
        self.process = subprocess.Popen(
            [*command, "--concurrency", str(concurrency), "--loglevel", loglevel],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


def pool_children(worker: Worker) -> list[int]:
    """The pids of a prefork worker's pool children."""
    pid = worker.process.pid
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@contextlib.contextmanager
def served_with_a_worker(env: dict[str, str], folder: Path) -> Iterator[tuple[str, Worker]]:
    """A real `vfer serve` and one `vfer worker` on `env`'s broker, yielded once the gateway sees
    the worker: the URL and the worker (to stop, pause or kill)."""
    import httpx

    worker = Worker(env, folder / "worker.log")
    try:
        with vfer_serve(env, folder / "serve.log") as http:
            wait_until(lambda: httpx.get(f"{http}/readyz", timeout=10).json()["workers"], 120, "the worker")
            yield http, worker
    finally:
        worker.kill()


class GrpcServer:
    """The real gRPC server on port 0, on its own event loop in a thread."""

    def __init__(self, settings: object) -> None:
        import asyncio
        import threading

        from service.gateway_settings import Settings

        assert isinstance(settings, Settings)
        self._asyncio = asyncio
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="grpc-test-server", daemon=True)
        self.thread.start()
        self.server, self.port, self.jobs = asyncio.run_coroutine_threadsafe(_boot(settings), self.loop).result(30)
        self.target = f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        run = self._asyncio.run_coroutine_threadsafe
        run(self.server.stop(grace=1), self.loop).result(timeout=30)
        run(self.jobs.notifier.close(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


async def _boot(settings: Any) -> tuple[Any, int, Any]:
    """The server as `vfer serve` starts it, on the running loop: (server, port, job client)."""
    from service.celery_client import create_celery
    from service.jobs import JobClient
    from service.notify import create_notifier
    from service.rpc.server import start_grpc_server
    from vfer_jobs.stores import open_blob_store

    blobs = open_blob_store(settings)
    celery = create_celery(settings)
    jobs = JobClient(celery, settings, blobs, create_notifier(celery, settings.backend_url, settings.embedded))
    server, port = await start_grpc_server(settings, jobs, port=0)
    return server, port, jobs


class Publications:
    """Every state the result backend publishes for any job, heard on Redis pub/sub."""

    def __init__(self, url: str) -> None:
        self._pubsub = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
        self._pubsub.psubscribe("celery-task-meta-*")
        self.states: list[tuple[str, str]] = []  # (job id, state)
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._stop = threading.Event()
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            message = self._pubsub.get_message(timeout=0.2)
            if message is not None:
                body = json.loads(message["data"])
                self.states.append((body["task_id"], body["status"]))

    def successes(self, job_id: str) -> int:
        return sum(1 for job, state in self.states if job == job_id and state == "SUCCESS")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._pubsub.close()
