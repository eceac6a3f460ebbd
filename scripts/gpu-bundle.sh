#!/usr/bin/env bash
# Builds (here, no GPU needed) and packs everything a GPU machine runs into one archive, so the
# device needs no build and no Debian library: the GPU test programs, the GPU benchmarks, `strand`,
# strand's shared libraries and every library they load except glibc's and CUDA's own (cuDNN,
# cuBLAS, NCCL and the CUDA runtime come from the device's toolkit and PyTorch's nvidia-* wheels;
# scripts/gpu-run.sh finds them). Every packed file gets the run path $ORIGIN (programs:
# $ORIGIN/../lib), so the bundle runs from wherever it is unpacked.
#
#   scripts/gpu-bundle.sh                    # configure + build build-gpu for sm_90a and sm_90
#   scripts/gpu-bundle.sh --build-dir build --no-build   # pack an existing build (CI's dry run)
#
# Options: --build-dir DIR (default build-gpu), --archs 'LIST' (CMAKE_CUDA_ARCHITECTURES, default
# '90a-real;90': sm_90a machine code for wgmma-era kernels, sm_90 machine code + PTX),
# --no-build (pack DIR as it is), --out DIR (default .gpu-bundle, git-ignored),
# --max-mib N (default 40: what a device call can carry beside the tree), --xz-level N (default 6;
# CI's dry run uses 0: 4x faster, a larger archive, so its size check is the stricter one).
# Output: OUT/strand-gpu.tar.xz only (OUT travels to the device as a carried path: 64 MiB at most).
# The device call: run `bash scripts/gpu-run.sh` carrying .gpu-bundle (README: Running the GPU check).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build_dir=build-gpu
archs='90a-real;90'
do_build=1
out=.gpu-bundle
max_mib=40
xz_level=6
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --archs) archs=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --out) out=$2; shift 2 ;;
    --max-mib) max_mib=$2; shift 2 ;;
    --xz-level) xz_level=$2; shift 2 ;;
    *) echo "gpu-bundle: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
for tool in patchelf ldd xz tar; do
  command -v $tool >/dev/null || { echo "gpu-bundle: '$tool' is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

# What runs on the device: every *_cuda_test program, every benchmark whose source mentions CUDA,
# and the CLI. Target names follow cmake/StrandTargets.cmake.
targets=(strand_cli)
while IFS= read -r f; do
  rel=${f#tests/}
  rel=${rel%_test.cpp}
  targets+=("test_${rel//\//_}")
done < <(find tests -name '*_cuda_test.cpp' | sort)
while IFS= read -r f; do
  stem=$(basename "$f" .cpp)
  targets+=("bench_$stem")
done < <(grep -l -i 'cuda' bench/*.cpp | sort)

if ((do_build)); then
  [ -f /root/.strand-env ] && source /root/.strand-env
  start=$(date +%s)
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTRAND_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="$archs" >/dev/null
  cmake --build "$build_dir" --target "${targets[@]}"
  echo "gpu-bundle: built ${#targets[@]} targets in $(($(date +%s) - start)) s"
fi
[ -f "$build_dir/CMakeCache.txt" ] || { echo "gpu-bundle: $build_dir is not a CMake build" >&2; exit 1; }
nvcc=$(sed -n 's/^set(CMAKE_CUDA_COMPILER "\(.*\)")$/\1/p' "$build_dir"/CMakeFiles/*/CMakeCUDACompiler.cmake 2>/dev/null | head -1)
if grep -q '^STRAND_CUDA:STRING=OFF' "$build_dir/CMakeCache.txt" || [ -z "$nvcc" ]; then
  echo "gpu-bundle: $build_dir was configured without CUDA" >&2; exit 1
fi
built_archs=$(sed -n 's/^CMAKE_CUDA_ARCHITECTURES:[A-Z]*=//p' "$build_dir/CMakeCache.txt")

tmp=$(mktemp -d /tmp/strand-bundle.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/strand-gpu
mkdir -p "$stage/bin" "$stage/lib" "$out"
rm -f "$out/strand-gpu.tar.xz"
for t in "${targets[@]}"; do
  name=$t
  [ "$t" = strand_cli ] && name=strand
  [ -x "$build_dir/$name" ] || { echo "gpu-bundle: $build_dir/$name is missing: build it first" >&2; exit 1; }
  cp "$build_dir/$name" "$stage/bin/"
done

# Not packed: glibc (the device's own must be at least as new: MANIFEST says which version), the
# kernel's vDSO, the driver and CUDA's libraries (the device's toolkit and wheels provide them, in
# the versions that match its driver). Everything else that ldd names is packed.
exclude='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libutil|libresolv|libanl|libcuda|libnvidia-|libcudart|libcublas|libcublasLt|libcudnn[a-z_]*|libnccl|libnvrtc|libnvJitLink|libcufft|libcurand|libcusolver|libcusparse|libcupti|libnvToolsExt)\.so'
missing=()
while read -r soname path; do
  if [[ $soname =~ $exclude ]]; then continue; fi
  if [ "$path" = "not" ]; then missing+=("$soname"); continue; fi
  [ -e "$stage/lib/$soname" ] || cp -L "$path" "$stage/lib/$soname"
done < <(for f in "$stage"/bin/*; do ldd "$f"; done | awk '$2 == "=>" {print $1, $3}' | sort -u)
((${#missing[@]} == 0)) || { echo "gpu-bundle: unresolved here: ${missing[*]}" >&2; exit 1; }
chmod u+w "$stage"/lib/*
for f in "$stage"/bin/*; do patchelf --set-rpath '$ORIGIN/../lib' "$f"; done
for f in "$stage"/lib/*; do patchelf --set-rpath '$ORIGIN' "$f"; done

# The newest glibc symbol version anything packed needs: gpu-run.sh's preflight compares it.
glibc_needed=$(for f in "$stage"/bin/* "$stage"/lib/*; do
  objdump -T "$f" 2>/dev/null | grep -o 'GLIBC_[0-9.]*'; done | sed 's/GLIBC_//' | sort -uV | tail -1)
{
  echo "commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo +dirty)"
  echo "built $(date -u +%FT%TZ) on $(uname -n)"
  echo "cuda_archs $built_archs"
  echo "nvcc $("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')"
  echo "glibc_needed $glibc_needed"
  echo "programs $(cd "$stage/bin" && echo *)"
  echo "libraries $(cd "$stage/lib" && echo *)"
} >"$stage/MANIFEST"

tar -C "$tmp" -cf - strand-gpu | xz -T0 "-$xz_level" >"$out/strand-gpu.tar.xz"
bytes=$(stat -c %s "$out/strand-gpu.tar.xz")
mib=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1048576}')
echo "gpu-bundle: $out/strand-gpu.tar.xz $mib MiB ($(ls "$stage/bin" | wc -l) programs," \
  "$(ls "$stage/lib" | wc -l) libraries, archs $built_archs, glibc >= $glibc_needed)"
if ((bytes > max_mib * 1048576)); then
  echo "gpu-bundle: the archive is over $max_mib MiB: a device call cannot carry it" >&2
  exit 1
fi
