"""The PyTorch port of face-api.js's FaceExpressionNet against the JavaScript library's own
outputs (tests/fixtures/faceapi_expression_js.json, recorded by scripts/record_faceapi_reference.py
with TF.js's CPU backend): same inputs, same probabilities to 1e-4."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from vfer.face.crops import pad_to_square, tf_resize_bilinear
from vfer.labels import LABELS
from vfer.models import create_model

CONVERTER = Path(__file__).resolve().parents[1] / "scripts" / "convert_faceapi_expression.py"
FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "faceapi_expression_js.json").read_text())
FACEAPI_NAMES = {"neutral": "neutral", "happy": "happy", "sad": "sad", "anger": "angry", "fear": "fearful",
                 "disgust": "disgusted", "surprise": "surprised"}  # fmt: skip


def _image(case: dict[str, Any], data: Path) -> np.ndarray:
    """The RGB image the JavaScript library was given (it pads and resizes it itself)."""
    if case["kind"] == "constant":
        return np.full((case["height"], case["width"], 3), case["value"], np.uint8)
    if case["kind"] == "noise":
        return np.random.default_rng(case["seed"]).integers(0, 256, (case["height"], case["width"], 3), dtype=np.uint8)
    x0, y0, x1, y1 = case["box"]
    return cv2.imread(str(data / "faces" / case["path"]))[max(0, y0) : y1, max(0, x0) : x1, ::-1]


def _converter() -> Any:
    spec = importlib.util.spec_from_file_location("convert_faceapi_expression", CONVERTER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ported(data: Path) -> dict[str, torch.Tensor]:
    """The TF.js weights as scripts/convert_faceapi_expression.py converts them."""
    convert = _converter()
    return dict(convert.state_dict(convert.read_weight_map(data / "models" / "faceapi_expression")))


@pytest.fixture(scope="module")
def frame_model(ported: dict[str, torch.Tensor]) -> torch.nn.Module:
    """The shipped net with the port's own last layer: training refitted (and calibrated) that
    layer alone, so everything else is checked as it ships."""
    model = create_model("faceapi_expression", pretrained=True).frame_model.eval()
    model.fc.load_state_dict({"weight": ported["fc.weight"], "bias": ported["fc.bias"]})
    return model


def test_the_shipped_net_is_the_port_but_for_its_last_layer(ported: dict[str, torch.Tensor]) -> None:
    shipped = create_model("faceapi_expression", pretrained=True).frame_model.state_dict()
    assert shipped.keys() == ported.keys()
    for name, weight in ported.items():
        same = torch.equal(shipped[name], weight)
        assert same != name.startswith("fc."), f"{name}: {'unchanged' if same else 'changed'}"


@pytest.mark.parametrize("case", FIXTURE["cases"], ids=[c["name"] for c in FIXTURE["cases"]])
def test_the_port_matches_the_javascript_library(
    frame_model: torch.nn.Module, data: Path, case: dict[str, Any]
) -> None:
    crop = tf_resize_bilinear(pad_to_square(_image(case, data)), 112)  # (112, 112, 3) 0-255
    with torch.no_grad():
        x = torch.from_numpy(crop / 255.0).permute(2, 0, 1)[None].float()
        probs = torch.softmax(frame_model(x), dim=1)[0].numpy()
    expected = [case["expressions"][FACEAPI_NAMES[label]] for label in LABELS]
    np.testing.assert_allclose(probs, expected, atol=1e-4)


def test_padding_puts_the_odd_pixel_after() -> None:
    padded = pad_to_square(np.ones((3, 6, 1), np.uint8))
    assert padded.shape == (6, 6, 1) and padded[:, 0].sum() == 3
    assert [int(padded[row].any()) for row in range(6)] == [0, 1, 1, 1, 0, 0]


@pytest.mark.parametrize(("height", "width", "size"), [(37, 29, 11), (13, 17, 40)])
def test_resize_is_tensorflows_bilinear_pixel_by_pixel(height: int, width: int, size: int) -> None:
    """The separable resize against TF's formula written out for each output pixel (down and up)."""
    image = np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8).astype(np.float64)
    expected = np.zeros((size, size, 3))
    for row in range(size):
        y = row * height / size
        y0, fy = int(y), y - int(y)
        y1 = min(y0 + 1, height - 1)
        for col in range(size):
            x = col * width / size
            x0, fx = int(x), x - int(x)
            x1 = min(x0 + 1, width - 1)
            top = image[y0, x0] + (image[y0, x1] - image[y0, x0]) * fx
            bottom = image[y1, x0] + (image[y1, x1] - image[y1, x0]) * fx
            expected[row, col] = top + (bottom - top) * fy
    np.testing.assert_allclose(tf_resize_bilinear(image.astype(np.uint8), size), expected, rtol=0, atol=1e-4)
