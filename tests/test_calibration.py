"""Calibration by a temperature folded into the last layer: the shipped model's own outputs are
the calibrated distributions, for clip models and for frame models averaged over the clip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vfer.models import create_model
from vfer.training.calibrate import (
    clip_logits,
    fit_temperature,
    fold_temperature,
    frame_logits,
    probabilities,
)


def test_the_fitted_temperature_is_the_one_that_made_the_labels() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (6000, 1, 7)).astype(np.float32)
    truth = probabilities(logits, 2.0)
    labels = np.array([rng.choice(7, p=p / p.sum()) for p in truth])
    assert fit_temperature(logits, labels) == pytest.approx(2.0, rel=0.1)


@pytest.mark.parametrize("name", ["c3d_convlstm", "c3d_convlstm_fer"])
def test_a_folded_temperature_divides_a_clip_models_logits(name: str) -> None:
    model = create_model(name).eval()
    clips = np.random.default_rng(1).integers(0, 256, (3, 8, 64, 64), dtype=np.uint8)
    before = clip_logits(model, clips)
    fold_temperature(model, 2.5)
    after = torch.softmax(torch.from_numpy(clip_logits(model, clips)[:, 0]), 1).numpy()
    np.testing.assert_allclose(after, probabilities(before, 2.5), atol=1e-5)


@pytest.mark.parametrize(
    ("name", "shape"), [("mini_xception_fer2013", (64, 64)), ("faceapi_expression", (112, 112, 3))]
)
def test_a_folded_temperature_divides_each_frames_logits_before_the_mean(name: str, shape: tuple[int, ...]) -> None:
    model = create_model(name, pretrained=True).eval()
    clips = np.random.default_rng(2).integers(0, 256, (2, 8, *shape), dtype=np.uint8)
    before = frame_logits(model, clips)
    fold_temperature(model, 0.7)
    x = torch.from_numpy(clips).float() / 255.0
    x = x.permute(0, 4, 1, 2, 3) if x.ndim == 5 else x.unsqueeze(1)  # (B, C, T, H, W)
    with torch.no_grad():
        after = torch.softmax(model(x), 1).numpy()  # softmax of the log of the frames' mean
    np.testing.assert_allclose(after, probabilities(before, 0.7), atol=1e-5)
