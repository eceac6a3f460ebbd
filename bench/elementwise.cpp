// Elementwise bandwidth (GB/s) through strand's ops: a plain add and a broadcast bias add followed
// by ReLU, as after a convolution. CUDA cases report an error and skip where no device exists.
#include <benchmark/benchmark.h>

#include "bench/op_timing.h"
#include "runtime/ops.h"

namespace {

using namespace strand;
using namespace strand::runtime;
using namespace strand::bench;  // device_of, skip_without_device, timed_loop

void BM_Add(benchmark::State& state) {
  const Device d = device_of(state);
  if (skip_without_device(state, d)) return;
  const int64_t n = state.range(1);
  const Tensor a = rand({n}, 1, {.device = d}), b = rand({n}, 2, {.device = d});
  timed_loop(state, d, [&] { benchmark::DoNotOptimize(add(a, b)); });
  state.SetBytesProcessed(state.iterations() * n * 3 * sizeof(float));  // two reads, one write
}
BENCHMARK(BM_Add)->ArgsProduct({{0}, {1 << 16, 1 << 22}})->ArgNames({"cuda", "n"});
BENCHMARK(BM_Add)->ArgsProduct({{1}, {1 << 22, 1 << 26}})->ArgNames({"cuda", "n"})->UseManualTime();

void BM_BiasRelu(benchmark::State& state) {  // broadcast add then an activation, as after a conv
  const Device d = device_of(state);
  if (skip_without_device(state, d)) return;
  const int64_t n = 64, c = 320, l = state.range(1);
  const Tensor x = rand({n, c, l}, 1, {.device = d}), b = rand({c, 1}, 2, {.device = d});
  timed_loop(state, d, [&] { benchmark::DoNotOptimize(relu(add(x, b))); });
  state.SetBytesProcessed(state.iterations() * n * c * l * 4 * sizeof(float));
}
BENCHMARK(BM_BiasRelu)->ArgsProduct({{0}, {250}})->ArgNames({"cuda", "L"});
BENCHMARK(BM_BiasRelu)->ArgsProduct({{1}, {1000}})->ArgNames({"cuda", "L"})->UseManualTime();

}  // namespace

BENCHMARK_MAIN();
