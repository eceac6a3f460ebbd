// LSTM benchmarks: the CPU fast path on the DanQ shape, and on a GPU the custom path (persistent
// or per-step GEMM) beside cuDNN, forward and forward+backward, DanQ shapes and a hidden-size
// sweep. GPU benchmarks are registered only when a CUDA device is present.
// Like with like in f32: cuDNN (standard and persistent algorithms, FMA math) against the custom
// recurrences (persistent: FFMA; cluster: 3xTF32 tensor-core products, fp32-accurate; cuBLAS
// SGEMM without TF32 around them). cuDNN's time includes packing the weights into its weight
// space each call (device copies, which a framework that keeps cuDNN's layout avoids);
// descriptor setup is cached and stays out of the timing. bf16 rows: the custom kernels only.
#include "kernels/rnn/rnn.h"

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#if STRAND_WITH_CUDA
#include <cuda_runtime.h>

#include "core/bfloat16.h"
#include "core/error.h"
#include "kernels/common/cuda_check.h"
#endif

namespace {

using strand::kernels::RnnAlgo;
using strand::kernels::RnnInputs;
using strand::kernels::RnnLayerGrads;
using strand::kernels::RnnLayerWeights;
using strand::kernels::RnnMode;
using strand::kernels::RnnShape;

RnnShape lstm_shape(int64_t T, int64_t N, int64_t I, int64_t H, bool bidirectional) {
  RnnShape s;
  s.mode = RnnMode::kLstm;
  s.seq_len = T;
  s.batch = N;
  s.input_size = I;
  s.hidden_size = H;
  s.bidirectional = bidirectional;
  s.batch_first = true;
  return s;
}

// Multiply-adds of forward: gate products of input and recurrence; backward does about twice.
double forward_flops(const RnnShape& s) {
  return 2.0 * s.seq_len * s.batch * s.gates() * s.hidden_size * (s.input_size + s.hidden_size) *
         s.dirs() * s.num_layers;
}

std::vector<float> random_floats(size_t n, uint64_t seed, float scale) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> out(n);
  for (auto& v : out) v = dist(gen);
  return out;
}

// All host buffers of one problem (parameters in rnn_parameters order).
struct HostProblem {
  explicit HostProblem(const RnnShape& s) : shape(s) {
    x = random_floats(s.seq_len * s.batch * s.input_size, 1, 1.f);
    dy = random_floats(s.seq_len * s.batch * s.output_size(), 2, 1.f);
    uint64_t seed = 3;
    for (const auto& info : strand::kernels::rnn_parameters(s)) {
      int64_t count = 1;
      for (int64_t d : info.shape) count *= d;
      params.push_back(random_floats(count, seed++, 0.05f));
      grads.emplace_back(count, 0.f);
    }
  }
  template <typename P, typename Get>
  std::vector<P> sets(Get get) const {
    std::vector<P> out;
    for (int64_t i = 0; i < shape.num_layers * shape.dirs(); ++i)
      out.push_back({get(4 * i), get(4 * i + 1), get(4 * i + 2), get(4 * i + 3)});
    return out;
  }
  RnnShape shape;
  std::vector<float> x, dy;
  std::vector<std::vector<float>> params, grads;
};

// CPU seconds used by the whole process (all threads): on a shared machine this, unlike wall
// time, does not grow with other processes' load.
double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

void cpu_rnn(benchmark::State& state, bool backward) {
  const RnnShape s = lstm_shape(75, state.range(0), 320, 320, true);
  HostProblem p(s);
  const auto w = p.sets<RnnLayerWeights<float>>([&](int64_t i) { return p.params[i].data(); });
  const auto g = p.sets<RnnLayerGrads<float>>([&](int64_t i) { return p.grads[i].data(); });
  std::vector<float> y(p.dy.size()), dx(p.x.size());
  std::vector<unsigned char> reserve(
      strand::kernels::cpu::rnn_reserve_bytes(s, strand::DType::kF32));
  const RnnInputs<float> in{p.x.data(), {}, nullptr, nullptr, w, {}};
  const strand::kernels::Context ctx{};  // the CPU kernels ignore the stream
  const double cpu_start = process_cpu_seconds();
  for (auto _ : state) {
    strand::kernels::cpu::rnn_forward(ctx, s, in, {y.data(), nullptr, nullptr}, reserve.data());
    if (backward)
      strand::kernels::cpu::rnn_backward(ctx, s, in, reserve.data(),
                                         {p.dy.data(), nullptr, nullptr},
                                         {dx.data(), nullptr, nullptr, g});
    benchmark::DoNotOptimize(y.data());
  }
  const double cpu_seconds = process_cpu_seconds() - cpu_start;
  state.counters["samples/cpu_s"] = double(s.batch) * state.iterations() / cpu_seconds;
  const double flops = forward_flops(s) * (backward ? 3 : 1);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["samples/s"] =
      benchmark::Counter(double(s.batch) * state.iterations(), benchmark::Counter::kIsRate);
}

void BM_CpuLstmDanQForward(benchmark::State& state) { cpu_rnn(state, false); }
void BM_CpuLstmDanQForwardBackward(benchmark::State& state) { cpu_rnn(state, true); }
BENCHMARK(BM_CpuLstmDanQForward)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CpuLstmDanQForwardBackward)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

#if STRAND_WITH_CUDA

struct DeviceMemory {
  explicit DeviceMemory(size_t bytes) {
    STRAND_CUDA_CHECK(cudaMalloc(&ptr, std::max<size_t>(bytes, 1)));
  }
  ~DeviceMemory() { cudaFree(ptr); }
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  float* f() { return static_cast<float*>(ptr); }
  void* ptr = nullptr;
};

// Uploads v as T (float, or bf16 for the custom kernels' bf16 rows).
template <typename T>
std::unique_ptr<DeviceMemory> upload(const std::vector<float>& v) {
  const std::vector<T> host(v.begin(), v.end());
  auto m = std::make_unique<DeviceMemory>(host.size() * sizeof(T));
  STRAND_CUDA_CHECK(
      cudaMemcpy(m->ptr, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  return m;
}

template <typename T>
void gpu_rnn(benchmark::State& state, RnnShape s, RnnAlgo algo, bool backward) {
  namespace kc = strand::kernels::cuda;
  const strand::DType dtype = strand::dtype_of<T>;
  HostProblem p(s);
  auto x = upload<T>(p.x), dy = upload<T>(p.dy);
  std::vector<std::unique_ptr<DeviceMemory>> params, grads;
  for (size_t i = 0; i < p.params.size(); ++i) {
    params.push_back(upload<T>(p.params[i]));
    grads.push_back(upload<T>(p.grads[i]));
  }
  auto as_t = [](DeviceMemory& m) { return static_cast<T*>(m.ptr); };
  const auto w = p.sets<RnnLayerWeights<T>>([&](int64_t i) { return as_t(*params[i]); });
  const auto g = p.sets<RnnLayerGrads<T>>([&](int64_t i) { return as_t(*grads[i]); });
  DeviceMemory y(p.dy.size() * sizeof(T)), dx(p.x.size() * sizeof(T));
  // On a non-blocking stream of its own, as in training (never the legacy default stream).
  cudaStream_t stream = nullptr;
  STRAND_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const strand::kernels::Context ctx{stream, 0};
  // An algorithm that cannot run this shape here (a forced on-chip kernel that does not fit,
  // cuDNN refusing a persistent algorithm) is a skipped row with cuDNN's or strand's reason.
  try {
    DeviceMemory reserve(kc::rnn_reserve_bytes(ctx, s, dtype, algo));
    const size_t ws_bytes = kc::rnn_workspace_bytes(ctx, s, dtype, algo);
    DeviceMemory ws(ws_bytes);
    const RnnInputs<T> in{as_t(*x), {}, nullptr, nullptr, w, {}};
    cudaEvent_t start, stop;
    STRAND_CUDA_CHECK(cudaEventCreate(&start));
    STRAND_CUDA_CHECK(cudaEventCreate(&stop));
    auto once = [&] {
      kc::rnn_forward(ctx, s, in, {as_t(y), nullptr, nullptr}, algo, reserve.ptr, ws.ptr, ws_bytes);
      if (backward)
        kc::rnn_backward(ctx, s, in, reserve.ptr, {as_t(*dy), nullptr, nullptr},
                         {as_t(dx), nullptr, nullptr, g, {}}, algo, ws.ptr, ws_bytes);
    };
    once();  // warm-up: handles, descriptors, first-touch
    for (auto _ : state) {
      STRAND_CUDA_CHECK(cudaEventRecord(start, stream));
      once();
      STRAND_CUDA_CHECK(cudaEventRecord(stop, stream));
      STRAND_CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0;
      STRAND_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      state.SetIterationTime(ms * 1e-3);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    state.SetLabel(kc::rnn_path_name(ctx, s, dtype, algo));
  } catch (const strand::Error& e) {
    state.SkipWithError(e.what());
  }
  STRAND_CUDA_CHECK(cudaStreamSynchronize(stream));
  cudaStreamDestroy(stream);
  const double flops = forward_flops(s) * (backward ? 3 : 1);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["samples/s"] =
      benchmark::Counter(double(s.batch) * state.iterations(), benchmark::Counter::kIsRate);
}

void register_gpu_benchmarks() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    cudaGetLastError();
    return;
  }
  struct Named {
    std::string name;
    RnnShape shape;
  };
  std::vector<Named> shapes;
  for (int64_t n : {64, 100, 256})
    shapes.push_back({strand::format("DanQ/N{}", n), lstm_shape(75, n, 320, 320, true)});
  for (int64_t h : {128, 256, 512, 1024})
    for (int64_t t : {100, 1000})
      shapes.push_back({strand::format("H{}/T{}", h, t), lstm_shape(t, 64, h, h, false)});
  // f32 rows: auto's pick (the cluster recurrence on compute capability 9.0), each custom
  // recurrence forced, and cuDNN's standard and persistent algorithms; bf16 rows for the custom
  // kernels (cuDNN's path here is f32 only).
  struct Algo {
    const char* name;
    RnnAlgo algo;
    bool bf16;
  };
  const Algo algos[] = {{"custom", RnnAlgo::kCustom, false},
                        {"cluster", RnnAlgo::kCustomCluster, false},
                        {"persistent", RnnAlgo::kCustomPersistent, false},
                        {"step_gemm", RnnAlgo::kCustomStepGemm, false},
                        {"cudnn", RnnAlgo::kCudnn, false},
                        {"cudnn_persist_static", RnnAlgo::kCudnnPersistStatic, false},
                        {"cudnn_persist_small_h", RnnAlgo::kCudnnPersistSmallH, false},
                        {"cluster_bf16", RnnAlgo::kCustomCluster, true},
                        {"persistent_bf16", RnnAlgo::kCustomPersistent, true}};
  for (const auto& sh : shapes)
    for (bool backward : {false, true})
      for (const Algo& a : algos) {
        const std::string name =
            strand::format("BM_GpuLstm/{}/{}/{}", sh.name, backward ? "fwd_bwd" : "fwd", a.name);
        const RnnShape shape = sh.shape;
        const RnnAlgo algo = a.algo;
        auto run = a.bf16 ? +[](benchmark::State& st, RnnShape s, RnnAlgo al,
                                bool b) { gpu_rnn<strand::BFloat16>(st, s, al, b); }
                          : +[](benchmark::State& st, RnnShape s, RnnAlgo al, bool b) {
                              gpu_rnn<float>(st, s, al, b);
                            };
        benchmark::RegisterBenchmark(name.c_str(),
                                     [=](benchmark::State& st) { run(st, shape, algo, backward); })
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
      }
}

#else
void register_gpu_benchmarks() {}
#endif

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  register_gpu_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
