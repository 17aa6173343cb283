#!/usr/bin/env bash
# Regenerate the Python gRPC stubs from proto/ with a pinned grpcio-tools. Never edit the output
# by hand; CI fails when the committed stubs differ from what this script writes.
#   scripts/gen_proto.sh [OUT_DIR]      (default: the repository root, i.e. ./vfer_rpc)
set -euo pipefail
GRPCIO_TOOLS_VERSION=1.85.1
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root}"
python="${PYTHON:-python3}"
if ! "$python" -c "import grpc_tools, importlib.metadata as m; assert m.version('grpcio-tools') == '$GRPCIO_TOOLS_VERSION'" 2>/dev/null; then
  echo "gen_proto: needs grpcio-tools==$GRPCIO_TOOLS_VERSION (pip install grpcio-tools==$GRPCIO_TOOLS_VERSION)" >&2
  exit 1
fi
mkdir -p "$out"
"$python" -m grpc_tools.protoc -I "$root/proto" --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
  "$root/proto/vfer_rpc/v1/expression.proto"
touch "$out/vfer_rpc/__init__.py" "$out/vfer_rpc/v1/__init__.py"
