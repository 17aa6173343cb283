"""Model latency per clip: batch 1 and 32, PyTorch eager vs ONNX Runtime, for every model.

python -m benchmarks.model [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.machine import describe
from vfer.inference import OnnxClassifier, TorchClassifier
from vfer.models import create_model, list_models
from vfer.models.checkpoint import CheckpointMeta, pretrained_path, read_meta
from vfer.models.export import export_onnx


def ms_per_clip(predict, clips, repeats: int) -> float:  # type: ignore[no-untyped-def]
    """Median milliseconds per clip of `predict(clips)` over `repeats` runs, after a warm-up."""
    predict(clips)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(clips)
        times.append((time.perf_counter() - start) * 1e3 / len(clips))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {describe()}, torch threads {torch.get_num_threads()}")
    print(f"{'model':<24} {'params':>8} {'batch':>6} {'torch ms/clip':>14} {'onnx ms/clip':>13} {'torch/onnx':>11}")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for entry in list_models():
            model = create_model(entry.name, pretrained=entry.pretrained is not None).eval()
            meta = (
                read_meta(pretrained_path(entry.pretrained)) if entry.pretrained else CheckpointMeta(model=entry.name)
            )
            channels, frames, height, width = meta.input["shape"]
            eager = TorchClassifier(model, meta, device=torch.device("cpu"))
            onnx = OnnxClassifier(export_onnx(model, Path(tmp) / f"{entry.name}.onnx", meta), meta)
            params = sum(p.numel() for p in model.parameters())
            for batch in (1, 32):
                shape = (batch, frames, height, width) + ((3,) if channels == 3 else ())
                clips = rng.integers(0, 256, shape, dtype=np.uint8)
                t = ms_per_clip(eager.predict_proba, clips, args.repeats)
                o = ms_per_clip(onnx.predict_proba, clips, args.repeats)
                print(f"{entry.name:<24} {params:>8,} {batch:>6} {t:>14.2f} {o:>13.2f} {t / o:>10.2f}x")


if __name__ == "__main__":
    main()
