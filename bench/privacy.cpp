// Accountant cost: epsilon for a DP-SGD run by RDP and by PLD (calls/s), and the noise-multiplier
// search, at the shapes training uses (q = 0.01, 1000 steps; q = 0.004, 10000 steps).
#include <benchmark/benchmark.h>

#include "rules/privacy_accountant.h"

namespace {

using strand::rules::AccountantKind;

struct Run {
  double q, sigma;
  int64_t steps;
};
constexpr Run kRuns[] = {{0.01, 1.0, 1000}, {0.004, 1.1, 10000}};

void BM_Epsilon(benchmark::State& state, AccountantKind kind) {
  const Run r = kRuns[state.range(0)];
  double eps = 0;
  for (auto _ : state) {
    eps = strand::rules::epsilon(kind, r.q, r.sigma, r.steps, 1e-5);
    benchmark::DoNotOptimize(eps);
  }
  state.counters["epsilon"] = eps;
  state.counters["steps"] = static_cast<double>(r.steps);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Epsilon, rdp, AccountantKind::kRdp)
    ->DenseRange(0, 1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Epsilon, pld, AccountantKind::kPld)
    ->DenseRange(0, 1)
    ->Unit(benchmark::kMillisecond);

void BM_NoiseMultiplier(benchmark::State& state, AccountantKind kind) {
  double sigma = 0;
  for (auto _ : state) {
    sigma = strand::rules::noise_multiplier_for(kind, 8.0, 0.01, 1000, 1e-5);
    benchmark::DoNotOptimize(sigma);
  }
  state.counters["sigma"] = sigma;
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_NoiseMultiplier, rdp, AccountantKind::kRdp)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_NoiseMultiplier, pld, AccountantKind::kPld)->Unit(benchmark::kMillisecond);

}  // namespace
BENCHMARK_MAIN();
