// Per-example gradient norms (kernels/per_sample_norm/per_sample_norm.h), the ghost (Gram matrix)
// path against the materialized path on the layers of DeepSEA, Basset and DanQ, each pair timed
// alternately in one iteration so machine load hits both alike, to check choose_norm_method's pick:
//   {cpu,gpu}/<layer>/N<n>: counters ghost_ms, materialized_ms (per call), materialized_over_ghost
//     (> 1: ghost is faster), ghost_MMAC and materialized_MMAC (the cost model's multiply-adds)
//     and pick_was_faster (1 when the method the model picks was the faster one here); the label
//     names the pick and the winner. Iteration time is the pair's.
// First convolutions take base codes (the DP engine's conv1d_bases path), later ones dense
// inputs, Linear layers one position per example; DanQ's LSTM gate weights are dense rows over
// the 75 pooled steps. GPU benchmarks are skipped without a CUDA device.
#include "kernels/per_sample_norm/per_sample_norm.h"

#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#if STRAND_WITH_CUDA
#include <cuda_runtime.h>

#include "kernels/common/cuda_check.h"
#endif

namespace {

using namespace strand::kernels;

enum class Kind { kBases, kConv, kDense };

struct Layer {
  const char* name;
  Kind kind;
  Conv1dShape conv;      // kBases, kConv (batch set per benchmark)
  PerSampleShape dense;  // kDense (batch set per benchmark)
};

// Input lengths 1000 (DeepSEA, DanQ) and 600 (Basset); lengths after each pooling as in
// layers/models.cpp.
const std::vector<Layer>& layers() {
  static const std::vector<Layer> all = {
      {"deepsea_conv1_4x320_k8_L1000", Kind::kBases, {1, 4, 320, 1000, 8}, {}},
      {"deepsea_conv2_320x480_k8_L248", Kind::kConv, {1, 320, 480, 248, 8}, {}},
      {"deepsea_conv3_480x960_k8_L60", Kind::kConv, {1, 480, 960, 60, 8}, {}},
      {"deepsea_linear_50880x925", Kind::kDense, {}, {1, 1, 50880, 925}},
      {"deepsea_linear_925x919", Kind::kDense, {}, {1, 1, 925, 919}},
      {"basset_conv1_4x300_k19_L600", Kind::kBases, {1, 4, 300, 600, 19, 1, 9, 9}, {}},
      {"basset_conv2_300x200_k11_L200", Kind::kConv, {1, 300, 200, 200, 11, 1, 5, 5}, {}},
      {"basset_conv3_200x200_k7_L50", Kind::kConv, {1, 200, 200, 50, 7, 1, 3, 3}, {}},
      {"basset_linear_2400x1000", Kind::kDense, {}, {1, 1, 2400, 1000}},
      {"basset_linear_1000x1000", Kind::kDense, {}, {1, 1, 1000, 1000}},
      {"danq_conv1_4x320_k26_L1000", Kind::kBases, {1, 4, 320, 1000, 26}, {}},
      {"danq_lstm_gates_T75_320x1280", Kind::kDense, {}, {1, 75, 320, 1280}},
      {"danq_linear_48000x925", Kind::kDense, {}, {1, 1, 48000, 925}},
  };
  return all;
}

PerSampleShape problem(const Layer& l, int64_t n) {
  if (l.kind == Kind::kDense) {
    PerSampleShape s = l.dense;
    s.batch = n;
    return s;
  }
  Conv1dShape c = l.conv;
  c.batch = n;
  return conv_per_sample_shape(c);
}

// Element counts of the layer's input (or base codes) and output gradient for a batch of n.
struct Sizes {
  int64_t a, g;
};
Sizes sizes(const Layer& l, int64_t n) {
  if (l.kind == Kind::kDense)
    return {n * l.dense.positions * l.dense.in_dim, n * l.dense.positions * l.dense.out_dim};
  Conv1dShape c = l.conv;
  c.batch = n;
  return {c.x_numel() / (l.kind == Kind::kBases ? 4 : 1), c.y_numel()};
}

// The kernels of one device (CPU and CUDA share their signatures).
struct Kernels {
  decltype(&cpu::per_sample_norm_dense<float>) dense;
  decltype(&cpu::per_sample_norm_conv1d<float>) conv;
  decltype(&cpu::per_sample_norm_bases<float>) bases;
};

// One call of the layer's norm kernel with method m.
void run_norm(const Kernels& k, const Layer& l, int64_t n, NormMethod m, const float* a,
              const uint8_t* bases, const float* g, float* out) {
  const PerSampleShape s = problem(l, n);
  if (l.kind == Kind::kDense) {
    // a [N, T, in], g [N, T, out], both batch-major.
    k.dense({}, s, SampleRows<float>{a, s.positions * s.in_dim, s.in_dim, 1},
            SampleRows<float>{g, s.positions * s.out_dim, s.out_dim, 1}, m, out);
    return;
  }
  Conv1dShape c = l.conv;
  c.batch = n;
  // dy [N, C_out, L_out] as the DP engine passes it.
  const SampleRows<float> gr{g, s.out_dim * s.positions, 1, s.positions};
  if (l.kind == Kind::kBases) {
    k.bases({}, c, bases, gr, m, out);
  } else {
    k.conv({}, c, a, gr, m, out);
  }
}

void report(benchmark::State& state, const PerSampleShape& s, double ghost_s, double mat_s) {
  const double iters = static_cast<double>(state.iterations());
  state.counters["ghost_ms"] = ghost_s / iters * 1e3;
  state.counters["materialized_ms"] = mat_s / iters * 1e3;
  state.counters["materialized_over_ghost"] = mat_s / ghost_s;
  state.counters["ghost_MMAC"] = ghost_cost(s) * 1e-6;
  state.counters["materialized_MMAC"] = materialized_cost(s) * 1e-6;
  const NormMethod pick = choose_norm_method(s);
  const NormMethod faster = ghost_s <= mat_s ? NormMethod::kGhost : NormMethod::kMaterialized;
  state.counters["pick_was_faster"] = pick == faster ? 1 : 0;
  state.SetLabel(std::string("picks ") + norm_method_name(pick) + ", faster " +
                 norm_method_name(faster));
}

// ---- CPU ------------------------------------------------------------------------------------

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void cpu_bench(benchmark::State& state, const Layer& l, int64_t n) {
  const Sizes z = sizes(l, n);
  // Values do not matter for timing, only that they are finite and not denormal.
  const std::vector<float> a(z.a, 0.01f), g(z.g, 0.02f);
  std::vector<uint8_t> bases(l.kind == Kind::kBases ? z.a : 0);
  for (size_t i = 0; i < bases.size(); ++i) bases[i] = static_cast<uint8_t>((i * 7 + i / 5) % 5);
  std::vector<float> out(n);
  auto call = [&](NormMethod m) {
    run_norm({cpu::per_sample_norm_dense<float>, cpu::per_sample_norm_conv1d<float>,
              cpu::per_sample_norm_bases<float>},
             l, n, m, a.data(), bases.data(), g.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  };
  double ghost_s = 0, mat_s = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    call(NormMethod::kGhost);
    const double g_s = seconds_since(start);
    start = std::chrono::steady_clock::now();
    call(NormMethod::kMaterialized);
    const double m_s = seconds_since(start);
    ghost_s += g_s, mat_s += m_s;
    state.SetIterationTime(g_s + m_s);
  }
  report(state, problem(l, n), ghost_s, mat_s);
}

// ---- GPU ------------------------------------------------------------------------------------

#if STRAND_WITH_CUDA

bool have_device() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return count > 0;
}

// A device buffer set to a byte pattern (0x3C: a small finite float; bases take codes 0..4).
struct DeviceBytes {
  void* ptr = nullptr;
  DeviceBytes(size_t bytes, int byte) {
    STRAND_CUDA_CHECK(cudaMalloc(&ptr, std::max<size_t>(bytes, 1)));
    STRAND_CUDA_CHECK(cudaMemset(ptr, byte, bytes));
  }
  ~DeviceBytes() { cudaFree(ptr); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr);
  }
};

void gpu_bench(benchmark::State& state, const Layer& l, int64_t n) {
  if (!have_device()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const Sizes z = sizes(l, n);
  const DeviceBytes a(z.a * sizeof(float), 0x3C), bases(l.kind == Kind::kBases ? z.a : 0, 0x02),
      g(z.g * sizeof(float), 0x3C), out(n * sizeof(float), 0);
  auto call = [&](NormMethod m) {
    run_norm({cuda::per_sample_norm_dense<float>, cuda::per_sample_norm_conv1d<float>,
              cuda::per_sample_norm_bases<float>},
             l, n, m, a.as<float>(), bases.as<uint8_t>(), g.as<float>(), out.as<float>());
  };
  call(NormMethod::kGhost);  // warm-up
  call(NormMethod::kMaterialized);
  STRAND_CUDA_CHECK(cudaDeviceSynchronize());
  cudaEvent_t e[3];
  for (auto& x : e) STRAND_CUDA_CHECK(cudaEventCreate(&x));
  double ghost_s = 0, mat_s = 0;
  for (auto _ : state) {
    STRAND_CUDA_CHECK(cudaEventRecord(e[0]));
    call(NormMethod::kGhost);
    STRAND_CUDA_CHECK(cudaEventRecord(e[1]));
    call(NormMethod::kMaterialized);
    STRAND_CUDA_CHECK(cudaEventRecord(e[2]));
    STRAND_CUDA_CHECK(cudaEventSynchronize(e[2]));
    float g_ms = 0, m_ms = 0;
    STRAND_CUDA_CHECK(cudaEventElapsedTime(&g_ms, e[0], e[1]));
    STRAND_CUDA_CHECK(cudaEventElapsedTime(&m_ms, e[1], e[2]));
    ghost_s += g_ms * 1e-3, mat_s += m_ms * 1e-3;
    state.SetIterationTime((g_ms + m_ms) * 1e-3);
  }
  for (auto& x : e) cudaEventDestroy(x);
  report(state, problem(l, n), ghost_s, mat_s);
}

#endif  // STRAND_WITH_CUDA

void register_all() {
  // CPU: batch 8 (the kernels loop over examples, so time is linear in N); GPU: a training batch.
  for (const Layer& l : layers()) {
    benchmark::RegisterBenchmark((std::string("cpu/") + l.name + "/N8").c_str(), cpu_bench, l, 8)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
#if STRAND_WITH_CUDA
  for (const Layer& l : layers()) {
    benchmark::RegisterBenchmark((std::string("gpu/") + l.name + "/N64").c_str(), gpu_bench, l, 64)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
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
