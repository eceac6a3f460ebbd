// What the op benchmarks share (bench/elementwise.cpp, bench/gemm.cpp): the device a case runs
// on (its first argument, 0 = CPU, 1 = CUDA), skipping CUDA cases without a device, and a timing
// loop that times CUDA iterations with events around the stream's work.
#pragma once

#include <benchmark/benchmark.h>

#include "runtime/device.h"

namespace strand::bench {

inline runtime::Device device_of(const benchmark::State& state) {
  return state.range(0) == 0 ? runtime::Device::cpu() : runtime::Device::cuda(0);
}

inline bool skip_without_device(benchmark::State& state, const runtime::Device& d) {
  if (d.is_cuda() && runtime::cuda_device_count() == 0) {
    state.SkipWithError("no CUDA device");
    return true;
  }
  return false;
}

// Runs body once per iteration; CUDA iterations are timed with events around the stream's work.
template <typename Body>
void timed_loop(benchmark::State& state, const runtime::Device& d, Body&& body) {
  using namespace strand::runtime;
  if (d.is_cpu()) {
    for (auto _ : state) body();
    return;
  }
  body();  // warm-up: pools, handles, first-launch costs
  synchronize(d);
  Event start(true), stop(true);
  for (auto _ : state) {
    start.record(current_stream(d.index));
    body();
    stop.record(current_stream(d.index));
    stop.synchronize();
    state.SetIterationTime(start.elapsed_ms(stop) / 1e3);
  }
}

}  // namespace strand::bench
