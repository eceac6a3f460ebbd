#!/usr/bin/env bash
# Installs every Debian package strand's build, tests and benchmarks need; skips what is present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libopenblas-openmp-dev     # float64 GEMM, sharing OpenMP's thread pool
  libdnnl-dev                # oneDNN: fp32/bf16 GEMM and convolution (OpenMP build)
  libgtest-dev libgmock-dev  # tests
  libbenchmark-dev           # bench/
  libhts-dev zlib1g-dev      # FASTA/BED/bgzip
  libopenmpi-dev openmpi-bin # launch, CPU collectives
  liblinear-dev libxgboost-dev  # traditional baselines
  libcli11-dev libyaml-cpp-dev nlohmann-json3-dev
  iproute2                   # network-namespace tests
  libplplot-dev              # the HTML report's plots (SVG driver)
  chromium tidy              # report tests: a real headless browser and an HTML checker
  python3-numpy              # tests: strand's .npy/.npz files read by NumPy itself
  python3-dev python3-venv   # the Python package (python/): headers and its test venv
  patchelf xz-utils          # scripts/gpu-bundle.sh: run paths and the archive of the GPU bundle
  clang libclang-rt-14-dev libomp-dev  # scripts/sanitize.sh: ASan+UBSan build, libFuzzer harnesses
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

# Libraries that link the generic BLAS (liblinear) get the OpenMP OpenBLAS too, so one process
# never runs two BLAS thread pools.
for lib in libblas.so.3 liblapack.so.3; do
  target=/usr/lib/x86_64-linux-gnu/openblas-openmp/$lib
  if [ -e "$target" ] && update-alternatives --query "$lib-x86_64-linux-gnu" 2>/dev/null | grep -q "Value: $target"; then
    continue
  fi
  if [ -e "$target" ]; then
    update-alternatives --set "$lib-x86_64-linux-gnu" "$target" >/dev/null
  fi
done

# cuobjdump and nvdisasm for scripts/sass-check.py (ctest cuda_sass_check): the CUDA image here has
# nvcc but not these; PyPI's NVIDIA packages carry both.
tools=/opt/strand-tools
if [ ! -x "$tools/bin/python3" ] || ! compgen -G "$tools/lib/python3*/site-packages/nvidia/*/bin/nvdisasm" >/dev/null; then
  echo "setup: installing cuobjdump and nvdisasm into $tools"
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q nvidia-cuda-cuobjdump==13.5.37 nvidia-cuda-nvdisasm==13.5.37
fi

# CUTLASS/CuTe headers for the Hopper kernels (kernels/**/*_sm90a.cu: TMA, wgmma, mbarriers): the
# header-only C++ library ships inside PyPI's nvidia-cutlass wheel (BSD-3-Clause); pinned by hash.
cutlass=$tools/cutlass-4.2.0
if [ ! -f "$cutlass/include/cute/tensor.hpp" ]; then
  echo "setup: installing CUTLASS 4.2.0 headers into $cutlass"
  tmp=$(mktemp -d)
  "$tools/bin/pip" download -q --no-deps -d "$tmp" nvidia-cutlass==4.2.0.0
  wheel=$tmp/nvidia_cutlass-4.2.0.0-py3-none-any.whl
  echo "f9599ada45c7bcb6bf53f7d3f0a7d154183e53451c01bfa59eecd37dd4a693f6  $wheel" | sha256sum -c --quiet
  python3 -m zipfile -e "$wheel" "$tmp/x"
  mkdir -p "$cutlass"
  rm -rf "$cutlass/include"
  mv "$tmp/x/cutlass_library/source/include" "$cutlass/include"
  cp "$tmp/x/nvidia_cutlass-4.2.0.0.dist-info/licenses/LICENSE.txt" "$cutlass/"
  rm -rf "$tmp"
fi
