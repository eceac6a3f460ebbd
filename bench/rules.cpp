// Leakage-check throughput (sequences/s) on random 1 kb sequences split 80/20 with 1% planted
// near-duplicates, at 10k, 100k and 500k sequences. The 500k case is the scale target
// (< 10 min on 2 cores); run it with --benchmark_filter=LeakageCheck/500000.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "rules/leakage.h"

namespace {

struct Data {
  std::vector<std::string> seqs;
  std::vector<int> split;
};

Data make_data(int64_t n) {
  std::mt19937_64 rng(1234);
  Data d;
  d.seqs.resize(n);
  d.split.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    d.split[i] = i % 5 == 0 ? 2 : 0;
    if (i % 100 == 1 && i > 1) {  // 1%: a 5%-mutated copy of an earlier sequence
      d.seqs[i] = d.seqs[i - 1];
      for (int m = 0; m < 50; ++m) d.seqs[i][rng() % 1000] = "ACGT"[rng() % 4];
      continue;
    }
    std::string s(1000, 'A');
    for (auto& c : s) c = "ACGT"[rng() % 4];
    d.seqs[i] = std::move(s);
  }
  return d;
}

void LeakageCheck(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Data d = make_data(n);
  int64_t flagged = 0;
  for (auto _ : state) {
    const auto report = strand::rules::find_duplicates(d.seqs, d.split, {});
    flagged = static_cast<int64_t>(report.pairs.size());
    benchmark::DoNotOptimize(flagged);
  }
  state.counters["sequences/s"] =
      benchmark::Counter(static_cast<double>(n) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["flagged"] = static_cast<double>(flagged);
}

BENCHMARK(LeakageCheck)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(500000)
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
