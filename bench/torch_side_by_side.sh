#!/usr/bin/env bash
# bench/torch_side_by_side.py with a Python that has PyTorch: $PYTHON, default python3 (e.g.
# PYTHON=~/venv-torch/bin/python after `python3 -m venv ~/venv-torch && ~/venv-torch/bin/pip
# install torch`). Arguments go to the script; strand must be built (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c "import torch" 2>/dev/null; then
  echo "torch_side_by_side: $PYTHON cannot import torch; set PYTHON to a Python with PyTorch" >&2
  exit 1
fi
exec "$PYTHON" bench/torch_side_by_side.py "$@"
