"""Hostile input against the real gateway: malformed bodies, slow clients, bursts, other keys'
jobs, unbounded labels, bad settings. A real `vfer serve` process (for what needs a socket) and
the module's TestClient, on the real Redis; no worker consumes the subprocess gateway's queue."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.gateway_settings import Settings
from tests.media import VIDEO
from tests.service.helpers import free_port, service_env, vfer_serve

SINGLE = VIDEO / "single_face.mp4"
MAX_QUEUE = 4


@pytest.fixture(scope="module")
def gateway(broker_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`vfer serve` with a queue no worker takes, 1 s of upload idleness allowed, 4 queued jobs."""
    root = tmp_path_factory.mktemp("hostile")
    env = service_env(
        broker_url,
        root / "blobs",
        VFER_QUEUE=f"nobody-{uuid.uuid4().hex[:8]}",
        VFER_MAX_QUEUE=str(MAX_QUEUE),
        VFER_UPLOAD_IDLE_TIMEOUT_S="1",
        VFER_MAX_UPLOAD_BYTES="1000000",
    )
    with vfer_serve(env, root / "serve.log") as url:
        yield url


def _multipart(parts: list[tuple[str, bytes]], boundary: str = "b0undary") -> tuple[bytes, dict[str, str]]:
    body = b""
    for headers, content in parts:
        body += f"--{boundary}\r\n{headers}\r\n\r\n".encode() + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


FILE = 'Content-Disposition: form-data; name="file"; filename="clip.mp4"'


@pytest.mark.parametrize(
    "body",
    [
        b"garbage before the first boundary\r\n" + _multipart([(FILE, b"x")])[0],
        _multipart([("Content-Disposition form-data no colon", b"x")])[0],
        _multipart([(FILE + "; " + "x" * 20_000, b"x")])[0],
        _multipart([('Content-Disposition: form-data; name="comment"', b"hello"), (FILE, SINGLE.read_bytes())])[0],
        # No closing boundary: the whole clip was taken (200), and half of it queued, then 415.
        _multipart([(FILE, SINGLE.read_bytes())])[0].removesuffix(b"\r\n--b0undary--\r\n"),
        _multipart([(FILE, SINGLE.read_bytes())])[0][: len(SINGLE.read_bytes()) // 2],
    ],
    ids=["garbage-first", "header-without-colon", "oversized-header", "unknown-part", "unclosed", "cut-in-half"],
)
def test_a_malformed_multipart_body_is_400_json(client: TestClient, data: Path, body: bytes) -> None:
    response = client.post("/predict", content=body, headers=_multipart([])[1])
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "malformed_upload"


def test_every_byte_of_the_body_counts_toward_the_limit(client: TestClient, data: Path) -> None:
    """A small file, then 5 MiB after the closing boundary (which a multipart parser skips), under a
    1 MB limit: refused, since the gateway reads every byte it is sent."""
    body, headers = _multipart([(FILE, SINGLE.read_bytes())])
    body += b"\x00" * 5 * 1024 * 1024
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))  # no Content-Length: streamed
    response = client.post("/predict", content=chunks, headers=headers)
    assert response.status_code == 413, response.text


def test_a_silent_upload_is_cut_after_the_idle_timeout(gateway: str) -> None:
    port = int(gateway.rsplit(":", 1)[1])
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: 500000\r\n\r\n\x00\x00\x00\x18ftypmp42"
        )
        answer = b""
        while b"}}" not in answer and (chunk := sock.recv(4096)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b'"upload_timeout"' in answer and time.monotonic() - started < 8


FRAMING = {
    "negative length": b"Content-Length: -5\r\n\r\n",
    "length that is no number": b"Content-Length: abc\r\n\r\n",
    "two lengths": b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
}


@pytest.mark.parametrize("case", FRAMING)
def test_a_request_the_http_server_cannot_frame_gets_its_documented_answer(gateway: str, case: str) -> None:
    """What docs/service.md says of requests uvicorn answers before the application sees them: 400 with
    its plain-text body, and the gateway goes on."""
    port = int(gateway.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n" + FRAMING[case])
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and body == UVICORN_FRAMING_ANSWER.encode(), answer
    assert UVICORN_FRAMING_ANSWER in (Path(__file__).parents[2] / "docs" / "service.md").read_text()
    assert httpx.get(f"{gateway}/healthz", timeout=10).status_code == 200


UVICORN_FRAMING_ANSWER = "Invalid HTTP request received."


def test_a_burst_never_overshoots_the_queue_limit(gateway: str, data: Path) -> None:
    clip = SINGLE.read_bytes()

    def send(_: int) -> int:
        return httpx.post(f"{gateway}/predict?wait=0", content=clip, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=25) as pool:
        codes = list(pool.map(send, range(50)))
    assert codes.count(202) == MAX_QUEUE and codes.count(429) == 50 - MAX_QUEUE, codes


def test_unknown_routes_and_methods_answer_in_the_error_shape(client: TestClient) -> None:
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = client.put("/predict")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_made_up_methods_do_not_grow_the_metrics(client: TestClient) -> None:
    def lines_after(methods: range) -> int:
        for i in methods:
            client.request(f"BREW{i}", "/predict")
        return len(client.get("/metrics").text.splitlines())

    client.get("/metrics")  # its own series appear from its second read on
    first = lines_after(range(5))
    assert lines_after(range(5, 300)) == first, "295 more made-up methods added series"
    assert "BREW" not in client.get("/metrics").text


def test_a_job_belongs_to_the_key_that_made_it(settings: Settings, worker, data: Path) -> None:  # type: ignore[no-untyped-def]
    keyed = settings.model_copy(update={"api_keys": ["key-one", "key-two"]})
    with TestClient(create_app(keyed)) as client:
        one, two = {"X-API-Key": "key-one"}, {"X-API-Key": "key-two"}
        job = client.post("/predict?wait=0", headers=one, content=SINGLE.read_bytes()).json()
        assert client.get(job["status_url"], headers=one).status_code == 200
        assert client.get(job["status_url"], headers=two).status_code == 404, "another key sees no such job"
        assert client.delete(job["status_url"], headers=two).status_code == 404
        assert client.get("/metrics").status_code == 401, "metrics need a key too"
        assert client.get("/metrics", headers=two).status_code == 200


def test_a_model_is_a_name_never_a_path(client: TestClient, data: Path) -> None:
    for name in ("../../etc/passwd", "/srv/models/x.pt", "x" * 100):
        response = client.post(f"/predict?model={name}", content=SINGLE.read_bytes())
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_parameters"
    unknown = client.post("/predict?model=no_such_model", content=SINGLE.read_bytes())
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "model_not_found"


def test_the_openapi_document_lists_every_status_and_the_key(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    predict = spec["paths"]["/predict"]["post"]
    assert {"200", "202", "400", "401", "408", "413", "415", "422", "429", "503"} <= set(predict["responses"])
    assert predict["responses"]["429"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert predict["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith("/JobBody")
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"


BAD_SETTINGS = [
    ("VFER_MAX_QUEUE", "abc"),
    ("VFER_BROKER_URL", "http://x"),
    ("VFER_BLOB_URL", "ftp://bucket"),
    ("VFER_BROKER_URL", "redis://:S3cretPW@127.0.0.1:99999/0"),  # served, then a 70-line traceback
    ("VFER_BROKER_URL", "redis://:S3c/retPW@127.0.0.1:6379/0"),  # the traceback showed "S3c"
    ("VFER_RESULT_BACKEND", "redis://127.0.0.1:6379/zero"),
]


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [("serve", *bad) for bad in BAD_SETTINGS]
    + [("worker", *bad) for bad in BAD_SETTINGS if bad[0] != "VFER_MAX_QUEUE"],
)
def test_bad_settings_stop_serve_and_worker_with_one_line_and_no_secret(
    tmp_path: Path, command: str, variable: str, value: str
) -> None:
    env = service_env(None, tmp_path / "blobs", **{variable: value})
    if command == "worker" and variable != "VFER_BROKER_URL":
        env["VFER_BROKER_URL"] = "redis://127.0.0.1:6379/0"
    argv = ["serve", "--port", str(free_port())] if command == "serve" else ["worker"]
    run = subprocess.run([sys.executable, "-m", "vfer.cli", *argv], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"vfer: error: {variable}: ") and "Traceback" not in run.stderr
    assert "S3c" not in run.stderr + run.stdout and "serving on" not in run.stdout


def test_a_password_in_the_brokers_query_is_never_printed(tmp_path: Path) -> None:
    """`?password=` in VFER_BROKER_URL was printed whole in the start-up line."""
    env = service_env("redis://127.0.0.1:6379/0?password=hunter2", tmp_path / "blobs")
    with subprocess.Popen(
        [sys.executable, "-m", "vfer.cli", "serve", "--port", str(free_port())],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    ) as server:  # fmt: skip
        try:
            assert server.stdout is not None
            first = server.stdout.readline()
        finally:
            server.kill()
            rest = server.communicate(timeout=30)[0]
    assert "serving on" in first and "password=***" in first
    assert "hunter2" not in first + rest
