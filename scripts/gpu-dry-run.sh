#!/usr/bin/env bash
# CI's check of the GPU bundle on a machine without a GPU (a ctest entry, gpu_bundle_dry_run):
# packs BUILD_DIR (as built, for CI's architectures) with scripts/gpu-bundle.sh, then runs
# scripts/gpu-run.sh --dry-run against a folder shaped like PyTorch's nvidia-* wheels
# (site-packages/nvidia/{cu13,cudnn,nccl}/lib) whose files link to this machine's CUDA toolkit.
# Fails when the bundle is too large, a packed program needs a library that is neither packed nor
# CUDA's, a CUDA library would come from anywhere but the wheel folders, or a test or benchmark
# selection of gpu-run.sh no longer selects anything.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
toolkit=${CUDA_LIB_DIR:-/usr/local/cuda/lib64}
tmp=$(mktemp -d /tmp/strand-dry-run.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)

bash scripts/gpu-bundle.sh --build-dir "$build_dir" --no-build --out "$tmp/bundle" --xz-level 0

# The wheel layout: cuDNN and NCCL in their own packages, the rest of CUDA 13 under cu13/.
mkdir -p "$tmp/site/nvidia/cudnn/lib" "$tmp/site/nvidia/nccl/lib" "$tmp/site/nvidia/cu13/lib"
for f in "$toolkit"/lib*.so.*; do
  name=$(basename "$f")
  case $name in
    libcudnn*) dir=cudnn ;;
    libnccl*) dir=nccl ;;
    *) dir=cu13 ;;
  esac
  ln -s "$(readlink -f "$f")" "$tmp/site/nvidia/$dir/lib/$name"
done

OUT=$tmp/out bash scripts/gpu-run.sh --dry-run --bundle "$tmp/bundle" --wheels "$tmp/site/nvidia"
echo "gpu-dry-run: passed in $(($(date +%s) - start)) s"
