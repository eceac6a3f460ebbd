#!/usr/bin/env bash
# Peak memory of `strand check splits` and `check data` on a generated FASTA of about SIZE_MB
# (default 1024) MB: random 10 kb records in two split files, 1% of the test records copied from
# train (exact duplicates), plus labels for check data. Prints /usr/bin/time's peak RSS beside the
# input size. Usage: bench/check_memory.sh [build/strand] [work dir] [size MB]
set -euo pipefail
strand=${1:-build/strand}
dir=${2:-/tmp/strand-check-memory}
size_mb=${3:-1024}
mkdir -p "$dir"
python3 - "$dir" "$size_mb" <<'PY'
import os, random, sys
d, size_mb = sys.argv[1], int(sys.argv[2])
rec = 10000
n = size_mb * (1 << 20) // (rec + 12)
table = bytes.maketrans(bytes(range(256)), b"ACGT" * 64)
random.seed(1)
kept = []
with open(f"{d}/train.fa", "wb") as tr, open(f"{d}/test.fa", "wb") as te, \
     open(f"{d}/labels.tsv", "w") as lab, open(f"{d}/all.fa", "wb") as al:
    lab.write("name\ty\n")
    for i in range(n):
        seq = os.urandom(rec).translate(table)
        if i % 2 and i % 200 == 1 and kept:
            seq = kept[-1]
        if i % 2 == 0 and len(kept) < 8:
            kept.append(seq)
        lines = b"\n".join(seq[j:j + 60] for j in range(0, rec, 60))
        text = b">r%d\n%s\n" % (i, lines)
        (tr if i % 2 == 0 else te).write(text)
        al.write(text)
        lab.write(f"r{i}\t{i % 2}\n")
PY
ls -l "$dir"/*.fa
for cmd in "check splits $dir/train.fa $dir/test.fa --split-names train,test --json" \
           "check data --fasta $dir/all.fa --labels $dir/labels.tsv --no-alignment --json"; do
  echo "== strand $cmd"
  /usr/bin/time -v "$strand" $cmd > "$dir/out.json" 2> "$dir/time.txt" || true
  grep -E "Maximum resident|Elapsed|User time" "$dir/time.txt"
  python3 -c "import json,sys; t=open('$dir/out.json').read(); j=json.loads(t[:t.rfind('}')+1]); print({k: j[k] for k in ('counts', 'duplicates_within_split', 'n', 'sequences', 'verdict') if k in j})"
done
