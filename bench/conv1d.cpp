// Conv1d benchmarks on the genomic shapes of issue 3 (DeepSEA, Basset, DanQ, a dilated stack).
//   gpu/<pass>/<precision>/<shape>/N<n>: custom implicit GEMM and cuDNN timed in the same
//     iteration with CUDA events; TFLOP/s of each and cudnn_over_custom (> 1: custom is faster).
//     Iteration time is the custom kernel's. Skipped without a CUDA device.
//   gpu/onehot_<pass>/<precision>/<shape>/N<n>: the one-hot DNA kernel against cuDNN's dense conv
//     of the one-hot input on the same first layer.
//   gpu/onehot_relu_pool/<precision>/<shape>/N<n>: the fused one-hot conv + bias + ReLU + max pool
//     (the model's own pool: DeepSEA 4/4, Basset 3/3, DanQ 13/13) against cuDNN's dense conv
//     followed by strand's separate ReLU and max-pool kernels (the pool writes its argmax, as in
//     training); precision bf16 stores bf16 on both sides.
//   Like with like, per precision: fp32 rows compare fp32-accurate arithmetic on both sides (custom
//     3xTF32 tensor-core products, cuDNN its FMA kernels: cuDNN has no 3xTF32), tf32 rows TF32
//     tensor cores on both, bf16 rows bf16 on both. The scratch/workspace allocations stay in the
//     pool between iterations (kernels/common/mem_pool.h), as in training.
//   gpu/sm90_<pass>/<precision>/<shape>/N<n>: the Hopper TMA + wgmma kernel (forced with
//     Conv1dCustomKernel::kSm90; the gpu/<pass> rows force the portable implicit GEMM) against
//     cuDNN, tf32 and bf16, on the mid layers it takes; compute capability 9.0 only.
//   gpu/sm90_fused_relu_pool/<precision>/<shape>/N<n>: conv + bias + ReLU + max pool 4 fused in
//     the Hopper kernel's epilogue against cuDNN's conv followed by strand's separate ReLU and
//     max-pool kernels (the pool writes its argmax indices, as in training).
//   cpu/<algo>/<pass>/<shape>/N64: the CPU reference (first layers, forward only: it is slow) and
//     the fast im2col + OpenBLAS path, GFLOP/s; cpu/onehot_{reference,fast}/... the CPU one-hot
//     gather loops and the expand-then-GEMM path, counted at the dense conv's FLOPs.
#include "kernels/conv1d/conv1d.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kernels/conv1d/conv1d_onehot.h"
#include "kernels/conv1d/conv1d_onehot_pool.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/pool/pool.h"

#if STRAND_WITH_CUDA
#include <cuda_runtime.h>

#include "kernels/common/cuda_check.h"
#endif

namespace {

using strand::BFloat16;
using namespace strand::kernels;

struct NamedShape {
  const char* name;
  Conv1dShape shape;  // batch filled in per benchmark
};

// N is set later; "same" padding for Basset and the dilated stack, valid for DeepSEA and DanQ.
const std::vector<NamedShape>& genomic_shapes() {
  static const std::vector<NamedShape> shapes = {
      {"deepsea1_4x320_k8_L1000", {1, 4, 320, 1000, 8}},
      {"deepsea2_320x480_k8_L248", {1, 320, 480, 248, 8}},
      {"deepsea3_480x960_k8_L60", {1, 480, 960, 60, 8}},
      {"basset1_4x300_k19_L600", {1, 4, 300, 600, 19, 1, 9, 9}},
      {"basset2_300x200_k11_L200", {1, 300, 200, 200, 11, 1, 5, 5}},
      {"basset3_200x200_k7_L70", {1, 200, 200, 70, 7, 1, 3, 3}},
      {"danq1_4x320_k26_L1000", {1, 4, 320, 1000, 26}},
      {"dilated_288x288_k3_d4_L1024", {1, 288, 288, 1024, 3, 1, 4, 4, 4}},
  };
  return shapes;
}

Conv1dShape with_batch(Conv1dShape s, int64_t n) {
  s.batch = n;
  return s;
}

bool first_layer(const Conv1dShape& s) { return s.in_channels == 4; }

// The max pool after each model's first layer.
OnehotPool first_layer_pool(const std::string& name) {
  if (name.rfind("basset", 0) == 0) return {3, 3};
  if (name.rfind("danq", 0) == 0) return {13, 13};
  return {4, 4};
}

// ---- CPU ------------------------------------------------------------------------------------

std::vector<float> filled(int64_t n, float seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<float>((i * 2654435761u) % 1000) * 1e-3f - seed;
  return v;
}

void cpu_bench(benchmark::State& state, Conv1dShape s, Conv1dPass pass, Conv1dCpuAlgo algo) {
  const auto x = filled(s.x_numel(), 0.5f), w = filled(s.w_numel(), 0.4f),
             b = filled(s.out_channels, 0.3f), dy = filled(s.y_numel(), 0.2f);
  std::vector<float> out(static_cast<size_t>(std::max({s.x_numel(), s.y_numel(), s.w_numel()})));
  for (auto _ : state) {
    switch (pass) {
      case Conv1dPass::kForward:
        cpu::conv1d_forward<float>({}, s, x.data(), w.data(), b.data(), out.data(), algo);
        break;
      case Conv1dPass::kBackwardData:
        cpu::conv1d_backward_data<float>({}, s, dy.data(), w.data(), out.data(), algo);
        break;
      case Conv1dPass::kBackwardWeight:
        cpu::conv1d_backward_weight<float>({}, s, x.data(), dy.data(), out.data(), false, algo);
        break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP"] = benchmark::Counter(
      s.flops() * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}

void cpu_onehot_bench(benchmark::State& state, Conv1dShape s, Conv1dPass pass, Conv1dCpuAlgo algo) {
  std::vector<uint8_t> bases(static_cast<size_t>(s.batch * s.in_length));
  for (size_t i = 0; i < bases.size(); ++i) bases[i] = static_cast<uint8_t>((i * 7 + i / 5) % 5);
  const auto w = filled(s.w_numel(), 0.4f), b = filled(s.out_channels, 0.3f),
             dy = filled(s.y_numel(), 0.2f);
  std::vector<float> out(static_cast<size_t>(std::max(s.y_numel(), s.w_numel())));
  for (auto _ : state) {
    if (pass == Conv1dPass::kForward) {
      cpu::conv1d_onehot_forward<float>({}, s, BaseEncoding::kCodes, bases.data(), w.data(),
                                        b.data(), out.data(), algo);
    } else {
      cpu::conv1d_onehot_backward_weight<float>({}, s, BaseEncoding::kCodes, bases.data(),
                                                dy.data(), out.data(), false, algo);
    }
    benchmark::DoNotOptimize(out.data());
  }
  // Counted as the dense conv it replaces, so the rate compares directly with cpu/fast.
  state.counters["GFLOP"] = benchmark::Counter(
      s.flops() * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}

// ---- GPU ------------------------------------------------------------------------------------

#if STRAND_WITH_CUDA

bool have_device() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return n > 0;
}

// A device buffer filled with the byte 0x3C (0.0115 as float and as bf16): values do not matter
// for timing, only that they are finite.
struct Device {
  void* ptr = nullptr;
  explicit Device(size_t bytes, int byte = 0x3C) {
    STRAND_CUDA_CHECK(cudaMalloc(&ptr, std::max<size_t>(bytes, 1)));
    STRAND_CUDA_CHECK(cudaMemset(ptr, byte, bytes));
  }
  ~Device() { cudaFree(ptr); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr);
  }
};

struct EventTimer {
  cudaEvent_t e[3];
  EventTimer() {
    for (auto& x : e) STRAND_CUDA_CHECK(cudaEventCreate(&x));
  }
  ~EventTimer() {
    for (auto& x : e) cudaEventDestroy(x);
  }
  // Seconds of a() and of b(), run back to back on the default stream.
  template <typename A, typename B>
  std::pair<double, double> time(A&& a, B&& b) {
    STRAND_CUDA_CHECK(cudaEventRecord(e[0]));
    a();
    STRAND_CUDA_CHECK(cudaEventRecord(e[1]));
    b();
    STRAND_CUDA_CHECK(cudaEventRecord(e[2]));
    STRAND_CUDA_CHECK(cudaEventSynchronize(e[2]));
    float ta = 0, tb = 0;
    STRAND_CUDA_CHECK(cudaEventElapsedTime(&ta, e[0], e[1]));
    STRAND_CUDA_CHECK(cudaEventElapsedTime(&tb, e[1], e[2]));
    return {ta * 1e-3, tb * 1e-3};
  }
};

void report(benchmark::State& state, double flops, double ours_s, double theirs_s, const char* ours,
            const char* theirs) {
  const double iters = static_cast<double>(state.iterations());
  state.counters[std::string(ours) + "_TFLOP/s"] = flops * iters / ours_s * 1e-12;
  state.counters[std::string(theirs) + "_TFLOP/s"] = flops * iters / theirs_s * 1e-12;
  state.counters[std::string(theirs) + "_over_" + ours] = theirs_s / ours_s;
}

// Times ours() against theirs(), back to back in every iteration after one warm-up call of each
// (where cuDNN finds its algorithm), and reports both rates and their ratio.
template <typename A, typename B>
void time_against(benchmark::State& state, double flops, A&& ours, B&& theirs,
                  const char* ours_name, const char* theirs_name) {
  ours();
  theirs();
  STRAND_CUDA_CHECK(cudaDeviceSynchronize());
  EventTimer timer;
  double ours_s = 0, theirs_s = 0;
  for (auto _ : state) {
    const auto [a, c] = timer.time(ours, theirs);
    ours_s += a;
    theirs_s += c;
    state.SetIterationTime(a);
  }
  report(state, flops, ours_s, theirs_s, ours_name, theirs_name);
}

template <typename T>
void gpu_pass(const Conv1dShape& s, Conv1dPass pass, Conv1dGpuOptions opt, const Device& x,
              const Device& w, const Device& b, const Device& dy, const Device& out) {
  switch (pass) {
    case Conv1dPass::kForward:
      cuda::conv1d_forward<T>({}, s, x.as<T>(), w.as<T>(), b.as<T>(), out.as<T>(), opt);
      break;
    case Conv1dPass::kBackwardData:
      cuda::conv1d_backward_data<T>({}, s, dy.as<T>(), w.as<T>(), out.as<T>(), opt);
      break;
    case Conv1dPass::kBackwardWeight:
      cuda::conv1d_backward_weight<T>({}, s, x.as<T>(), dy.as<T>(), out.as<T>(), false, opt);
      break;
  }
}

bool have_hopper() {
  if (!have_device()) return false;
  int major = 0, minor = 0;
  STRAND_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0));
  STRAND_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0));
  return major == 9 && minor == 0;
}
void gpu_bench(benchmark::State& state, Conv1dShape s, Conv1dPass pass, Conv1dPrecision p,
               Conv1dCustomKernel kernel) {
  if (!have_device()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  if (kernel == Conv1dCustomKernel::kSm90 && !have_hopper()) {
    state.SkipWithError("the sm_90a kernel needs compute capability 9.0");
    return;
  }
  const size_t elem = p == Conv1dPrecision::kBf16 ? 2 : 4;
  const Device x(s.x_numel() * elem), w(s.w_numel() * elem), b(s.out_channels * elem),
      dy(s.y_numel() * elem), out(std::max({s.x_numel(), s.y_numel(), s.w_numel()}) * elem);
  auto run = [&](Conv1dGpuAlgo algo) {
    const Conv1dGpuOptions opt{p, algo, kernel};
    if (p == Conv1dPrecision::kBf16) {
      gpu_pass<BFloat16>(s, pass, opt, x, w, b, dy, out);
    } else {
      gpu_pass<float>(s, pass, opt, x, w, b, dy, out);
    }
  };
  time_against(
      state, s.flops(), [&] { run(Conv1dGpuAlgo::kCustom); }, [&] { run(Conv1dGpuAlgo::kCudnn); },
      kernel == Conv1dCustomKernel::kSm90 ? "sm90" : "custom", "cudnn");
}
template <typename T>
void fused_pass(const Conv1dShape& s, Conv1dPrecision p, bool fused, const Device& x,
                const Device& w, const Device& b, const Device& conv, const Device& out,
                const Device& index) {
  constexpr int64_t kPool = 4;
  if (fused) {
    cuda::conv1d_forward_fused<T>({}, s, x.as<T>(), w.as<T>(), b.as<T>(), out.as<T>(),
                                  {true, kPool},
                                  {p, Conv1dGpuAlgo::kCustom, Conv1dCustomKernel::kSm90});
    return;
  }
  cuda::conv1d_forward<T>({}, s, x.as<T>(), w.as<T>(), b.as<T>(), conv.as<T>(),
                          {p, Conv1dGpuAlgo::kCudnn});
  cuda::unary<T>({}, UnaryOp::kRelu, s.y_numel(), conv.as<T>(), conv.as<T>(), 0.0, 0.0);
  const Pool1dShape ps{s.batch * s.out_channels, s.out_length(), kPool, kPool, 0};
  cuda::max_pool1d<T>({}, ps, conv.as<T>(), out.as<T>(), index.as<int64_t>());
}
void gpu_fused_bench(benchmark::State& state, Conv1dShape s, Conv1dPrecision p) {
  if (!have_hopper()) {
    state.SkipWithError("the sm_90a kernel needs compute capability 9.0");
    return;
  }
  const size_t elem = p == Conv1dPrecision::kBf16 ? 2 : 4;
  const Device x(s.x_numel() * elem), w(s.w_numel() * elem), b(s.out_channels * elem),
      conv(s.y_numel() * elem), out(s.y_numel() * elem), index(s.y_numel() * 8);
  auto run = [&](bool fused) {
    if (p == Conv1dPrecision::kBf16) {
      fused_pass<BFloat16>(s, p, fused, x, w, b, conv, out, index);
    } else {
      fused_pass<float>(s, p, fused, x, w, b, conv, out, index);
    }
  };
  time_against(
      state, s.flops(), [&] { run(true); }, [&] { run(false); }, "sm90_fused", "cudnn_relu_pool");
}

// One-hot kernel vs cuDNN on the dense one-hot input; p is kTf32 (float weights) or kBf16.
void gpu_onehot_bench(benchmark::State& state, Conv1dShape s, Conv1dPass pass, Conv1dPrecision p) {
  if (!have_device()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const bool bf16 = p == Conv1dPrecision::kBf16;
  const size_t elem = bf16 ? 2 : 4;
  // Mixed bases, the CPU one-hot benchmark's pattern (codes 0-4): one constant base would send
  // every thread down the same branch to the same weight row, which real sequence never does.
  const Device bases(s.batch * s.in_length), x(s.x_numel() * elem), w(s.w_numel() * elem),
      b(s.out_channels * elem), dy(s.y_numel() * elem),
      out(std::max(s.y_numel(), s.w_numel()) * elem);
  std::vector<uint8_t> codes(static_cast<size_t>(s.batch * s.in_length));
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<uint8_t>((i * 7 + i / 5) % 5);
  STRAND_CUDA_CHECK(cudaMemcpy(bases.ptr, codes.data(), codes.size(), cudaMemcpyHostToDevice));
  auto onehot = [&] {
    if (pass == Conv1dPass::kForward) {
      if (bf16) {
        cuda::conv1d_onehot_forward<BFloat16>({}, s, BaseEncoding::kCodes, bases.as<uint8_t>(),
                                              w.as<BFloat16>(), b.as<BFloat16>(),
                                              out.as<BFloat16>());
      } else {
        cuda::conv1d_onehot_forward<float>({}, s, BaseEncoding::kCodes, bases.as<uint8_t>(),
                                           w.as<float>(), b.as<float>(), out.as<float>());
      }
    } else if (bf16) {
      cuda::conv1d_onehot_backward_weight<BFloat16>(
          {}, s, BaseEncoding::kCodes, bases.as<uint8_t>(), dy.as<BFloat16>(), out.as<BFloat16>());
    } else {
      cuda::conv1d_onehot_backward_weight<float>({}, s, BaseEncoding::kCodes, bases.as<uint8_t>(),
                                                 dy.as<float>(), out.as<float>());
    }
  };
  auto dense = [&] {
    const Conv1dGpuOptions opt{p, Conv1dGpuAlgo::kCudnn};
    if (bf16) {
      gpu_pass<BFloat16>(s, pass, opt, x, w, b, dy, out);
    } else {
      gpu_pass<float>(s, pass, opt, x, w, b, dy, out);
    }
  };
  time_against(state, s.flops(), onehot, dense, "onehot", "cudnn");
}

// Fused one-hot conv + ReLU + max pool vs cuDNN conv, then ReLU, then max pool; p is kTf32
// (float) or kBf16.
void gpu_onehot_pool_bench(benchmark::State& state, Conv1dShape s, OnehotPool pool,
                           Conv1dPrecision p) {
  if (!have_device()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const bool bf16 = p == Conv1dPrecision::kBf16;
  const size_t elem = bf16 ? 2 : 4;
  const Pool1dShape ps{s.batch * s.out_channels, s.out_length(), pool.size, pool.stride, 0};
  const int64_t pooled = ps.rows * ps.out_length();
  const Device bases(s.batch * s.in_length), x(s.x_numel() * elem), w(s.w_numel() * elem),
      b(s.out_channels * elem), conv(s.y_numel() * elem), out(pooled * elem),
      index(pooled * sizeof(int64_t));
  std::vector<uint8_t> codes(static_cast<size_t>(s.batch * s.in_length));
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<uint8_t>((i * 7 + i / 5) % 5);
  STRAND_CUDA_CHECK(cudaMemcpy(bases.ptr, codes.data(), codes.size(), cudaMemcpyHostToDevice));
  auto fused = [&] {
    if (bf16) {
      cuda::conv1d_onehot_relu_maxpool<BFloat16>({}, s, pool, BaseEncoding::kCodes,
                                                 bases.as<uint8_t>(), w.as<BFloat16>(),
                                                 b.as<BFloat16>(), out.as<BFloat16>());
    } else {
      cuda::conv1d_onehot_relu_maxpool<float>({}, s, pool, BaseEncoding::kCodes,
                                              bases.as<uint8_t>(), w.as<float>(), b.as<float>(),
                                              out.as<float>());
    }
  };
  auto separate = [&] {
    const Conv1dGpuOptions opt{p, Conv1dGpuAlgo::kCudnn};
    auto steps = [&](auto tag) {
      using T = decltype(tag);
      cuda::conv1d_forward<T>({}, s, x.as<T>(), w.as<T>(), b.as<T>(), conv.as<T>(), opt);
      cuda::unary<T>({}, UnaryOp::kRelu, s.y_numel(), conv.as<T>(), conv.as<T>(), 0, 0);
      cuda::max_pool1d<T>({}, ps, conv.as<T>(), out.as<T>(), index.as<int64_t>());
    };
    if (bf16) {
      steps(BFloat16{});
    } else {
      steps(float{});
    }
  };
  time_against(state, s.flops(), fused, separate, "fused", "cudnn_relu_pool");
}

#endif  // STRAND_WITH_CUDA

void register_all() {
  constexpr Conv1dPass kPasses[] = {Conv1dPass::kForward, Conv1dPass::kBackwardData,
                                    Conv1dPass::kBackwardWeight};
  for (const NamedShape& ns : genomic_shapes()) {
    const Conv1dShape s = with_batch(ns.shape, 64);
    if (first_layer(s)) {
      benchmark::RegisterBenchmark(
          ("cpu/reference/forward/" + std::string(ns.name) + "/N64").c_str(), cpu_bench, s,
          Conv1dPass::kForward, Conv1dCpuAlgo::kReference)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      for (Conv1dPass pass : {Conv1dPass::kForward, Conv1dPass::kBackwardWeight}) {
        for (Conv1dCpuAlgo algo : {Conv1dCpuAlgo::kReference, Conv1dCpuAlgo::kFast}) {
          const std::string kind =
              algo == Conv1dCpuAlgo::kFast ? "onehot_fast" : "onehot_reference";
          benchmark::RegisterBenchmark(
              ("cpu/" + kind + "/" + to_string(pass) + "/" + ns.name + "/N64").c_str(),
              cpu_onehot_bench, s, pass, algo)
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime();
        }
      }
    }
    for (Conv1dPass pass : kPasses) {
      benchmark::RegisterBenchmark(
          ("cpu/fast/" + std::string(to_string(pass)) + "/" + ns.name + "/N64").c_str(), cpu_bench,
          s, pass, Conv1dCpuAlgo::kFast)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
#if STRAND_WITH_CUDA
  for (const NamedShape& ns : genomic_shapes()) {
    for (int64_t n : {64, 256}) {
      const Conv1dShape s = with_batch(ns.shape, n);
      const std::string tail = std::string(ns.name) + "/N" + std::to_string(n);
      for (Conv1dPrecision p :
           {Conv1dPrecision::kFp32, Conv1dPrecision::kTf32, Conv1dPrecision::kBf16}) {
        for (Conv1dPass pass : kPasses) {
          benchmark::RegisterBenchmark(
              ("gpu/" + std::string(to_string(pass)) + "/" + to_string(p) + "/" + tail).c_str(),
              gpu_bench, s, pass, p, Conv1dCustomKernel::kPortable)
              ->UseManualTime()
              ->Unit(benchmark::kMicrosecond);
          if (p == Conv1dPrecision::kFp32 || conv1d_sm90_unsupported_reason(pass, s, p)) continue;
          benchmark::RegisterBenchmark(
              ("gpu/sm90_" + std::string(to_string(pass)) + "/" + to_string(p) + "/" + tail)
                  .c_str(),
              gpu_bench, s, pass, p, Conv1dCustomKernel::kSm90)
              ->UseManualTime()
              ->Unit(benchmark::kMicrosecond);
        }
        if (p != Conv1dPrecision::kFp32 && !first_layer(s) &&
            !conv1d_sm90_unsupported_reason(Conv1dPass::kForward, s, p) && s.out_length() >= 4) {
          benchmark::RegisterBenchmark(
              ("gpu/sm90_fused_relu_pool/" + std::string(to_string(p)) + "/" + tail).c_str(),
              gpu_fused_bench, s, p)
              ->UseManualTime()
              ->Unit(benchmark::kMicrosecond);
        }
      }
      if (!first_layer(s)) continue;
      for (Conv1dPrecision p : {Conv1dPrecision::kTf32, Conv1dPrecision::kBf16}) {
        for (Conv1dPass pass : {Conv1dPass::kForward, Conv1dPass::kBackwardWeight}) {
          benchmark::RegisterBenchmark(
              ("gpu/onehot_" + std::string(to_string(pass)) + "/" + to_string(p) + "/" + tail)
                  .c_str(),
              gpu_onehot_bench, s, pass, p)
              ->UseManualTime()
              ->Unit(benchmark::kMicrosecond);
        }
        benchmark::RegisterBenchmark(
            ("gpu/onehot_relu_pool/" + std::string(to_string(p)) + "/" + tail).c_str(),
            gpu_onehot_pool_bench, s, first_layer_pool(ns.name), p)
            ->UseManualTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
#endif
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
