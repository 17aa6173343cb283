"""The API keeps its OpenAPI contract under generated requests (schemathesis, bounded).

A real `vfer serve` beside the module's real worker and Redis. Every other upload that the
generator makes for a valid request is swapped for a real clip, so generated options reach the prediction path
instead of stopping at "not a video". Checked: no 5xx, every status, body and content type as
documented."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS, load_all_checks, negative_data_rejection, positive_data_acceptance

from service.gateway_settings import Settings
from tests.media import VIDEO
from tests.service.helpers import Worker, service_env, vfer_serve

CLIP = VIDEO / "single_face.mp4"
CONFIG = Path(__file__).with_name("schemathesis.toml")
_REAL_UPLOAD = itertools.cycle((True, False))
KEY = "fuzz-key"  # with keys configured, a request without the right one must be refused
load_all_checks()
ALL_CHECKS = list(CHECKS.get_all())  # `--checks all`: every built-in check, not only the default ones


@pytest.fixture(scope="module")
def served(settings: Settings, worker: Worker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = service_env(
        settings.broker_url,
        settings.blob_dir,
        VFER_QUEUE=settings.queue,
        VFER_MAX_UPLOAD_BYTES="1000000",
        VFER_MAX_WAIT_S="20",
        VFER_API_KEYS=KEY,
    )
    with vfer_serve(env, tmp_path_factory.mktemp("fuzz") / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def api(served: str) -> Any:
    schema = schemathesis.openapi.from_url(f"{served}/openapi.json")
    schema.config.update(base_url=served)
    return schema


def test_schemathesis_runs_every_check_clean(served: str) -> None:
    """`st run` with every check, its three phases and the exceptions of schemathesis.toml (each
    said why) finds nothing: the 503 of /readyz, the JSON 401 of /metrics and the Allow header of
    a 405 (OPTIONS /jobs/{id} named GET alone) were each a finding before."""
    run = subprocess.run(
        [str(Path(sys.executable).with_name("st")), "--config-file", str(CONFIG), "run", f"{served}/openapi.json",
         "-H", f"X-API-Key: {KEY}", "--max-examples", "15", "--phases", "examples,coverage,fuzzing", "--no-color"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "passed" in run.stdout


def test_the_schema_documents_every_status_the_routes_send(api: Any) -> None:
    paths = api.raw_schema["paths"]
    assert "503" in paths["/readyz"]["get"]["responses"]
    assert "application/json" in paths["/metrics"]["get"]["responses"]["401"]["content"]


def test_the_api_keeps_its_contract(api: Any, data: Path) -> None:
    """Each operation, 25 generated requests (Hypothesis drives schemathesis' strategies here:
    its pytest plugin does not run on this pytest)."""
    operations = [result.ok() for result in api.get_all_operations()]
    predictions: list[int] = []
    assert {op.path for op in operations} >= {"/predict", "/jobs/{job_id}", "/healthz", "/readyz", "/metrics"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: Any) -> None:
            swapped = case.operation.path == "/predict" and next(_REAL_UPLOAD)
            if swapped:
                clip = CLIP.read_bytes()
                case.body = {"file": clip} if case.media_type == "multipart/form-data" else clip
            # Any bytes fit the schema's `binary`, but only a video is accepted: the positive-data
            # check cannot apply. A swapped body was made valid after generation: the
            # negative-data check would judge the request the generator meant, not the one sent.
            excluded = [positive_data_acceptance, *([negative_data_rejection] if swapped else [])]
            response = case.call_and_validate(headers={"X-API-Key": KEY}, checks=ALL_CHECKS, excluded_checks=excluded)
            if case.operation.path == "/predict":
                predictions.append(response.status_code)

        call()
    assert 200 in predictions, f"no generated upload reached a prediction: {sorted(set(predictions))}"
