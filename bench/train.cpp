// End-to-end training throughput (samples/s): one step = forward, binary cross-entropy, backward,
// Adam update, at batch 64, for the published models on their published input lengths; and
// inference throughput (forward in eval mode without gradients, batch 64). fp32, and bf16: on the
// CPU bf16 autocast (fp32 weights, bf16 conv/matmul inputs with fp32 accumulation, on CPUs with
// AVX512-BF16 or AMX), on the GPU a bf16 model. bench/torch_side_by_side.py runs PyTorch's same
// steps beside this program and prints the ratios.
#include <benchmark/benchmark.h>

#include "core/omp_wait.h"
#include "kernels/common/onednn.h"
#include "layers/autocast.h"
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
  // bf16 on the CPU is autocast: fp32 model and labels, bf16 math inside the kernels.
  const bool cpu_bf16 = !device.is_cuda() && dtype == DType::kBF16;
  if (cpu_bf16 && !kernels::cpu::cpu_kernel_info().bf16) {
    state.SkipWithError("this CPU has no AVX512-BF16 or AMX");
    return;
  }
  const layers::AutocastGuard autocast(cpu_bf16);
  manual_seed(1);
  auto model = layers::build_model(m.name, m.length, m.outputs);
  model->to(device);
  if (dtype != DType::kF32 && !cpu_bf16) model->to(dtype);
  Adam optimizer(model->parameters(), {.lr = 1e-3});
  // Base codes: the first layer takes the one-hot path.
  const Tensor codes = (rand({kBatch, m.length}, 2, {.device = device}) * 4.0).to(DType::kU8);
  const Tensor labels = (rand({kBatch, m.outputs}, 3, {.device = device}) + 0.5)
                            .to(DType::kI64)
                            .to(cpu_bf16 ? DType::kF32 : dtype);
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
// Scoring: eval mode, no gradients; fp32 or (CPU) bf16 autocast.
void BM_Predict(benchmark::State& state) {
  const ModelCase& m = kModels[state.range(0)];
  const bool bf16 = state.range(1) != 0;
  if (bf16 && !kernels::cpu::cpu_kernel_info().bf16) {
    state.SkipWithError("this CPU has no AVX512-BF16 or AMX");
    return;
  }
  constexpr int64_t kBatch = 64;
  manual_seed(1);
  auto model = layers::build_model(m.name, m.length, m.outputs);
  model->eval();
  const layers::AutocastGuard autocast(bf16);
  const NoGradGuard no_grad;
  const Tensor codes = (rand({kBatch, m.length}, 2) * 4.0).to(DType::kU8);
  benchmark::DoNotOptimize((*model)(codes));  // warm-up
  for (auto _ : state) {
    const Tensor out = (*model)(codes);
    benchmark::DoNotOptimize(out.data<float>());
  }
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(kBatch * state.iterations()),
                                                   benchmark::Counter::kIsRate);
  state.SetLabel(std::string(m.name) + " cpu" + (bf16 ? " bf16" : " fp32"));
}

BENCHMARK(BM_TrainStep)
    ->ArgsProduct({{0, 1, 2}, {0}, {0, 1}})
    ->ArgNames({"model", "cuda", "bf16"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK(BM_TrainStep)
    ->ArgsProduct({{0, 1, 2}, {1}, {0, 1}})
    ->ArgNames({"model", "cuda", "bf16"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Predict)
    ->ArgsProduct({{0, 1, 2}, {0, 1}})
    ->ArgNames({"model", "bf16"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  strand::choose_omp_wait_policy(argv);  // as the strand program does (core/omp_wait.h)
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
