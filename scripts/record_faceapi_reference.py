"""Record face-api.js's own outputs on fixed inputs, the fixture the PyTorch port must match.

    npm install --prefix /tmp/faceapi-js @vladmandic/face-api@1.7.15 \\
        @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0
    NODE_PATH=/tmp/faceapi-js/node_modules python scripts/record_faceapi_reference.py

Inputs: a flat gray square, random noise in odd and wide shapes (padding and resizing on every
path) and real faces: London photos (CC BY 4.0) cut at dlib's face box. The JavaScript library
pads and resizes each input itself; tests/test_faceapi_port.py rebuilds the same inputs.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vfer.data.photos import read_photo
from vfer.face.tracking import FaceModels

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MODEL_DIR = DATA / "models" / "faceapi_expression"
OUT = ROOT / "tests" / "fixtures" / "faceapi_expression_js.json"
NOISE = {"noise-130x91": (0, 130, 91), "noise-60x150": (1, 60, 150)}
PHOTOS = ["london/smiling/001.jpg", "london/neutral/001.jpg", "london/smiling/014.jpg", "london/neutral/027.jpg"]


def inputs() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = [{"name": "gray-112", "kind": "constant", "value": 128, "height": 112, "width": 112}]
    for name, (seed, height, width) in NOISE.items():
        cases.append({"name": name, "kind": "noise", "seed": seed, "height": height, "width": width})
    detector = FaceModels.load().detector
    for photo in PHOTOS:
        gray = np.asarray(cv2.imread(str(DATA / "faces" / photo), cv2.IMREAD_GRAYSCALE), np.uint8)
        [box] = detector.detect(gray)
        x0, y0, x1, y1 = (round(v) for v in (box.x0, box.y0, box.x1, box.y1))
        cases.append({"name": photo, "kind": "photo", "path": photo, "box": [x0, y0, x1, y1]})
    return cases


def image(case: dict[str, Any], data: Path = DATA) -> np.ndarray:
    """The RGB uint8 image of a case, as given to face-api (which pads and resizes it)."""
    if case["kind"] == "constant":
        return np.full((case["height"], case["width"], 3), case["value"], np.uint8)
    if case["kind"] == "noise":
        rng = np.random.default_rng(case["seed"])
        return rng.integers(0, 256, (case["height"], case["width"], 3), dtype=np.uint8)
    rgb = read_photo(data / "faces" / case["path"])[:, :, ::-1]
    x0, y0, x1, y1 = case["box"]
    return np.ascontiguousarray(rgb[max(0, y0) : y1, max(0, x0) : x1])


def main() -> None:
    cases = inputs()
    with tempfile.TemporaryDirectory() as tmp:
        listing = []
        for i, case in enumerate(cases):
            pixels = image(case)
            path = Path(tmp) / f"{i}.rgb"
            path.write_bytes(pixels.tobytes())
            listing.append(
                {"name": case["name"], "height": pixels.shape[0], "width": pixels.shape[1], "file": str(path)}
            )
        (Path(tmp) / "cases.json").write_text(json.dumps(listing))
        run = subprocess.run(
            ["node", str(ROOT / "scripts" / "faceapi_reference.js"), str(MODEL_DIR), str(Path(tmp) / "cases.json")],
            capture_output=True,
            text=True,
            check=True,
        )
    reference = json.loads(run.stdout)
    for case, result in zip(cases, reference.pop("cases"), strict=True):
        case["expressions"] = result["expressions"]
    OUT.write_text(json.dumps({**reference, "cases": cases}, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
