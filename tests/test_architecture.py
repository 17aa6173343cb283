"""The layering the project promises: a core without web/queue/RPC, a gateway without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def modules_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    return {name.split(".")[0] for name in run.stdout.split()}


def test_the_gateway_never_imports_torch_or_dlib() -> None:
    loaded = modules_after(
        "from service.app import create_app\nfrom service.gateway_settings import Settings\ncreate_app(Settings())"
    )
    assert "fastapi" in loaded and "celery" in loaded
    assert not loaded & {"torch", "dlib", "av", "cv2", "onnxruntime"}


@pytest.mark.parametrize("module", ["vfer.predict", "vfer.cli", "vfer.models", "vfer.pipeline"])
def test_the_core_imports_no_web_queue_or_rpc_library(module: str) -> None:
    loaded = modules_after(f"import {module}")
    assert not loaded & {"fastapi", "starlette", "celery", "kombu", "grpc", "redis", "uvicorn", "service", "worker"}


def test_models_load_lazily_not_at_import() -> None:
    loaded = modules_after("import worker.tasks")
    assert "torch" not in loaded and "dlib" not in loaded


def test_the_job_contract_and_the_stream_grid_load_nothing_heavy() -> None:
    loaded = modules_after(
        "import vfer_jobs.options, vfer_jobs.settings, vfer_jobs.blobs, vfer_jobs.celery_config, vfer_jobs.framepack\n"
        "import vfer.video.sampling, vfer.models\n"
        "from vfer.models import DEFAULT_MODEL"
    )
    assert "pydantic" in loaded
    assert not loaded & {"torch", "av", "dlib", "cv2", "numpy", "onnxruntime", "celery", "fastapi", "grpc"}


def test_the_core_and_the_runtime_contract_load_no_queue_library_and_only_the_broker_adapter_reads_kombu() -> None:
    """The core imported Celery through its result backend (vfer/jobs/results.py); that and every
    read of kombu's Redis layout are now the job runtime's broker adapter alone."""
    loaded = modules_after("import vfer.cli, vfer.training.rule, vfer_jobs.contract, vfer_jobs.settings")
    assert not loaded & {"celery", "kombu", "redis"}
    root = Path(__file__).resolve().parents[1]
    product = [
        p
        for package in ("vfer", "vfer_jobs", "vfer_client", "service", "worker")
        for p in (root / package).rglob("*.py")
    ]
    readers = [
        str(p.relative_to(root))
        for p in product
        if any(name in p.read_text() for name in ("unacked_key", "priority_steps", "task_keyprefix"))
    ]
    assert readers == ["vfer_jobs/broker.py"]


def test_no_module_imports_itself_back() -> None:
    """No import cycle between modules (two there were, each hidden in a function-level import:
    the registry and the checkpoints, the blob stores and their S3 one)."""
    import grimp

    graph = grimp.build_graph(
        "vfer", "vfer_jobs", "vfer_client", "service", "worker", include_external_packages=False,
        exclude_type_checking_imports=True,
    )  # fmt: skip
    cycles = [
        (module, imported)
        for module in sorted(graph.modules)
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.find_shortest_chain(importer=imported, imported=module)
    ]
    assert not cycles
