// In-silico mutagenesis and variant scoring on the CPU: the receptive-field fast path against
// naive recomputation of every mutant, side by side in one run (compare their ratio, not the
// absolute rates, on a shared machine).
//   Ism/<model>_<length>_fast: saturation mutagenesis of a whole random sequence (3 x length
//     mutants, the reference forward included, 512 per batch); _naive: the same over a
//     171-position window (513 mutants), 512 or 64 per batch. Counter: mutations/s.
//   Variants/<fast|naive>: score-variants on 1024 SNVs of a random 100 kb genome with Basset at
//     600 bp (reference window + ALT per variant). Counter: variants/s.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "interpret/ism.h"
#include "interpret/variants.h"
#include "layers/models.h"
#include "runtime/ops.h"
#include "runtime/rng.h"

namespace {

using strand::interpret::IsmOptions;
using strand::interpret::MutationScorer;

std::vector<uint8_t> random_codes(int64_t n) {
  std::mt19937_64 rng(42);
  std::vector<uint8_t> c(n);
  for (auto& b : c) b = static_cast<uint8_t>(rng() % 4);
  return c;
}

void Ism(benchmark::State& state, const std::string& name, int64_t length, bool naive,
         int64_t batch = 512) {
  strand::runtime::manual_seed(1);
  auto model = strand::layers::build_model(name, length, name == "deepsea" ? 919 : 164);
  MutationScorer scorer(*model, length, naive);
  const auto codes = random_codes(length);
  IsmOptions o;
  o.batch_size = batch;
  if (naive) {
    o.start = length / 2 - 85;
    o.end = o.start + 171;
  }
  int64_t mutations = 0;
  for (auto _ : state) {
    const auto r = strand::interpret::saturation_mutagenesis(scorer, codes.data(), o);
    benchmark::DoNotOptimize(r.effects.data());
    mutations += 3 * r.width;
  }
  state.counters["mutations/s"] =
      benchmark::Counter(static_cast<double>(mutations), benchmark::Counter::kIsRate);
  state.SetLabel(scorer.describe());
}

void Variants(benchmark::State& state, bool naive) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("strand_bench_variants_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::mt19937_64 rng(7);
  std::string genome(100000, 'A');
  for (auto& c : genome) c = "ACGT"[rng() % 4];
  std::ofstream(dir / "g.fa") << ">chr1\n" << genome << "\n";
  std::ostringstream vcf;
  vcf << "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n#"
         "CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
  for (int i = 0; i < 1024; ++i) {
    const int64_t pos = 1000 + static_cast<int64_t>(rng() % 98000);
    const char ref = genome[pos];
    char alt = "ACGT"[rng() % 4];
    if (alt == ref) alt = ref == 'A' ? 'C' : 'A';
    vcf << "chr1\t" << pos + 1 << "\t.\t" << ref << '\t' << alt << "\t.\t.\t.\n";
  }
  std::ofstream(dir / "v.vcf") << vcf.str();
  strand::runtime::manual_seed(1);
  auto model = strand::layers::basset(600, 164);
  MutationScorer scorer(*model, 600, naive);
  strand::interpret::VariantOptions o;
  o.vcf = (dir / "v.vcf").string();
  o.genome = (dir / "g.fa").string();
  for (int t = 0; t < 164; ++t) o.tasks.push_back(std::to_string(t));
  o.scores = [](const strand::runtime::Tensor& x) {
    return strand::runtime::sigmoid(x).to_vector<double>();
  };
  int64_t rows = 0;
  for (auto _ : state) {
    std::ostringstream out, log;
    rows += strand::interpret::score_variants(scorer, o, out, log).rows;
  }
  state.counters["variants/s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
  std::filesystem::remove_all(dir);
}

// Naive ISM at two batch sizes: its im2col buffers at 512 mutants x 1 kb are large, so the
// peer is also given a smaller batch and the faster of the two is the one to compare with.
#define STRAND_ISM_BENCH(label, ...)         \
  BENCHMARK_CAPTURE(Ism, label, __VA_ARGS__) \
      ->Unit(benchmark::kSecond)             \
      ->UseRealTime()                        \
      ->MeasureProcessCPUTime()
STRAND_ISM_BENCH(deepsea_1000_fast, "deepsea", 1000, false);
STRAND_ISM_BENCH(deepsea_1000_naive, "deepsea", 1000, true);
STRAND_ISM_BENCH(deepsea_1000_naive_batch64, "deepsea", 1000, true, 64);
STRAND_ISM_BENCH(basset_1000_fast, "basset", 1000, false);
STRAND_ISM_BENCH(basset_1000_naive, "basset", 1000, true);
STRAND_ISM_BENCH(basset_1000_naive_batch64, "basset", 1000, true, 64);
STRAND_ISM_BENCH(basset_600_fast, "basset", 600, false);
STRAND_ISM_BENCH(basset_600_naive, "basset", 600, true);
STRAND_ISM_BENCH(basset_600_naive_batch64, "basset", 600, true, 64);
BENCHMARK_CAPTURE(Variants, fast, false)
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Iterations(1);
BENCHMARK_CAPTURE(Variants, naive, true)
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
