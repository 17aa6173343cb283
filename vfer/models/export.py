"""Export a clip model to ONNX (dynamic batch) or TorchScript."""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import torch
from torch import nn

MAX_BATCH = 4096


def export_onnx(model: nn.Module, path: Path, *, frames: int = 8, size: int = 64) -> Path:
    """Write `model` as ONNX with input `clips` (B, 1, T, H, W) and output `logits` (B, 7)."""
    example = torch.rand(2, 1, frames, size, size)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
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
            dynamic_shapes=({0: batch},),
            verbose=False,
            external_data=False,  # one self-contained file: it may be renamed, moved and shipped
        )
    return path


def export_torchscript(model: nn.Module, path: Path, *, frames: int = 8, size: int = 64) -> Path:
    """Write `model` traced to TorchScript."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        traced = torch.jit.trace(  # type: ignore[no-untyped-call]
            model.eval(), torch.rand(2, 1, frames, size, size)
        )
    traced.save(str(path))
    return path
