#!/usr/bin/env bash
# The test command: installs what is missing, builds everything (CUDA code included when nvcc is
# present; the Python package too), and runs every test. GPU tests skip themselves where no device
# exists. Then scripts/sanitize.sh: the sanitizer build, its test subset and the fuzz harnesses.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The Python package builds against, and its tests run under, a venv kept between runs: nanobind,
# NumPy, pytest, and PyTorch for the strand.torch tests: an existing install named by
# STRAND_TORCH_SITE (its site-packages folder), else its CPU wheel, else PyPI's. Without either
# those tests skip, saying so; a failed download is not retried until the venv is removed.
venv="${STRAND_PY_VENV:-$HOME/.cache/strand/python-venv}"
if ! "$venv/bin/python" -c "import nanobind, numpy, pytest" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q nanobind numpy pytest
fi
if [ -n "${STRAND_TORCH_SITE:-}" ]; then
  "$venv/bin/python" -c "import site, sys; open(site.getsitepackages()[0] + '/strand-torch.pth', 'w').write(sys.argv[1] + '\\n')" "$STRAND_TORCH_SITE"
fi
if ! "$venv/bin/python" -c "import torch" 2>/dev/null && [ ! -e "$venv/.no-torch" ]; then
  # The CPU wheel is small; where its index is out of reach, PyPI's (with CUDA libraries, ~2 min).
  "$venv/bin/pip" install -q --timeout 10 --retries 0 torch --index-url https://download.pytorch.org/whl/cpu 2>/dev/null ||
    "$venv/bin/pip" install -q torch ||
    { echo "test: PyTorch could not be installed: the strand.torch tests will skip"; touch "$venv/.no-torch"; }
fi
bash scripts/build.sh -DPython_EXECUTABLE="$venv/bin/python" "$@"
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 900
# The ASan+UBSan build, its CPU test subset and a short run of every fuzz harness
# (STRAND_SANITIZE=0 skips it).
if [ "${STRAND_SANITIZE:-1}" != 0 ]; then
  start=$(date +%s)
  bash scripts/sanitize.sh
  echo "test: sanitizer build, tests and fuzzing took $(( $(date +%s) - start )) s"
fi
