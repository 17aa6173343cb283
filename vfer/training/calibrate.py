"""Post-hoc calibration by one temperature, folded into the model's last layer: the shipped
weights (and their ONNX graphs) give calibrated distributions with nothing to apply at run time.

A frame model averaged over the clip is calibrated per frame (the temperature divides each
frame's logits before the mean), a clip model on its logits.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

TEMPERATURES = np.geomspace(0.25, 8, 121)
Logits = npt.NDArray[np.float32]  # (N, T', K): per frame (frame models) or T' = 1 (clip models)


def probabilities(logits: Logits, temperature: float = 1.0) -> npt.NDArray[np.float32]:
    """(N, T', K) logits -> (N, K): softmax at `temperature` per frame, frames averaged."""
    z = logits / temperature
    z = np.exp(z - z.max(-1, keepdims=True))
    return (z / z.sum(-1, keepdims=True)).mean(1)


def as_logits(probs: npt.NDArray[np.float32]) -> Logits:
    """(N, K) distributions -> (N, 1, K) logits: log p is the logits less a constant per row."""
    return np.log(np.clip(probs, 1e-12, None)).astype(np.float32)[:, None]


def fit_temperature(logits: Logits, labels: npt.NDArray[np.int64]) -> float:
    """The temperature of TEMPERATURES that minimises the negative log-likelihood of `labels`."""
    rows = np.arange(len(labels))
    nll = [-np.log(probabilities(logits, t)[rows, labels] + 1e-12).mean() for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(nll))])


def last_layer(model: nn.Module) -> nn.Linear | nn.Conv2d:
    """Where a temperature is folded: a frame model's head (mini-Xception's conv, face-api's
    linear layer), or a clip model's `fc`."""
    frame_model = getattr(model, "frame_model", None)
    owner = frame_model if isinstance(frame_model, nn.Module) else model
    layer = getattr(owner, "head", None) or owner.fc
    assert isinstance(layer, nn.Linear | nn.Conv2d), f"no last layer to calibrate in {type(model).__name__}"
    return layer


def fold_temperature(model: nn.Module, temperature: float) -> None:
    """Divide the last layer's weights and bias by `temperature`: its logits become logits / T."""
    layer = last_layer(model)
    assert layer.bias is not None, "the logits' bias is scaled too"
    with torch.no_grad():
        layer.weight /= temperature
        layer.bias /= temperature


@torch.no_grad()
def frame_logits(model: nn.Module, clips: npt.NDArray[np.uint8], batch: int = 256) -> Logits:
    """A frame model's logits per frame, (N, T, K), on (N, T, S, S[, 3]) uint8 clips."""
    frame_model = model.frame_model
    assert isinstance(frame_model, nn.Module), "a frame model averaged over the clip"
    frame_model.eval()
    n, steps = clips.shape[:2]
    frames = clips.reshape(n * steps, *clips.shape[2:])
    out = []
    for start in range(0, len(frames), batch):
        x = torch.from_numpy(np.ascontiguousarray(frames[start : start + batch])).float() / 255.0
        x = x.permute(0, 3, 1, 2) if x.ndim == 4 else x.unsqueeze(1)  # (B, C, H, W)
        out.append(frame_model(x).numpy())
    return np.concatenate(out).reshape(n, steps, -1)


@torch.no_grad()
def clip_logits(model: nn.Module, clips: npt.NDArray[np.uint8], batch: int = 64) -> Logits:
    """A clip model's logits, (N, 1, K), on (N, T, 64, 64) uint8 clips."""
    model.eval()
    out = []
    for start in range(0, len(clips), batch):
        x = torch.from_numpy(np.ascontiguousarray(clips[start : start + batch])).float().unsqueeze(1) / 255.0
        out.append(model(x).numpy())  # (B, 1, T, H, W) -> (B, K)
    return np.concatenate(out)[:, None]
