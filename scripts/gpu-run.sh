#!/usr/bin/env bash
# The one command a lent GPU machine runs: no build, no network. It unpacks the bundle made here by
# scripts/gpu-bundle.sh, checks in seconds that the machine can run it, then runs each GPU test
# program under its own timeout, compute-sanitizer (memcheck, racecheck) on strand's own kernels
# over a small subset, the benchmarks at the shapes that decide the targets, and PyTorch's train
# steps beside bench_train's; one summary table last.
#
#   bash scripts/gpu-run.sh [--quick]          # on the device, from the repository root
#   bash scripts/gpu-run.sh --dry-run [--wheels DIR]   # here: preflight only, no GPU needed
#
# --quick: <= 3 minutes (no racecheck, no torch.compile, shorter timings); the full run <= 8.
# --bundle PATH: the archive or an unpacked strand-gpu/ folder (default .gpu-bundle/).
# --wheels DIR: the folder holding nvidia/<pkg>/lib (default: python3's `nvidia` package).
# --dry-run: preflight, then check the filters below select something, and stop; "no GPU" is not
#   an error then, but every CUDA library must resolve from the wheel folders alone.
# Files (at most 8) go to $OUT, else gpu-run-out/: summary.txt preflight.txt tests.log
# sanitizer.log bench.txt bench.json torch.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
quick=0
dry=0
bundle=.gpu-bundle
wheels=
b=
while (($#)); do
  case $1 in
    --quick) quick=1; shift ;;
    --dry-run) dry=1; shift ;;
    --bundle) bundle=$2; shift 2 ;;
    --wheels) wheels=$2; shift 2 ;;
    *) echo "gpu-run: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
out=${OUT:-$repo/gpu-run-out}
mkdir -p "$out"
t0=$(date +%s)
# Seconds each phase may take: a phase past its share is cut, never the ones after it. Worst
# cases, with ~20 s of preflight and the torch script's grace: full 7.8 min, --quick 3 min.
if ((quick)); then cap_tests=50 cap_san=30 cap_bench=40 cap_torch=35 grace=10; else
  cap_tests=120 cap_san=100 cap_bench=110 cap_torch=100 grace=20; fi
summary=()
note() { summary+=("$1"$'\t'"$2"); echo "gpu-run: $1: $2"; }
phase() { phase_end=$(($(date +%s) + $1)); }
# Seconds a run may take: its own limit, or what its phase has left.
allow() { local l=$((phase_end - $(date +%s))); echo $((l < $1 ? l : $1)); }
finish() {
  {
    echo "== strand gpu-run $(sed -n 's/^commit //p' "$b/MANIFEST" 2>/dev/null) $(date -u +%FT%TZ)" \
      "$([ $quick = 1 ] && echo quick)$([ $dry = 1 ] && echo dry-run) $(($(date +%s) - t0)) s =="
    printf '%s\n' "${summary[@]}" | awk -F'\t' '{printf "%-44s %s\n", $1, $2}'
  } | tee "$out/summary.txt"
  exit "$1"
}

# ---- the bundle -------------------------------------------------------------------------------
if [ -d "$bundle/bin" ]; then
  b=$bundle  # already unpacked
else
  archive=$bundle
  [ -d "$bundle" ] && archive=$bundle/strand-gpu.tar.xz
  [ -f "$archive" ] || { note bundle "MISSING: $archive (make it here: bash scripts/gpu-bundle.sh; carry .gpu-bundle)"; finish 3; }
  dest=$(mktemp -d /tmp/strand-gpu.XXXXXX)
  ((dry)) && trap 'rm -rf "$dest"' EXIT  # the device is given back anyway; here, tidy up
  # The device image may lack the xz program; Python's tarfile reads xz itself.
  tar -xJf "$archive" -C "$dest" 2>/dev/null || python3 -m tarfile -e "$archive" "$dest" ||
    { note bundle "cannot unpack $archive"; finish 3; }
  b=$dest/strand-gpu
fi
b=$(cd "$b" && pwd)
note bundle "$b ($(sed -n 's/^commit //p' "$b/MANIFEST"), archs $(sed -n 's/^cuda_archs //p' "$b/MANIFEST"))"

# ---- preflight: stops in seconds when the machine cannot run the bundle ------------------------
pre=$out/preflight.txt
: >"$pre"
fail=0
cat "$b/MANIFEST" >>"$pre"

need=$(sed -n 's/^glibc_needed //p' "$b/MANIFEST")
have=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
if [ -z "$have" ] || [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
  note glibc "TOO OLD: the bundle needs glibc >= $need, this machine has ${have:-none}"
  fail=1
else
  note glibc "$have (bundle needs >= $need)"
fi

# CUDA's libraries: PyTorch's nvidia-* wheels (cuDNN, cuBLAS, NCCL, the runtime), then the
# toolkit's. Not in dry runs: there the wheel folders alone must do.
if [ -z "$wheels" ]; then
  wheels=$(python3 -c 'import nvidia, os; print(os.pathsep.join(nvidia.__path__))' 2>/dev/null)
fi
libdirs=()
IFS=: read -r -a roots <<<"$wheels"
for r in "${roots[@]}"; do
  for d in "$r"/*/lib; do [ -d "$d" ] && libdirs+=("$(cd "$d" && pwd)"); done
done
if ((dry == 0)); then
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
    [ -d "$d" ] && libdirs+=("$d")
  done
fi
if ((${#libdirs[@]} == 0)); then
  note "CUDA libraries" "NO WHEEL FOLDERS: python3 has no 'nvidia' package and --wheels was not given"
  fail=1
fi
export LD_LIBRARY_PATH=$(IFS=:; echo "${libdirs[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH" >>"$pre"

# Every program's libraries resolve: CUDA's (the list gpu-bundle.sh leaves out) from the folders
# above (anywhere on the device; strictly from the wheels in a dry run), glibc's from the system,
# everything else from the bundle itself (its run path).
cuda_re='^(libcuda|libnvidia-|libcudart|libcublas|libcublasLt|libcudnn[a-z_]*|libnccl|libnvrtc|libnvJitLink|libcufft|libcurand|libcusolver|libcusparse|libcupti|libnvToolsExt)\.so'
glibc_re='^(libc|libm|libdl|libpthread|librt|libutil|libresolv|libanl|ld-linux[-a-z0-9_]*)\.so'
unresolved=()
misplaced=()
for f in "$b"/bin/*; do
  while read -r soname arrow path _; do
    [ "$arrow" = "=>" ] || continue
    if [ "$path" = "not" ]; then unresolved+=("$(basename "$f"): $soname"); continue; fi
    echo "$(basename "$f") $soname $path" >>"$pre"
    if [[ $soname =~ $cuda_re ]]; then
      ok=$((1 - dry))
      for d in "${libdirs[@]}"; do [[ $path == "$d"/* ]] && ok=1; done
      ((ok)) || misplaced+=("$soname from $path")
    elif [[ $path != "$b"/* ]] && [[ ! $soname =~ $glibc_re ]]; then
      misplaced+=("$soname from $path")
    fi
  done < <(ldd "$f" 2>&1)
done
if ((${#unresolved[@]})); then
  note libraries "UNRESOLVED: $(printf '%s\n' "${unresolved[@]}" | sort -u | head -5 | paste -sd ';')"
  fail=1
elif ((${#misplaced[@]})); then
  note libraries "FROM OUTSIDE THE BUNDLE/WHEELS: $(printf '%s\n' "${misplaced[@]}" | sort -u | head -5 | paste -sd ';')"
  fail=1
else
  note libraries "all resolve ($(ls "$b/bin" | wc -l) programs; CUDA's from ${#libdirs[@]} folders)"
fi

gpu=0
if ! command -v nvidia-smi >/dev/null; then
  note GPU "no GPU: nvidia-smi not found"
elif ! smi=$(timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1); then
  note GPU "no GPU: nvidia-smi failed: $(echo "$smi" | head -1)"
else
  gpu=1
  note GPU "$smi"
  echo "$smi" >>"$pre"
fi

sanitizer=0
if command -v compute-sanitizer >/dev/null && compute-sanitizer --version >>"$pre" 2>&1; then
  sanitizer=1
  note sanitizer "$(compute-sanitizer --version | grep -o 'Version [^ ]*' | head -1)"
else
  note sanitizer "compute-sanitizer missing: sanitizer phase skipped"
fi
torch_ok=0
if tv=$(timeout 60 python3 -c 'import torch; print(torch.__version__, torch.cuda.is_available())' 2>&1); then
  torch_ok=1
  note torch "$tv"
else
  note torch "PyTorch missing: side-by-side skipped"
fi

# The CUDA runtime, cuDNN and the driver as strand itself sees them (seconds; a driver older than
# the bundle's CUDA fails here, not in the first test).
if ((gpu && !fail)); then
  if info=$(timeout 60 "$b/bin/strand" info 2>&1); then
    echo "$info" >>"$pre"
    note "strand info" "ok ($(echo "$info" | grep -m1 'GPUs' | tr -s ' ' | cut -c1-100))"
  else
    note "strand info" "FAILED: $(echo "$info" | tail -1 | cut -c1-200)"
    fail=1
  fi
fi
if ((fail)); then note preflight "STOPPED: see the lines above"; finish 3; fi

# The selections each phase runs; a dry run checks that each still selects something, so a renamed
# test or benchmark is found here, not on the device.
declare -A memcheck=(
  [test_kernels_conv1d_cuda]='Conv1dCuda.Fp32AndTf32MatchTheReference:Conv1dCuda.OnehotEqualsDenseConvOfTheOnehotMatrix'
  [test_kernels_rnn_cuda]='*/RnnCuda.EveryAlgoMatchesCpuReferenceInFloat/*'
  [test_kernels_per_sample_norm_cuda]='PerSampleNormCuda.*:-*InChunks'
  [test_runtime_ops_cuda]='OpsCuda.EveryOpMatchesCpuInF32AndF64'
  [test_kernels_conv1d_sm90_cuda]='Conv1dSm90Cuda.FusedReluPoolAndBatchNormSums'
  [test_kernels_conv1d_onehot_cuda]='Conv1dOnehotCuda.WeightGradientOverSampleGroupsAndTapPasses'
)
declare -A racecheck=(
  [test_kernels_conv1d_cuda]='Conv1dCuda.Bf16MatchesTheReference'
  [test_kernels_rnn_cuda]='*/RnnCuda.EveryAlgoMatchesCpuReferenceInFloat/*'
  [test_kernels_per_sample_norm_cuda]='PerSampleNormCuda.DenseMatchesCpu'
)
# Deciding shapes: the inner convolutions of each model and the dilated stack at N64 in every
# pass and precision, the one-hot first layers, DanQ's BiLSTM (batch 64 and 256, forward and
# forward+backward: cluster, persistent, cuDNN standard and persistent) and one long LSTM, the
# train steps.
declare -A benches=(
  [bench_conv1d]='^gpu/[a-z_]*/[a-z0-9]*/(deepsea2|basset2|dilated)[^/]*/N64/|^gpu/onehot_[a-z_]*/[a-z0-9]*/deepsea1[^/]*/N64/|^gpu/sm90_[a-z_]*/[a-z0-9]*/(deepsea[23]|basset[23]|dilated)[^/]*/N64/'
  [bench_rnn]='^BM_GpuLstm/(DanQ/N(64|256)/fwd(_bwd)?|H512/T1000/fwd_bwd)/'
  [bench_train]='cuda:1'
  [bench_gemm]='cuda:1'
  [bench_elementwise]='cuda:1'
  [bench_per_sample_norm]='^gpu/(deepsea_conv[123]|basset_conv[12])_'
)
if ((dry)); then
  bad=()
  for t in "${!memcheck[@]}" "${!racecheck[@]}"; do
    filter=${memcheck[$t]:-${racecheck[$t]}}
    [ -x "$b/bin/$t" ] || { bad+=("$t missing"); continue; }
    # Listed into a variable first: `| grep -q` would close the pipe early, and under pipefail
    # the lister's SIGPIPE would read as "selects nothing".
    listed=$("$b/bin/$t" --gtest_list_tests --gtest_filter="$filter" 2>/dev/null || true)
    grep -q '^  ' <<<"$listed" || bad+=("$t: '$filter' selects nothing")
  done
  # bench_rnn registers its GPU cases only when a device exists: only its presence is checked.
  for t in "${!benches[@]}"; do
    [ -x "$b/bin/$t" ] || { bad+=("$t missing"); continue; }
    [ "$t" = bench_rnn ] && continue
    listed=$("$b/bin/$t" --benchmark_list_tests=true --benchmark_filter="${benches[$t]}" \
      2>/dev/null || true)
    grep -q . <<<"$listed" || bad+=("$t: '${benches[$t]}' selects nothing")
  done
  if ((${#bad[@]})); then note selections "BROKEN: ${bad[*]}"; finish 1; fi
  note selections "every sanitizer subset and benchmark filter selects something"
  note "dry run" "ok: the bundle would run here given a GPU"
  finish 0
fi
if ((gpu == 0)); then note preflight "STOPPED: no GPU on this machine"; finish 3; fi

# ---- tests: every GPU program at once, each under its own timeout ------------------------------
# (16 cores: two OpenMP threads each for the CPU references; the GPU time-slices the processes.)
work=$(mktemp -d /tmp/strand-gpu-work.XXXXXX)
cd "$work"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1
per_test=$cap_tests
: >"$out/tests.log"
tests=("$b"/bin/test_*)
for f in "${tests[@]}"; do
  name=$(basename "$f")
  (timeout -k 5 "$per_test" "$f" --gtest_color=no >"$work/$name.log" 2>&1
   echo $? >"$work/$name.rc") &
done
wait
tests_failed=0
for f in "${tests[@]}"; do
  name=$(basename "$f")
  rc=$(cat "$work/$name.rc")
  { echo "===== $name (rc $rc)"; cat "$work/$name.log"; } >>"$out/tests.log"
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$work/$name.log")
  skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$work/$name.log")
  failed=$(grep -c '^\[  FAILED  \] [A-Za-z]' "$work/$name.log")
  state="ok"
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && state="TIMEOUT after $per_test s"
  [ "$rc" != 0 ] && [ "$state" = ok ] && state="FAILED rc $rc"
  [ "$rc" != 0 ] && tests_failed=1
  # GPU tests skip only without a device: a skip here means a test saw no GPU.
  [ "${skipped:-0}" != 0 ] && [ "$state" = ok ] && state="ok BUT SKIPS"
  note "$name" "$state: ${passed:-0} passed, $failed failed, ${skipped:-0} skipped"
done

# ---- compute-sanitizer on strand's kernels only (cuDNN/cuBLAS/NCCL kernels run uninstrumented) --
: >"$out/sanitizer.log"
san_failed=0
run_sanitizer() {  # tool program filter seconds
  local log=$work/$1-$2.log rc secs
  secs=$(allow "$4")
  ((secs >= 10)) || { note "$1 $2" "skipped: out of time"; return; }
  set -- "$1" "$2" "$3" "$secs"
  timeout -k 5 "$4" compute-sanitizer --tool "$1" --kernel-name kns=strand --error-exitcode 99 \
    --print-limit 20 "$b/bin/$2" --gtest_filter="$3" >"$log" 2>&1
  rc=$?
  { echo "===== $1 $2 --gtest_filter=$3 (rc $rc)"; cat "$log"; } >>"$out/sanitizer.log"
  case $rc in
    0) note "$1 $2" "clean ($(grep -o 'ERROR SUMMARY: [0-9]* error' "$log" | tail -1))" ;;
    124 | 137) note "$1 $2" "TIMEOUT after $4 s (not a finding)" ;;
    99) san_failed=1; note "$1 $2" "ERRORS: $(grep -m1 -E 'Invalid|Race|hazard|ERROR' "$log")" ;;
    *) san_failed=1; note "$1 $2" "rc $rc (tests failed under the tool)" ;;
  esac
}
if ((sanitizer)); then
  phase "$cap_san"
  for t in test_kernels_per_sample_norm_cuda test_kernels_rnn_cuda test_kernels_conv1d_cuda \
           test_runtime_ops_cuda test_kernels_conv1d_sm90_cuda \
           test_kernels_conv1d_onehot_cuda; do
    run_sanitizer memcheck "$t" "${memcheck[$t]}" $((quick ? 15 : 30))
  done
  if ((quick == 0)); then
    for t in test_kernels_per_sample_norm_cuda test_kernels_rnn_cuda test_kernels_conv1d_cuda; do
      run_sanitizer racecheck "$t" "${racecheck[$t]}" 25
    done
  fi
fi

# ---- benchmarks at the deciding shapes --------------------------------------------------------
: >"$out/bench.txt"
min_time=$((quick ? 1 : 2))  # tenths of a second per benchmark
phase "$cap_bench"
for t in bench_train bench_conv1d bench_rnn bench_gemm bench_elementwise \
         bench_per_sample_norm; do
  secs=$(allow $([ $t = bench_conv1d ] && echo 120 || echo 60))  # conv1d: + the sm90 rows
  ((secs >= 10)) || { note "$t" "skipped: out of time"; continue; }
  timeout -k 5 "$secs" "$b/bin/$t" --benchmark_filter="${benches[$t]}" \
    --benchmark_min_time=0.$min_time --benchmark_out="$work/$t.json" \
    --benchmark_out_format=json >"$work/$t.txt" 2>&1
  rc=$?
  { echo "===== $t --benchmark_filter='${benches[$t]}' (rc $rc)"; cat "$work/$t.txt"; } >>"$out/bench.txt"
  note "$t" "rc $rc, $(grep -c '^[A-Za-z].*/' "$work/$t.txt") rows$([ $rc = 124 ] && echo ", cut at $secs s")"
done
python3 - "$out/bench.json" "$work"/bench_*.json <<'EOF' || note bench.json "could not merge"
import json, sys
merged = {"context": None, "benchmarks": []}
for path in sys.argv[2:]:
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError):
        continue  # a benchmark cut by its timeout leaves no complete JSON
    merged["context"] = merged["context"] or d.get("context")
    for row in d.get("benchmarks", []):
        row["program"] = path.rsplit("/", 1)[-1][:-5]
        merged["benchmarks"].append(row)
json.dump(merged, open(sys.argv[1], "w"), indent=1)
EOF

# ---- PyTorch side by side ---------------------------------------------------------------------
if ((torch_ok)); then
  # The script stops starting new configurations past its budget and still prints its table.
  PYTHONUNBUFFERED=1 timeout -k 5 $((cap_torch + grace)) python3 "$repo/scripts/torch_train_bench.py" \
    $([ $quick = 1 ] && echo --quick) --budget "$cap_torch" --strand-json "$out/bench.json" \
    >"$out/torch.txt" 2>&1
  rc=$?
  note torch "rc $rc, $(grep -c '"samples_per_s"' "$out/torch.txt") configurations measured"
  sed -n '/^samples\/s/,$p' "$out/torch.txt"
fi

rc=0
((tests_failed || san_failed)) && rc=1
finish $rc
