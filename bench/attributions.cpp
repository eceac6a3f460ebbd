// Attributions per second on DeepSEA at 1 kb (CPU, fp32, eval mode, random weights): DeepLIFT/
// DeepSHAP with dinucleotide-shuffled references, and input x gradient, for one task. The peer,
// tangermeme's deep_lift_shap on the PyTorch twin (bench/torch_models.py), is timed by
// bench/attributions_tangermeme.py; bench/attributions.sh runs both side by side.
#include "interpret/attributions.h"

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "layers/models.h"
#include "runtime/rng.h"

namespace {

using strand::interpret::AttributionMethod;

void BM_Attributions(benchmark::State& state) {
  const auto method = static_cast<AttributionMethod>(state.range(0));
  const int64_t sequences = 4, references = state.range(1), length = 1000;
  strand::runtime::manual_seed(1);
  auto model = strand::layers::deepsea(length, 919);
  model->eval();
  std::mt19937_64 rng(2);
  std::vector<uint8_t> codes(sequences * length);
  for (auto& c : codes) c = static_cast<uint8_t>(rng() % 4);
  strand::interpret::AttributionOptions o;
  o.method = method;
  o.tasks = {0};
  o.references = references;
  o.batch_size = 20;
  for (auto _ : state) {
    auto a = strand::interpret::attribute_codes(*model, codes, length, o);
    benchmark::DoNotOptimize(a.attributions.data());
  }
  state.counters["sequences/s"] = benchmark::Counter(static_cast<double>(sequences),
                                                     benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(strand::interpret::attribution_method_name(method));
}

BENCHMARK(BM_Attributions)
    ->ArgNames({"method", "references"})
    ->Args({static_cast<int>(AttributionMethod::kDeepLift), 20})
    ->Args({static_cast<int>(AttributionMethod::kInputXGradient), 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1)
    ->Repetitions(2);

}  // namespace

BENCHMARK_MAIN();
