// DP-SGD overhead: a private training step (forward, per-example norms, clip factors, the
// reweighted weight-gradient pass, noise, Adam) against the ordinary step (forward, backward,
// Adam) on the same model and batch, timed alternately in one benchmark so machine load hits
// both alike. Counters: each step's time, their ratio, and the peak tensor memory of each
// (runtime::memory_stats) with its ratio. Batch 32 of base codes, fp32, train mode.
#include <benchmark/benchmark.h>

#include <chrono>

#include "layers/models.h"
#include "layers/privacy.h"
#include "runtime/autograd.h"
#include "runtime/ops.h"
#include "runtime/optim.h"
#include "runtime/rng.h"
#include "runtime/storage.h"

namespace {

using namespace strand;
using namespace strand::runtime;

struct ModelCase {
  const char* name;
  int64_t length, outputs;
};
constexpr ModelCase kModels[] = {
    {"cnn", 200, 2}, {"deepsea", 1000, 919}, {"basset-groupnorm", 600, 164}, {"danq", 1000, 919}};

double seconds_of(const std::function<void()>& fn, const Device& device) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  synchronize(device);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

size_t peak_of(const std::function<void()>& fn, const Device& device) {
  synchronize(device);
  reset_peak_memory();
  fn();
  synchronize(device);
  const MemoryStats m = memory_stats();
  return device.is_cuda() ? m.device_peak : m.host_peak;
}

void BM_DpStepOverhead(benchmark::State& state) {
  const ModelCase& m = kModels[state.range(0)];
  const Device device = state.range(1) ? Device::cuda(0) : Device::cpu();
  if (device.is_cuda() && cuda_device_count() == 0) {
    state.SkipWithError("no CUDA device");
    return;
  }
  constexpr int64_t kBatch = 32;
  manual_seed(1);
  auto model = layers::build_model(m.name, m.length, m.outputs);
  model->to(device);
  Adam optimizer(model->parameters(), {.lr = 1e-3});
  PerSampleClipper clipper = layers::make_private(*model, {.max_grad_norm = 1.0});
  Generator noise(5);
  const Tensor codes = (rand({kBatch, m.length}, 2, {.device = device}) * 4.0).to(DType::kU8);
  const Tensor labels =
      (rand({kBatch, m.outputs}, 3, {.device = device}) + 0.5).to(DType::kI64).to(DType::kF32);
  const auto plain = [&] {
    const Tensor loss = binary_cross_entropy_with_logits((*model)(codes), labels);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  };
  const auto priv = [&] {
    const Tensor loss = binary_cross_entropy_with_logits((*model)(codes), labels);
    optimizer.zero_grad();
    clipper.backward(loss, kBatch, static_cast<double>(kBatch));
    clipper.add_noise(noise, 1.0, static_cast<double>(kBatch));
    optimizer.step();
  };
  plain();  // warm-up: allocations, algorithm choices
  priv();
  const double plain_peak = static_cast<double>(peak_of(plain, device));
  const double priv_peak = static_cast<double>(peak_of(priv, device));
  double plain_s = 0, priv_s = 0;
  for (auto _ : state) {
    const double a = seconds_of(plain, device);
    const double b = seconds_of(priv, device);
    plain_s += a, priv_s += b;
    state.SetIterationTime(a + b);
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["plain_ms"] = 1e3 * plain_s / n;
  state.counters["private_ms"] = 1e3 * priv_s / n;
  state.counters["time_ratio"] = priv_s / plain_s;
  state.counters["plain_peak_MB"] = plain_peak / 1e6;
  state.counters["private_peak_MB"] = priv_peak / 1e6;
  state.counters["mem_ratio"] = priv_peak / plain_peak;
  std::string methods;
  for (const auto& l : clipper.layers()) methods += l.method.empty() ? "" : l.method.substr(0, 1);
  state.SetLabel(std::string(m.name) + (device.is_cuda() ? " cuda" : " cpu") + " norms " + methods);
}
BENCHMARK(BM_DpStepOverhead)
    ->ArgsProduct({{0, 1, 2, 3}, {0}})
    ->ArgNames({"model", "cuda"})
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->MinTime(1.0);
BENCHMARK(BM_DpStepOverhead)
    ->ArgsProduct({{0, 1, 2, 3}, {1}})
    ->ArgNames({"model", "cuda"})
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

}  // namespace

BENCHMARK_MAIN();
