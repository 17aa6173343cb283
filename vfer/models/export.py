"""Export a clip model to ONNX (dynamic batch) or TorchScript.

An exported ONNX file is one self-contained file that carries the checkpoint's metadata (labels,
input, preprocessing, provenance) under the `vfer.meta` key, so `vfer predict --model m.onnx`
needs nothing beside it. A frame model averaged over the clip (`FrameAveraged`) is exported with
a dynamic number of frames too and marked `vfer.frame_mean`: a one-frame clip's output is then
that frame's distribution, and a runtime can classify each distinct frame of overlapping windows
once.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vfer.errors import ModelNotFoundError
from vfer.models.checkpoint import CheckpointMeta
from vfer.models.mini_xception import FrameAveraged

MAX_BATCH = 4096
META_KEY = "vfer.meta"
FRAME_MEAN_KEY = "vfer.frame_mean"


def export_onnx(model: nn.Module, path: Path, meta: CheckpointMeta) -> Path:
    """Write `model` as ONNX with input `clips` (B, C, T, H, W), the shape `meta` declares, and
    output `logits` (B, 7), and `meta` in the file's metadata."""
    example = torch.rand(2, *meta.input["shape"])
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    frame_mean = isinstance(model, FrameAveraged)
    dynamic: dict[int, Any] = (
        {0: batch, 2: torch.export.Dim("frames", min=1, max=MAX_BATCH)} if frame_mean else {0: batch}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    quiet = io.StringIO()
    for chatty in ("torch.onnx", "onnxscript", "onnx_ir"):  # their optimiser logs every rewrite at INFO
        logging.getLogger(chatty).setLevel(logging.ERROR)
    with contextlib.redirect_stdout(quiet), torch.no_grad():
        torch.onnx.export(
            model.eval(),
            (example,),
            str(path),
            input_names=["clips"],
            output_names=["logits"],
            dynamo=True,
            dynamic_shapes=(dynamic,),
            verbose=False,
            external_data=False,  # one self-contained file: it may be renamed, moved and shipped
        )
    _write_meta(path, meta, frame_mean=frame_mean)
    return path


def _write_meta(path: Path, meta: CheckpointMeta, *, frame_mean: bool) -> None:
    import onnx

    graph = onnx.load(str(path))
    del graph.metadata_props[:]
    for key, value in {
        META_KEY: json.dumps(asdict(meta)),
        "labels": ",".join(meta.labels),  # for tools that know nothing of vfer (Netron, onnxruntime)
        "input": json.dumps(meta.input),
        **({FRAME_MEAN_KEY: "1"} if frame_mean else {}),
    }.items():
        graph.metadata_props.add(key=key, value=value)
    graph.doc_string = f"vfer {meta.model} {meta.version}: clips (B, C, T, H, W) in [0, 1] -> logits (B, 7)"
    onnx.save(graph, str(path))


def read_onnx_meta(path: Path) -> CheckpointMeta:
    """The metadata `export_onnx` wrote into an ONNX file."""
    import onnx

    if not path.is_file():
        raise ModelNotFoundError(f"ONNX model {path} not found")
    try:
        graph = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and onnx's own errors for a damaged file
        raise ModelNotFoundError(f"{path} is not an ONNX model ({exc})") from exc
    props = {entry.key: entry.value for entry in graph.metadata_props}
    if META_KEY not in props:
        raise ModelNotFoundError(f"{path} has no vfer metadata (labels, input): export it with `vfer export`")
    return CheckpointMeta.from_dict(json.loads(props[META_KEY]))


def export_torchscript(model: nn.Module, path: Path, meta: CheckpointMeta) -> Path:
    """Write `model` traced to TorchScript, on an input of the shape `meta` declares."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        traced = torch.jit.trace(  # type: ignore[no-untyped-call]
            model.eval(), torch.rand(2, *meta.input["shape"])
        )
    traced.save(str(path))
    return path
