#!/usr/bin/env bash
# Builds the strand wheel (the Python package with its nanobind extension and the strand
# libraries; CUDA too when nvcc is found) into ./dist with pip, which fetches scikit-build-core
# and nanobind into its isolated build environment. Extra arguments go to `pip wheel`, e.g.
# --config-settings=cmake.define.STRAND_CUDA=OFF. The wheel links the system libraries
# scripts/setup.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip wheel . --no-deps -w dist "$@"
ls -l dist/strand-*.whl
