#!/usr/bin/env bash
# strand on public ChIP-seq data, as a new user would run it: Oct4 (POU5F1) peaks against MafK
# peaks (ENCODE, 200 bp, hg19; shipped as janggu's sample.fa and sample2.fa on PyPI), one label
# column (oct4 = 1, mafk = 0) and a chromosome split (test chr2 and chr3, valid chr4).
# Trains with the report, explains the test sequences with DeepLIFT/DeepSHAP, finds motifs and
# matches them to JASPAR; with PYTHON pointing at an interpreter that has modisco-lite, also runs
# TF-MoDISco on the same attributions for comparison.
#   bash scripts/try-public-data.sh [OUT_DIR]      (needs network access to PyPI; ~3 min on 2 cores)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STRAND="${STRAND:-$ROOT/build/strand}"
OUT="${1:-strand-public-oct4-mafk}"
mkdir -p "$OUT"
cd "$OUT"

if [[ ! -f sample.fa ]]; then
  python3 -m pip download --no-deps --dest wheel janggu==0.10.2 >/dev/null
  python3 - <<'EOF'
import glob, zipfile
with zipfile.ZipFile(glob.glob('wheel/janggu-*.whl')[0]) as z:
    for name in ('sample.fa', 'sample2.fa'):
        open(name, 'wb').write(z.read('janggu/resources/' + name))
EOF
fi

python3 - <<'EOF'
def records(path):
    name = None
    for line in open(path):
        line = line.strip()
        if line.startswith('>'):
            name = line[1:]
        elif line:
            yield name, line
with open('oct4_mafk.fa', 'w') as fa, open('oct4_mafk.tsv', 'w') as tsv, open('test.fa', 'w') as test:
    tsv.write('name\toct4\tsplit\n')
    seen = set()
    for label, path in ((1, 'sample.fa'), (0, 'sample2.fa')):
        for name, seq in records(path):
            if name in seen:
                continue
            seen.add(name)
            chrom = name.split(':')[0]
            split = 'test' if chrom in ('chr2', 'chr3') else 'valid' if chrom == 'chr4' else 'train'
            fa.write(f'>{name}\n{seq}\n')
            tsv.write(f'{name}\t{label}\t{split}\n')
            if split == 'test':
                test.write(f'>{name}\n{seq}\n')
EOF

"$STRAND" train --fasta oct4_mafk.fa --labels oct4_mafk.tsv --out run --report --no-progress
"$STRAND" interpret attributions --model run/model.safetensors --fasta test.fa --out attributions \
  --references 10
"$STRAND" interpret motifs --fasta test.fa --attributions attributions/attributions.npy \
  --hypothetical attributions/hypothetical.npy \
  --db "$ROOT/data/motifs/JASPAR_CORE_vertebrates_nonredundant.meme" --out motifs
cut -f1-12 motifs/motifs.tsv

if [[ -n "${PYTHON:-}" ]] && "$PYTHON" -c 'import modiscolite' 2>/dev/null; then
  "$PYTHON" - <<'EOF'
import numpy as np, modiscolite
hyp = np.load('attributions/hypothetical.npy')[:, 0].transpose(0, 2, 1).astype(np.float32)
seqs = [l.strip() for l in open('test.fa') if not l.startswith('>')]
one_hot = np.zeros(hyp.shape, dtype=np.float32)
for i, s in enumerate(seqs):
    for j, c in enumerate(s.upper()):
        if c in 'ACGT':
            one_hot[i, j, 'ACGT'.index(c)] = 1
pos, neg = modiscolite.tfmodisco.TFMoDISco(
    hypothetical_contribs=hyp, one_hot=one_hot, sliding_window_size=21, flank_size=10,
    target_seqlet_fdr=0.05, max_seqlets_per_metacluster=20000, verbose=False)
print('modisco-lite on the same attributions:')
for sign, patterns in (('pos', pos), ('neg', neg)):
    for i, p in enumerate(patterns or []):
        importance = np.abs(p.contrib_scores).sum(1)
        kept = np.where(importance >= 0.25 * importance.max())[0]
        a, b = kept[0], kept[-1] + 1
        consensus = ''.join('ACGT'[r.argmax()] if r.max() > 0.5 else 'acgt'[r.argmax()]
                            for r in p.sequence[a:b])
        print(f'  {sign}_{i}\t{len(p.seqlets)} seqlets\t{consensus}\t'
              f'contribution {p.contrib_scores[a:b].sum():.3f}')
EOF
fi
