"""Export every registered model's shipped weights to ONNX, beside them in vfer/models/weights/.

    python scripts/export_onnx.py

The ONNX graphs ship with the package, so ONNX Runtime (the default backend on a CPU) never
exports inside a request; tests/test_models.py checks each against its PyTorch model. Run this
again whenever shipped weights change.
"""

from __future__ import annotations

from vfer.models import create_model, list_models
from vfer.models.checkpoint import pretrained_path, read_meta
from vfer.models.export import export_onnx


def main() -> None:
    for entry in list_models():
        if entry.pretrained is None:
            continue
        target = pretrained_path(entry.pretrained).with_suffix(".onnx")
        checkpoint = pretrained_path(entry.pretrained)
        export_onnx(create_model(entry.name, pretrained=True).eval(), target, read_meta(checkpoint))
        print(f"wrote {target} ({target.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
