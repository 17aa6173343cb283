"""Model windows per second on one device: the default and both video models, at batch 1, 16, 64
and 256, PyTorch eager in fp32 and under bf16/fp16 autocast, and ONNX Runtime's CUDA provider
where it is installed. Torch and numpy only (ONNX Runtime optional), so it runs on a GPU machine
that has nothing of the service installed.

python -m benchmarks.gpu_models [--device cuda|cpu] [--seconds 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.machine import describe
from vfer.models import DEFAULT_MODEL, load_checkpoint, model_entry
from vfer.models.checkpoint import pretrained_path
from vfer.models.export import export_onnx

MODELS = (DEFAULT_MODEL, "c3d_convlstm", "c3d_convlstm_fer")
BATCHES = (1, 16, 64, 256)


def windows_per_second(run: Callable[[], object], batch: int, device: torch.device, seconds: float) -> float:
    """Windows a second of `run()` (one batch), timed over about `seconds` after a warm-up."""
    for _ in range(3):
        run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or done < 3:
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        done += 1
    return done * batch / elapsed


def eager(model: torch.nn.Module, x: torch.Tensor, dtype: torch.dtype | None) -> Callable[[], object]:
    def run() -> object:
        autocast = (
            torch.autocast(device_type=x.device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            return model(x)

    return run


def has_onnx_cuda() -> bool:
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    return "CUDAExecutionProvider" in ort.get_available_providers()


def onnx_cuda(path: Path, x: np.ndarray) -> Callable[[], object]:
    """An ONNX Runtime session on the CUDA provider."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CUDAExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda: session.run(None, {name: x})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds per figure")
    parser.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    ort_cuda = device.type == "cuda" and has_onnx_cuda()
    print(f"machine: {describe()}; device {device}; ONNX Runtime CUDA provider: {ort_cuda}")
    modes: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16}
    if device.type == "cuda":
        modes["fp16"] = torch.float16
    rows: list[dict[str, Any]] = []
    print(f"{'model':<24} {'batch':>5} " + " ".join(f"{m:>10}" for m in (*modes, "onnx-cuda")) + "   (windows/s)")
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            stem = model_entry(name).pretrained
            assert stem is not None, f"{name} ships no weights"
            model, meta = load_checkpoint(pretrained_path(stem))
            channels, frames, height, width = meta.input["shape"]
            graph = export_onnx(model, Path(tmp) / f"{name}.onnx", meta) if ort_cuda else None
            model.to(device)
            for batch in args.batches:
                x = torch.rand(batch, channels, frames, height, width, device=device)  # (B, C, T, H, W)
                row: dict[str, Any] = {"model": name, "batch": batch}
                for mode, dtype in modes.items():
                    row[mode] = windows_per_second(eager(model, x, dtype), batch, device, args.seconds)
                row["onnx-cuda"] = (
                    windows_per_second(onnx_cuda(graph, x.cpu().numpy()), batch, device, args.seconds)
                    if graph is not None
                    else None
                )
                rows.append(row)
                cells = [f"{row[m]:>10.0f}" if row[m] is not None else f"{'-':>10}" for m in (*modes, "onnx-cuda")]
                print(f"{name:<24} {batch:>5} " + " ".join(cells), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"machine": describe(), "device": str(device), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
