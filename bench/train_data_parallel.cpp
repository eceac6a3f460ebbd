// Data-parallel training throughput: one step = forward, BCE with logits, backward with the
// gradient buckets all-reduced from the autograd hooks, Adam; per-rank batch 16 (CPU) or 64 (GPU).
// Counters: samples/s over all ranks, comm_ms (time some bucket was in flight per step),
// exposed_ms (the part after backward ended, what the step pays), hidden (the fraction of comm_ms
// overlapped with backward), buckets per step, params.
//   One process: the same step without communication, the baseline for scaling efficiency.
//   mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 build/bench_train_data_parallel
// Every rank runs fixed iteration counts (collectives must match); rank 0 reports.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>

#include "bench/silent_reporter.h"
#include "layers/models.h"
#include "runtime/autograd.h"
#include "runtime/comm.h"
#include "runtime/data_parallel.h"
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
constexpr ModelCase kModels[] = {{"deepsea", 1000, 919}, {"danq", 1000, 919}, {"cnn", 200, 2}};

std::shared_ptr<Communicator> g_comm;  // null: one process

// range(0): model; range(1): bucket MiB (0: no communication); range(2): bf16 compression.
void BM_DataParallelStep(benchmark::State& state) {
  const ModelCase& m = kModels[state.range(0)];
  const Device device = g_comm ? g_comm->device() : Device::cpu();
  const int64_t batch = device.is_cuda() ? 64 : 16;
  const int ranks = g_comm ? g_comm->size() : 1;
  manual_seed(1);
  auto model = layers::build_model(m.name, m.length, m.outputs);
  model->to(device);
  Adam optimizer(model->parameters(), {.lr = 1e-3});
  std::unique_ptr<GradReducer> reducer;
  if (g_comm && state.range(1) > 0) {
    broadcast_tensors(*g_comm, model->parameters());
    reducer = std::make_unique<GradReducer>(
        g_comm, model->parameters(),
        ReducerOptions{.bucket_mb = static_cast<double>(state.range(1)),
                       .bf16_compression = state.range(2) != 0});
  }
  const uint64_t rank_seed = g_comm ? static_cast<uint64_t>(g_comm->rank()) : 0;
  const Tensor codes =
      (rand({batch, m.length}, 2 + rank_seed, {.device = device}) * 4.0).to(DType::kU8);
  const Tensor labels = (rand({batch, m.outputs}, 3 + rank_seed, {.device = device}) + 0.5)
                            .to(DType::kI64)
                            .to(DType::kF32);
  auto step = [&] {
    const Tensor loss = binary_cross_entropy_with_logits((*model)(codes), labels);
    optimizer.zero_grad();
    loss.backward();
    if (reducer) reducer->finish();
    optimizer.step();
  };
  step();  // warm-up: allocations, connections
  synchronize(device);
  const ReduceStats before = reducer ? reducer->total() : ReduceStats{};
  for (auto _ : state) {
    step();
    synchronize(device);
  }
  state.counters["samples/s"] = benchmark::Counter(
      static_cast<double>(batch * ranks * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["ranks"] = ranks;
  state.counters["params"] = static_cast<double>(model->parameter_count());
  if (reducer) {
    const ReduceStats& t = reducer->total();
    const double steps = static_cast<double>(t.steps - before.steps);
    const double comm = t.comm_seconds - before.comm_seconds;
    const double hidden = t.hidden_seconds - before.hidden_seconds;
    state.counters["comm_ms"] = 1e3 * comm / steps;
    state.counters["exposed_ms"] = 1e3 * (comm - hidden) / steps;
    state.counters["hidden"] = comm > 0 ? hidden / comm : 1.0;
    state.counters["buckets"] = static_cast<double>(t.buckets - before.buckets) / steps;
  }
  state.SetLabel(std::string(m.name) + (device.is_cuda() ? " cuda" : " cpu") + " batch/rank " +
                 std::to_string(batch));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const LaunchInfo launch = detect_launch();
  if (launch.distributed()) {
    const Device requested =
        cuda_device_count() >= launch.local_world_size ? Device::cuda() : Device::cpu();
    g_comm = make_communicator(launch, device_for_rank(launch, requested));
  }
  // Without a launcher: the step without communication (bucket 0); with one: 25 MB buckets (the
  // default), 1 MB buckets (more overlap, more calls) and 25 MB in bf16.
  const std::vector<std::vector<int64_t>> variants =
      g_comm ? std::vector<std::vector<int64_t>>{{25, 0}, {1, 0}, {25, 1}}
             : std::vector<std::vector<int64_t>>{{0, 0}};
  for (int64_t model = 0; model < 3; ++model) {
    for (const auto& v : variants) {
      benchmark::RegisterBenchmark("BM_DataParallelStep", BM_DataParallelStep)
          ->Args({model, v[0], v[1]})
          ->ArgNames({"model", "bucket_mb", "bf16"})
          ->Iterations(model == 2 ? 20 : 4)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  if (launch.rank == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    strand::bench::SilentReporter silent;
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  g_comm.reset();
  benchmark::Shutdown();
  return 0;
}
