#!/usr/bin/env bash
# Configures and builds strand into ./build (Release). Extra arguments go to CMake's configure step,
# e.g. -DSTRAND_CUDA=OFF or -DCMAKE_CUDA_ARCHITECTURES=90a.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j "$(nproc)"
