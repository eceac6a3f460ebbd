#!/usr/bin/env bash
# The sanitizer check (part of scripts/test.sh): a CPU-only clang build with AddressSanitizer +
# UndefinedBehaviorSanitizer (./build-san, -DSTRAND_SANITIZE=ON) of the libraries up to train/,
# then
#   1. the CPU test subset STRAND_SANITIZE_TESTS names (cmake/StrandTargets.cmake) and a replay of
#      every fuzz corpus (fuzz/corpus/<reader>/: seeds and the regression inputs of fixed
#      findings), any sanitizer report failing the test;
#   2. each libFuzzer harness (fuzz/*_fuzz.cpp) fuzzing for FUZZ_SECONDS (default 5) from its
#      corpus with the random seed FUZZ_SEED (default 1: the same mutations on every CI run, so a
#      gate does not fail by luck; 0 = a fresh seed per run, for exploring); new inputs go to
#      build-san/fuzz-corpus/, never into the repository. A crash leaves
#      build-san/fuzz-<reader>-crash-* and fails the script.
# FUZZ_SECONDS=600 FUZZ_SEED=0 bash scripts/sanitize.sh gives the long run bench/RESULTS.md
# records; add what it finds to fuzz/corpus/<reader>/regression-* with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-5}"
seed="${FUZZ_SEED:-1}"
CC=clang CXX=clang++ cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only -DNDEBUG" -DSTRAND_SANITIZE=ON >/dev/null
cmake --build build-san -j "$(nproc)"
ctest --test-dir build-san --output-on-failure -j "$(nproc)" --timeout 600

export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp"
for harness in build-san/fuzz/fuzz_*; do
  reader="${harness##*/fuzz_}"
  corpus="build-san/fuzz-corpus/$reader"
  mkdir -p "$corpus"
  # -rss_limit_mb: the harnesses cap strand's own allocations at 1 GiB (STRAND_MEMORY_LIMIT).
  "$harness" -max_total_time="$seconds" -seed="$seed" -rss_limit_mb=3072 -timeout=20 -print_final_stats=1 \
    -artifact_prefix="build-san/fuzz-$reader-" "$corpus" "fuzz/corpus/$reader" \
    >"build-san/fuzz-$reader.log" 2>&1 || {
    tail -n 60 "build-san/fuzz-$reader.log"
    echo "sanitize: fuzz_$reader found a failure (input in build-san/fuzz-$reader-*)"
    exit 1
  }
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-san/fuzz-$reader.log" | grep -o '[0-9]*$')
  echo "sanitize: fuzz_$reader: $runs inputs in ${seconds} s, no failure"
done
