"""Export every registered model's shipped weights to ONNX, beside them in vfer/models/weights/.

    python scripts/export_onnx.py [NAME ...]   # every model, or only those named

The ONNX graphs ship with the package, so ONNX Runtime (the default backend on a CPU) never
exports inside a request; tests/test_models.py checks each against its PyTorch model. Run this
again whenever shipped weights change.
"""

from __future__ import annotations

import argparse

from vfer.models import create_model, list_models
from vfer.models.checkpoint import pretrained_path, read_meta
from vfer.models.export import export_runtime_onnx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="registered models (default: every one with shipped weights)")
    args = parser.parse_args()
    shipped = {entry.name: entry.pretrained for entry in list_models() if entry.pretrained is not None}
    unknown = set(args.names) - set(shipped)
    if unknown:
        parser.error(f"no shipped weights for {sorted(unknown)}")
    for name, stem in shipped.items():
        if args.names and name not in args.names:
            continue
        checkpoint = pretrained_path(stem)
        target = checkpoint.with_suffix(".onnx")
        export_runtime_onnx(create_model(name, pretrained=True).eval(), target, read_meta(checkpoint))
        print(f"wrote {target} ({target.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
