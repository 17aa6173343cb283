"""Port face-api.js's FaceExpressionNet (TF.js weight map) to a vfer checkpoint, with numpy only.

    python scripts/convert_faceapi_expression.py ../shared/data/models/faceapi_expression

The manifest lists each weight's name, shape and uint8 quantisation (value = q * scale + min) in
the order of the shard's bytes. TF.js stores conv kernels as (kh, kw, in, out), depthwise ones as
(kh, kw, in, 1) and the dense layer as (in, out); PyTorch wants (out, in, kh, kw), (in, 1, kh, kw)
and (out, in). The classes are reordered from face-api's order to vfer's.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import torch

from vfer.labels import LABELS
from vfer.models.catalogue import WEIGHTS_DIR
from vfer.models.checkpoint import CheckpointMeta, save_checkpoint
from vfer.models.faceapi_expression import INPUT_SIZE, FaceExpressionNet
from vfer.models.mini_xception import FrameAveraged

FACEAPI_ORDER = ("neutral", "happy", "sad", "anger", "fear", "disgust", "surprise")  # its neutral ... surprised
MANIFEST = "face_expression_model-weights_manifest.json"


def read_weight_map(folder: Path) -> dict[str, np.ndarray]:
    """Name -> float32 array, dequantised, from the manifest and its shard."""
    [group] = json.loads((folder / MANIFEST).read_text())
    data = b"".join((folder / path).read_bytes() for path in group["paths"])
    weights, offset = {}, 0
    for spec in group["weights"]:
        count = int(np.prod(spec["shape"]))
        quant = spec.get("quantization")
        if quant:
            values = np.frombuffer(data, np.uint8, count, offset).astype(np.float32) * quant["scale"] + quant["min"]
            offset += count
        else:
            values = np.frombuffer(data, np.float32, count, offset).copy()
            offset += count * 4
        weights[spec["name"]] = values.reshape(spec["shape"]).astype(np.float32)
    if offset != len(data):
        raise ValueError(f"the manifest covers {offset} of the shard's {len(data)} bytes")
    return weights


def state_dict(weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for block in range(4):
        for conv in range(4):
            tf_name, torch_name = f"dense{block}/conv{conv}", f"dense{block}.conv{conv}"
            if block == 0 and conv == 0:
                out[f"{torch_name}.conv.weight"] = torch.from_numpy(weights[f"{tf_name}/filters"].transpose(3, 2, 0, 1))
                out[f"{torch_name}.conv.bias"] = torch.from_numpy(weights[f"{tf_name}/bias"])
                continue
            depthwise = weights[f"{tf_name}/depthwise_filter"].transpose(2, 3, 0, 1)
            out[f"{torch_name}.depthwise.weight"] = torch.from_numpy(np.ascontiguousarray(depthwise))
            pointwise = weights[f"{tf_name}/pointwise_filter"].transpose(3, 2, 0, 1)
            out[f"{torch_name}.pointwise.weight"] = torch.from_numpy(np.ascontiguousarray(pointwise))
            out[f"{torch_name}.pointwise.bias"] = torch.from_numpy(weights[f"{tf_name}/bias"])
    order = [FACEAPI_ORDER.index(label) for label in LABELS]
    out["fc.weight"] = torch.from_numpy(np.ascontiguousarray(weights["fc/weights"].T[order]))
    out["fc.bias"] = torch.from_numpy(weights["fc/bias"][order])
    return {k: v.contiguous() for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the folder of the manifest, the shard and LICENSE")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR / "faceapi_expression")
    args = parser.parse_args()
    net = FaceExpressionNet()
    net.load_state_dict(state_dict(read_weight_map(args.folder)))
    meta = CheckpointMeta(
        model="faceapi_expression",
        input={"shape": [3, 8, INPUT_SIZE, INPUT_SIZE], "layout": "C,T,H,W", "dtype": "float32", "range": [0, 1]},
        preprocessing={
            "crop": "box",
            "size": INPUT_SIZE,
            "color": "rgb",
            "align": "none: the face box zero-padded to a centred square, TF bilinear resize",
            "gamma": None,
        },
        version="1.7.15",
        provenance={
            "source": "npm @vladmandic/face-api 1.7.15, model/face_expression_model (MIT)",
            "converted_by": "scripts/convert_faceapi_expression.py",
        },
    )
    save_checkpoint(FrameAveraged(net), args.out, meta)
    shutil.copy(args.folder / "LICENSE", args.out.parent / "LICENSE.faceapi")
    print(f"wrote {args.out}.pt/.json and LICENSE.faceapi")


if __name__ == "__main__":
    main()
