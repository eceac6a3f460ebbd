// GEMM throughput (TFLOP/s) through strand's matmul, beside the library it stands on (oneDNN's
// sgemm on the CPU, cuBLAS on CUDA) called directly in the same run. CUDA cases report an error
// and skip where no device exists.
#include <benchmark/benchmark.h>

#include "bench/op_timing.h"
#include "kernels/common/onednn.h"
#include "runtime/device.h"
#include "runtime/ops.h"

#if STRAND_WITH_CUDA
#include <cublas_v2.h>

#include "kernels/common/cuda_check.h"
#endif

namespace {

using namespace strand;
using namespace strand::runtime;
using namespace strand::bench;  // device_of, skip_without_device, timed_loop

// strand's matmul (dispatch, allocation, GEMM) for square fp32 matrices.
void BM_Matmul(benchmark::State& state) {
  const Device d = device_of(state);
  if (skip_without_device(state, d)) return;
  const int64_t n = state.range(1);
  const auto mode = state.range(2) ? kernels::MathMode::kTf32 : kernels::MathMode::kExact;
  const Tensor a = rand({n, n}, 1, {.device = d}), b = rand({n, n}, 2, {.device = d});
  timed_loop(state, d, [&] { benchmark::DoNotOptimize(matmul(a, b, mode)); });
  state.counters["TFLOP/s"] =
      benchmark::Counter(2.0 * n * n * n * state.iterations() / 1e12, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Matmul)->ArgsProduct({{0}, {256, 1024}, {0}})->ArgNames({"cuda", "n", "tf32"});
BENCHMARK(BM_Matmul)
    ->ArgsProduct({{1}, {1024, 4096}, {0, 1}})
    ->ArgNames({"cuda", "n", "tf32"})
    ->UseManualTime();

// The library alone on preallocated buffers: the ceiling strand's matmul is measured against.
void BM_LibraryGemm(benchmark::State& state) {
  const Device d = device_of(state);
  if (skip_without_device(state, d)) return;
  const int64_t n = state.range(1);
  const bool tf32 = state.range(2) != 0;
  const Tensor a = rand({n, n}, 1, {.device = d}), b = rand({n, n}, 2, {.device = d});
  Tensor c = empty({n, n}, {.device = d});
  if (d.is_cpu()) {
    for (auto _ : state) {
      kernels::cpu::sgemm(false, false, n, n, n, 1.0f, a.data<float>(), n, b.data<float>(), n, 0.0f,
                          c.data<float>(), n);
    }
  } else {
#if STRAND_WITH_CUDA
    cublasHandle_t handle;
    STRAND_CUBLAS_CHECK(cublasCreate(&handle));
    STRAND_CUBLAS_CHECK(cublasSetStream(handle, current_stream(0)));
    const float one = 1.0f, zero = 0.0f;
    timed_loop(state, d, [&] {
      STRAND_CUBLAS_CHECK(cublasGemmEx(
          handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, b.data<float>(), CUDA_R_32F, n,
          a.data<float>(), CUDA_R_32F, n, &zero, c.data<float>(), CUDA_R_32F, n,
          tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    });
    cublasDestroy(handle);
#endif
  }
  state.counters["TFLOP/s"] =
      benchmark::Counter(2.0 * n * n * n * state.iterations() / 1e12, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LibraryGemm)->ArgsProduct({{0}, {256, 1024}, {0}})->ArgNames({"cuda", "n", "tf32"});
BENCHMARK(BM_LibraryGemm)
    ->ArgsProduct({{1}, {1024, 4096}, {0, 1}})
    ->ArgNames({"cuda", "n", "tf32"})
    ->UseManualTime();

}  // namespace

BENCHMARK_MAIN();
