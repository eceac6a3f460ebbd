#!/usr/bin/env bash
# The one command a GPU machine runs, with no network: configure for Hopper (sm_90), build, run
# every test (GPU ones included), run compute-sanitizer (memcheck) over the GPU tests, run the
# benchmarks, and print a summary table. Logs and benchmark JSON go to $OUT (or gpu-check-out/).
# Libraries the machine lacks come from .deps/ (see scripts/fetch-gpu-deps.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-check-out}
mkdir -p "$out"
summary=()
note() { summary+=("$1|$2"); }

cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DSTRAND_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)
if ! dpkg -s libopenblas-pthread-dev >/dev/null 2>&1 && [ -d .deps ]; then
  root=/tmp/strand-deps
  for f in .deps/*.deb; do dpkg -x "$f" "$root"; done
  arch_lib=$root/usr/lib/x86_64-linux-gnu
  export PKG_CONFIG_SYSROOT_DIR=$root
  export PKG_CONFIG_PATH=$arch_lib/pkgconfig:$root/usr/share/pkgconfig
  export LD_LIBRARY_PATH=$arch_lib:$arch_lib/openblas-pthread:${LD_LIBRARY_PATH:-}
  cmake_args+=(-DCMAKE_PREFIX_PATH="$root/usr" -DSTRAND_MPI=OFF
               -DCMAKE_LIBRARY_PATH="$arch_lib/openblas-pthread"
               -DCMAKE_INCLUDE_PATH="$root/usr/include/x86_64-linux-gnu/openblas-pthread")
fi

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
start=$(date +%s)
if cmake -S . -B build-gpu "${cmake_args[@]}" >"$out/configure.log" 2>&1 &&
   cmake --build build-gpu -j "$(nproc)" >"$out/build.log" 2>&1; then
  note build "ok in $(( $(date +%s) - start )) s"
else
  note build "FAILED (see build.log / configure.log)"
  tail -40 "$out/configure.log" "$out/build.log"
  printf '%s\n' "${summary[@]}" | column -t -s '|'
  exit 1
fi

ctest --test-dir build-gpu --output-on-failure -j 8 --timeout 900 >"$out/tests.log" 2>&1
tests_rc=$?
note "all tests" "$(grep -E 'tests passed|tests failed' "$out/tests.log" | tail -1)"
gpu_skipped=$(grep -c 'Skipped' "$out/tests.log" || true)
note "skipped" "$gpu_skipped (expected 0 on a GPU machine)"

sanitizer_rc=0
if command -v compute-sanitizer >/dev/null 2>&1; then
  for exe in build-gpu/test_*cuda; do
    [ -x "$exe" ] || continue
    if compute-sanitizer --tool memcheck --error-exitcode 1 "$exe" >"$out/memcheck-$(basename "$exe").log" 2>&1; then
      note "memcheck $(basename "$exe")" "clean"
    else
      sanitizer_rc=1
      note "memcheck $(basename "$exe")" "ERRORS (see memcheck log)"
    fi
  done
else
  note memcheck "compute-sanitizer not found"
fi

for bench in build-gpu/bench_*; do
  [ -x "$bench" ] || continue
  name=$(basename "$bench")
  "$bench" --benchmark_min_time=0.2 --benchmark_format=console \
    --benchmark_out="$out/$name.json" --benchmark_out_format=json >"$out/$name.txt" 2>&1
  note "$name" "rc $? ($(grep -c '^BM_' "$out/$name.txt") rows)"
done

echo "== strand gpu-check $(git rev-parse --short=12 HEAD 2>/dev/null) $(date -u +%F) =="
printf '%s\n' "${summary[@]}" | column -t -s '|' | tee "$out/summary.txt"
[ $tests_rc -eq 0 ] && [ $sanitizer_rc -eq 0 ]
