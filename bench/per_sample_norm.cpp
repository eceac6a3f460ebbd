// Per-example gradient norms (kernels/per_sample_norm/per_sample_norm.h), the ghost (Gram matrix)
// path against the materialized path (per-example gradients formed tile by tile, the Opacus-style
// unfold-and-multiply without writing them out) and, on convolutions, the input-Gram path (on
// tensor cores on the GPU), on the layers of DeepSEA, Basset and DanQ, all timed in turn in one
// iteration so machine load hits them alike, to check the cost model's pick:
//   {cpu,gpu}/<layer>/N<n>: counters ghost_ms, materialized_ms (per call), materialized_over_ghost
//     (> 1: ghost is faster), ghost_MMAC and materialized_MMAC (the cost model's multiply-adds);
//     on convolutions input_gram_ms, ghost_over_input_gram and materialized_over_input_gram
//     (> 1: the input Gram is faster), input_gram_MMAC; pick_was_faster (1 when the method the
//     model picks, choose_conv_norm_method on convolutions, was the fastest here); the label
//     names the pick and the winner. Iteration time is the sum of the methods'.
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

// The methods a layer has: convolutions also the input Gram.
std::vector<NormMethod> methods(const Layer& l) {
  if (l.kind == Kind::kDense) return {NormMethod::kGhost, NormMethod::kMaterialized};
  return {NormMethod::kGhost, NormMethod::kMaterialized, NormMethod::kInputGram};
}

// seconds[i]: total time of methods(l)[i] over the iterations.
void report(benchmark::State& state, const Layer& l, int64_t n,
            const std::vector<double>& seconds) {
  const PerSampleShape s = problem(l, n);
  const double iters = static_cast<double>(state.iterations());
  const double ghost_s = seconds[0], mat_s = seconds[1];
  state.counters["ghost_ms"] = ghost_s / iters * 1e3;
  state.counters["materialized_ms"] = mat_s / iters * 1e3;
  state.counters["materialized_over_ghost"] = mat_s / ghost_s;
  state.counters["ghost_MMAC"] = ghost_cost(s) * 1e-6;
  state.counters["materialized_MMAC"] = materialized_cost(s) * 1e-6;
  NormMethod pick = choose_norm_method(s);
  const std::vector<NormMethod> ms = methods(l);
  if (ms.size() == 3) {
    Conv1dShape c = l.conv;
    c.batch = n;
    const double gram_s = seconds[2];
    state.counters["input_gram_ms"] = gram_s / iters * 1e3;
    state.counters["ghost_over_input_gram"] = ghost_s / gram_s;
    state.counters["materialized_over_input_gram"] = mat_s / gram_s;
    state.counters["input_gram_MMAC"] = input_gram_cost(c, l.kind == Kind::kBases) * 1e-6;
    pick = choose_conv_norm_method(c, l.kind == Kind::kBases);
  }
  size_t best = 0;
  for (size_t i = 1; i < ms.size(); ++i) {
    if (seconds[i] < seconds[best]) best = i;
  }
  state.counters["pick_was_faster"] = pick == ms[best] ? 1 : 0;
  state.SetLabel(std::string("picks ") + norm_method_name(pick) + ", faster " +
                 norm_method_name(ms[best]));
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
  const std::vector<NormMethod> ms = methods(l);
  std::vector<double> seconds(ms.size(), 0.0);
  for (auto _ : state) {
    double total = 0;
    for (size_t i = 0; i < ms.size(); ++i) {
      const auto start = std::chrono::steady_clock::now();
      call(ms[i]);
      const double t = seconds_since(start);
      seconds[i] += t;
      total += t;
    }
    state.SetIterationTime(total);
  }
  report(state, l, n, seconds);
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
  const std::vector<NormMethod> ms = methods(l);
  for (NormMethod m : ms) call(m);  // warm-up
  STRAND_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<cudaEvent_t> e(ms.size() + 1);
  for (auto& x : e) STRAND_CUDA_CHECK(cudaEventCreate(&x));
  std::vector<double> seconds(ms.size(), 0.0);
  for (auto _ : state) {
    STRAND_CUDA_CHECK(cudaEventRecord(e[0]));
    for (size_t i = 0; i < ms.size(); ++i) {
      call(ms[i]);
      STRAND_CUDA_CHECK(cudaEventRecord(e[i + 1]));
    }
    STRAND_CUDA_CHECK(cudaEventSynchronize(e.back()));
    float total_ms = 0;
    for (size_t i = 0; i < ms.size(); ++i) {
      float ms_i = 0;
      STRAND_CUDA_CHECK(cudaEventElapsedTime(&ms_i, e[i], e[i + 1]));
      seconds[i] += ms_i * 1e-3;
      total_ms += ms_i;
    }
    state.SetIterationTime(total_ms * 1e-3);
  }
  for (auto& x : e) cudaEventDestroy(x);
  report(state, l, n, seconds);
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
