#!/usr/bin/env bash
# End to end on real JASPAR motifs: simulate sequences planting CTCF, GATA1 and SPI1 (JASPAR2026
# CORE), train the small CNN on them, read its first-layer filters as motifs and match them back
# to JASPAR. Prints, per planted motif, the filters whose best match is that motif.
#   bash scripts/motif_filters_e2e.sh [build dir, default build] [work dir, default /tmp/strand_e2e]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
strand=${1:-$root/build}/strand
work=${2:-/tmp/strand_e2e}
db=$root/data/motifs/JASPAR_CORE_vertebrates_nonredundant.meme
rm -rf "$work" && mkdir -p "$work" && cd "$work"
"$strand" simulate --out sim --sequences 4000 --seed 1 --motifs-from "$db" \
  --motif MA0139.2 --motif MA0035.5 --motif MA0080.7
"$strand" train --fasta sim/sequences.fa --labels sim/labels.tsv --model cnn-small \
  --epochs "${EPOCHS:-10}" --out run --no-baseline > train.log
grep -i "auroc" train.log | tail -3 || true
"$strand" interpret filters --model run/model.safetensors --fasta sim/sequences.fa --db "$db" \
  --out filters
for id in MA0139.2 MA0035.5 MA0080.7; do
  awk -F'\t' -v id="$id" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["best_match"] == id && $c["q_value"] < 0.05 { n++; f = f " " $1 "(q=" $c["q_value"] ")" }
    END { printf "%s: %d filters match first%s\n", id, n, f }' filters/filters.tsv
done
