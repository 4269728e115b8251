#!/usr/bin/env bash
# Installs the CPU-usable libtorch that tch 0.26 links against into .libtorch/ (repo root).
#
# Why PyPI and not tch's `download-libtorch`: these machines reach only package indexes.
# Why only three wheels: libtorch_cpu.so needs just the CUDA runtime and CUPTI libraries, which it
# finds through the wheel's own RPATH ($ORIGIN/../../nvidia/cu13/lib); the rest of torch's CUDA
# stack (~2.6 GB) is only needed to actually run on a GPU (see docs: set ADSALES_LIBTORCH_FULL=1).
#
# Idempotent: a marker records the pinned set; a second run with the same pins is instant.
set -euo pipefail

TORCH_VERSION="2.13.0"          # tch 0.26 requires exactly this libtorch
CUDA_RUNTIME_VERSION="13.0.96"
CUPTI_VERSION="13.0.85"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${ADSALES_LIBTORCH_DIR:-$ROOT/.libtorch}"
MARKER="$DEST/.installed"
PINS="torch==$TORCH_VERSION nvidia-cuda-runtime==$CUDA_RUNTIME_VERSION nvidia-cuda-cupti==$CUPTI_VERSION full=${ADSALES_LIBTORCH_FULL:-0}"

usage() {
    cat <<MSG
libtorch $TORCH_VERSION is in $DEST/torch
Build with (the committed .cargo/config.toml already sets both for this checkout):
  export LIBTORCH=$DEST/torch LIBTORCH_CXX11_ABI=1
MSG
}

if [[ -f "$MARKER" && "$(cat "$MARKER")" == "$PINS" && -f "$DEST/torch/lib/libtorch_cpu.so" ]]; then
    usage
    exit 0
fi

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "setup-libtorch: python3 with pip is needed to fetch the torch wheel from PyPI" >&2
    exit 1
fi

echo "setup-libtorch: installing torch==$TORCH_VERSION into $DEST (≈530 MB download, 1.2 GB on disk)" >&2
TMP="$DEST.tmp.$$"
rm -rf "$TMP"
trap 'rm -rf "$TMP"' EXIT
if [[ "${ADSALES_LIBTORCH_FULL:-0}" == "1" ]]; then
    # GPU machines: torch's full dependency set (cuDNN, cuBLAS, ...).
    "$PYTHON" -m pip install --quiet --target "$TMP" "torch==$TORCH_VERSION"
else
    "$PYTHON" -m pip install --quiet --no-deps --target "$TMP" \
        "torch==$TORCH_VERSION" \
        "nvidia-cuda-runtime==$CUDA_RUNTIME_VERSION" \
        "nvidia-cuda-cupti==$CUPTI_VERSION"
fi

# Check before committing the install: every library libtorch_cpu.so needs must resolve.
if command -v ldd >/dev/null 2>&1; then
    missing="$(ldd "$TMP/torch/lib/libtorch_cpu.so" | grep 'not found' || true)"
    if [[ -n "$missing" ]]; then
        echo "setup-libtorch: libtorch_cpu.so has unresolved libraries:" >&2
        echo "$missing" >&2
        exit 1
    fi
fi

rm -rf "$DEST"
mv "$TMP" "$DEST"
trap - EXIT
echo "$PINS" > "$MARKER"
usage
