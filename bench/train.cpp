// End-to-end training throughput (samples/s): one step = forward, binary cross-entropy, backward,
// Adam update, at batch 64 in fp32 (and bf16 on GPU), for the published models on their published
// input lengths. The reference points are PyTorch's train steps on the same machine class.
#include <benchmark/benchmark.h>

#include "layers/models.h"
#include "runtime/autograd.h"
#include "runtime/ops.h"
#include "runtime/optim.h"
#include "runtime/rng.h"

namespace {

using namespace strand;
using namespace strand::runtime;

struct ModelCase {
  const char* name;
  int64_t length, outputs;
};
constexpr ModelCase kModels[] = {{"deepsea", 1000, 919}, {"basset", 600, 164}, {"danq", 1000, 919}};

void BM_TrainStep(benchmark::State& state) {
  const ModelCase& m = kModels[state.range(0)];
  const Device device = state.range(1) ? Device::cuda(0) : Device::cpu();
  const DType dtype = state.range(2) ? DType::kBF16 : DType::kF32;
  if (device.is_cuda() && cuda_device_count() == 0) {
    state.SkipWithError("no CUDA device");
    return;
  }
  constexpr int64_t kBatch = 64;
  manual_seed(1);
  auto model = layers::build_model(m.name, m.length, m.outputs);
  model->to(device);
  if (dtype != DType::kF32) model->to(dtype);
  Adam optimizer(model->parameters(), {.lr = 1e-3});
  // Base codes: the first layer takes the one-hot path.
  const Tensor codes = (rand({kBatch, m.length}, 2, {.device = device}) * 4.0).to(DType::kU8);
  const Tensor labels =
      (rand({kBatch, m.outputs}, 3, {.device = device}) + 0.5).to(DType::kI64).to(dtype);
  auto step = [&] {
    const Tensor loss = binary_cross_entropy_with_logits((*model)(codes), labels);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  };
  step();  // warm-up: allocations, cuDNN/auto algorithm choice
  synchronize(device);
  for (auto _ : state) {
    step();
    synchronize(device);
  }
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(kBatch * state.iterations()),
                                                   benchmark::Counter::kIsRate);
  state.SetLabel(std::string(m.name) + (device.is_cuda() ? " cuda" : " cpu") +
                 (dtype == DType::kBF16 ? " bf16" : " fp32"));
}
BENCHMARK(BM_TrainStep)
    ->ArgsProduct({{0, 1, 2}, {0}, {0}})
    ->ArgNames({"model", "cuda", "bf16"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK(BM_TrainStep)
    ->ArgsProduct({{0, 1, 2}, {1}, {0, 1}})
    ->ArgNames({"model", "cuda", "bf16"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
