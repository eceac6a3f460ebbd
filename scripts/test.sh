#!/usr/bin/env bash
# The test command: installs what is missing, builds everything (CUDA code included when nvcc is
# present), and runs every test. GPU tests skip themselves where no device exists.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh "$@"
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 900
