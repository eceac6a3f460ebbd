#!/usr/bin/env bash
# Attributions per second, strand and tangermeme side by side on this machine (same threads).
#   bash bench/attributions.sh [build dir] [python with torch + tangermeme]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
python=${2:-.venv/bin/python}
threads=${THREADS:-2}
lscpu | grep -E 'Model name' || true
echo "# $(date -u +%F) commit $(git rev-parse --short HEAD), ${threads} threads"
OMP_NUM_THREADS=$threads "$build/bench_attributions"
"$python" bench/attributions_tangermeme.py --threads "$threads"
