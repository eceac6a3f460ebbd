#!/usr/bin/env bash
# Kills `strand train` with SIGKILL at random moments, 20 times, in one run directory. After each
# kill the next run (a resume with no epochs left) must load the checkpoint, exit 0, leave no
# temporaries and write run.json "finished". Usage: scripts/kill_runs.sh [build/strand] [workdir]
set -u
B=$(realpath "${1:-build/strand}")
W=${2:-$(mktemp -d)}
mkdir -p "$W" && cd "$W" || exit 1
"$B" simulate --out sim --sequences 300 --length 100 > /dev/null || exit 1
args=(--fasta sim/sequences.fa --labels sim/labels.tsv --out r --no-baseline --no-progress
  --bootstrap 10)
loadable=0; none=0; failed=0; debris=0; mid_write=0
for i in $(seq 1 20); do
  "$B" train "${args[@]}" --epochs 50 > /dev/null 2>&1 &  # the strand process itself: $! is it
  pid=$!
  sleep "$(python3 -c 'import random; print(random.uniform(1, 8))')"
  kill -9 "$pid"; wait "$pid" 2>/dev/null
  [ -n "$(find r -name '.*.tmp-*' 2>/dev/null)" ] && mid_write=$((mid_write + 1))
  if [ ! -f r/checkpoint.safetensors ]; then none=$((none + 1)); continue; fi
  epoch=$(python3 -c "import json,struct;f=open('r/checkpoint.safetensors','rb');n=struct.unpack('<Q',f.read(8))[0];print(json.loads(json.loads(f.read(n))['__metadata__']['strand.state'])['epoch'])")
  if "$B" train "${args[@]}" --epochs "$epoch" --resume r/checkpoint.safetensors > /dev/null \
    2> err.txt; then
    loadable=$((loadable + 1))
  else
    failed=$((failed + 1)); cat err.txt
  fi
  debris=$((debris + $(find r -name '.*.tmp-*' | wc -l)))
done
echo "kills 20 ($mid_write during a write): checkpoint loadable after $loadable, none written" \
  "yet $none, failed $failed; temporaries left after the next run: $debris"
[ "$failed" -eq 0 ] && [ "$debris" -eq 0 ]
