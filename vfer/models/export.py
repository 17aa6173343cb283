"""Export a clip model to ONNX (dynamic batch) or TorchScript.

An exported ONNX file is one self-contained file that carries the checkpoint's metadata (labels,
input, preprocessing, provenance) under the `vfer.meta` key, so `vfer predict --model m.onnx`
needs nothing beside it. A frame model averaged over the clip (`FrameAveraged`) is exported with
a dynamic number of frames too and marked `vfer.frame_mean`: a one-frame clip's output is then
that frame's distribution, and a runtime can classify each distinct frame of overlapping windows
once. A model with a per-frame branch (`TwoBranch`) may be exported for the runtime with
`distinct_frames`: inputs `frames` (U, 1, H, W), each distinct frame once, and `where` (B, T),
the frame each clip shows at each step, marked `vfer.distinct_frames`; the runtime passes each
frame of overlapping windows through that branch once. `vfer export` writes the plain `clips`
interface, which other tools expect.
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
from vfer.models.two_branch import TwoBranch

MAX_BATCH = 4096
META_KEY = "vfer.meta"
FRAME_MEAN_KEY = "vfer.frame_mean"
DISTINCT_FRAMES_KEY = "vfer.distinct_frames"


class _DistinctFrames(nn.Module):
    """The clips interface's model called with distinct frames and where each clip's frames are."""

    def __init__(self, model: TwoBranch) -> None:
        super().__init__()
        self.model = model

    def forward(self, frames: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        return self.model.forward_distinct(frames, where)


def export_onnx(model: nn.Module, path: Path, meta: CheckpointMeta, *, distinct_frames: bool = False) -> Path:
    """Write `model` as ONNX with input `clips` (B, C, T, H, W), the shape `meta` declares, and
    output `logits` (B, 7), and `meta` in the file's metadata. `distinct_frames` (a `TwoBranch`
    only): inputs `frames` and `where` instead of `clips`, for vfer's own runtime."""
    example: tuple[torch.Tensor, ...] = (torch.rand(2, *meta.input["shape"]),)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    frame_mean = isinstance(model, FrameAveraged)
    frames = torch.export.Dim("frames", min=1, max=MAX_BATCH)
    dynamic: tuple[dict[int, Any], ...] = ({0: batch, 2: frames} if frame_mean else {0: batch},)
    names = ["clips"]
    if distinct_frames:
        assert isinstance(model, TwoBranch), f"{type(model).__name__} has no per-frame branch to share"
        channels, steps, height, width = meta.input["shape"]
        where = torch.arange(2 * steps).reshape(2, steps) % (steps + 2)  # two windows sharing frames
        example = (torch.rand(steps + 2, channels, height, width), where)
        dynamic, names = ({0: frames}, {0: batch}), ["frames", "where"]
        model = _DistinctFrames(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    quiet = io.StringIO()
    for chatty in ("torch.onnx", "onnxscript", "onnx_ir"):  # their optimiser logs every rewrite at INFO
        logging.getLogger(chatty).setLevel(logging.ERROR)
    with contextlib.redirect_stdout(quiet), torch.no_grad():
        torch.onnx.export(
            model.eval(),
            example,
            str(path),
            input_names=names,
            output_names=["logits"],
            dynamo=True,
            dynamic_shapes=dynamic,
            verbose=False,
            external_data=False,  # one self-contained file: it may be renamed, moved and shipped
        )
    _write_meta(path, meta, frame_mean=frame_mean, distinct_frames=distinct_frames)
    return path


def export_runtime_onnx(model: nn.Module, path: Path, meta: CheckpointMeta) -> Path:
    """The graph vfer's own runtime reads (shipped beside the weights, or cached for a checkpoint):
    a two-branch model's takes distinct frames, every other model's its clips."""
    return export_onnx(model, path, meta, distinct_frames=isinstance(model, TwoBranch))


def _write_meta(path: Path, meta: CheckpointMeta, *, frame_mean: bool, distinct_frames: bool) -> None:
    import onnx

    graph = onnx.load(str(path))
    del graph.metadata_props[:]
    for key, value in {
        META_KEY: json.dumps(asdict(meta)),
        "labels": ",".join(meta.labels),  # for tools that know nothing of vfer (Netron, onnxruntime)
        "input": json.dumps(meta.input),
        **({FRAME_MEAN_KEY: "1"} if frame_mean else {}),
        **({DISTINCT_FRAMES_KEY: "1"} if distinct_frames else {}),
    }.items():
        graph.metadata_props.add(key=key, value=value)
    inputs = "frames (U, C, H, W) in [0, 1], where (B, T)" if distinct_frames else "clips (B, C, T, H, W) in [0, 1]"
    graph.doc_string = f"vfer {meta.model} {meta.version}: {inputs} -> logits (B, 7)"
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
