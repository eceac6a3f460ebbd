// Data loading throughput: sequences per second from an indexed FASTA + BED (1 kb windows) into
// batches, single- and multi-threaded, plus the encoders. A synthetic 32 Mb genome (plain and
// bgzip) and a 20,000-interval BED are written to a temporary directory at start.
#include <benchmark/benchmark.h>
#include <htslib/bgzf.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>

#include "data/dataset.h"
#include "data/encoding.h"
#include "data/fasta.h"
#include "data/loader.h"

namespace {

using namespace strand::data;

constexpr int kChromosomes = 16;
constexpr int64_t kChromosomeLength = 2'000'000;  // 16 x 2 Mb = 32 Mb
constexpr int kIntervals = 20'000;
constexpr int64_t kWindow = 1000;

struct Genome {
  std::string dir, fasta, bgzip, bed;
  std::shared_ptr<Dataset> plain, compressed;
  std::vector<int64_t> all;

  Genome() {
    std::string templ = (std::filesystem::temp_directory_path() / "strand_bench_XXXXXX").string();
    dir = mkdtemp(templ.data());
    fasta = dir + "/genome.fa";
    bgzip = dir + "/genome.fa.gz";
    bed = dir + "/peaks.bed";
    uint64_t state = 42;
    auto next = [&] {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      return state >> 33;
    };
    std::string text;
    text.reserve(static_cast<size_t>(kChromosomes * (kChromosomeLength * 61 / 60 + 16)));
    for (int c = 0; c < kChromosomes; ++c) {
      text += ">chr" + std::to_string(c + 1) + "\n";
      for (int64_t i = 0; i < kChromosomeLength; ++i) {
        const uint64_t r = next();
        // Mostly ACGT, some soft-masked runs and an occasional N, like a real assembly.
        char b = "ACGT"[r & 3];
        if ((i / 5000) % 7 == 3) b = static_cast<char>(b + 32);
        if ((r >> 8) % 5000 == 0) b = 'N';
        text += b;
        if ((i + 1) % 60 == 0 || i + 1 == kChromosomeLength) text += '\n';
      }
    }
    std::ofstream(fasta, std::ios::binary) << text;
    BGZF* fp = bgzf_open(bgzip.c_str(), "w");
    if (bgzf_write(fp, text.data(), text.size()) < 0 || bgzf_close(fp) != 0) std::abort();
    std::ofstream out(bed);
    out << "#chrom\tstart\tend\tbound\tsignal\n";
    for (int i = 0; i < kIntervals; ++i) {
      const int c = static_cast<int>(next() % kChromosomes);
      const int64_t start = static_cast<int64_t>(next() % (kChromosomeLength - 600));
      out << "chr" << c + 1 << '\t' << start << '\t' << start + 200 + next() % 400 << '\t'
          << next() % 2 << '\t' << (next() % 1000) / 100.0 << '\n';
    }
    out.close();
    plain = std::make_shared<Dataset>(Dataset::from_bed(bed, fasta, kWindow));
    compressed = std::make_shared<Dataset>(Dataset::from_bed(bed, bgzip, kWindow));
    all.resize(plain->size());
    std::iota(all.begin(), all.end(), 0);
  }
  ~Genome() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Genome& genome() {
  static Genome g;
  return g;
}

// One epoch over the 20,000 windows through the loader; arg 0: workers, arg 1: one-hot too.
void run_loader(benchmark::State& state, const std::shared_ptr<Dataset>& d) {
  LoaderOptions o;
  o.batch_size = 256;
  o.workers = static_cast<int>(state.range(0));
  o.one_hot = state.range(1) != 0;
  o.reverse_complement = true;
  o.prefetch = 2 * o.workers + 2;
  BatchLoader loader(d, genome().all, o);
  int64_t epoch = 0, sequences = 0;
  for (auto _ : state) {
    loader.start_epoch(epoch++);
    while (auto b = loader.next()) {
      sequences += b->size;
      benchmark::DoNotOptimize(b->codes.raw_data());
    }
  }
  state.counters["seq/s"] =
      benchmark::Counter(static_cast<double>(sequences), benchmark::Counter::kIsRate);
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(sequences * kWindow) / 1e6,
                                              benchmark::Counter::kIsRate);
}

void BM_LoaderIndexedFasta(benchmark::State& state) { run_loader(state, genome().plain); }
void BM_LoaderBgzipFasta(benchmark::State& state) { run_loader(state, genome().compressed); }

BENCHMARK(BM_LoaderIndexedFasta)
    ->ArgNames({"workers", "one_hot"})
    ->Args({1, 0})
    ->Args({2, 0})
    ->Args({4, 0})
    ->Args({1, 1})
    ->Args({2, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_LoaderBgzipFasta)
    ->ArgNames({"workers", "one_hot"})
    ->Args({1, 0})
    ->Args({2, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Window reads alone (no batching), one thread.
void BM_WindowRead(benchmark::State& state) {
  const auto& d = *genome().plain;
  auto reader = d.reader();
  std::vector<uint8_t> codes(kWindow);
  std::vector<float> labels(d.num_outputs());
  int64_t i = 0;
  for (auto _ : state) {
    reader.read(i, codes.data(), labels.data());
    benchmark::DoNotOptimize(codes.data());
    i = (i + 7919) % d.size();
  }
  state.counters["seq/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_WindowRead);

std::string random_text(int64_t n) {
  std::string s(n, 'A');
  uint64_t state = 7;
  for (auto& c : s) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    c = "ACGTacgtN"[(state >> 33) % 9];
  }
  return s;
}

void BM_EncodeBases(benchmark::State& state) {
  const std::string s = random_text(1 << 20);
  std::vector<uint8_t> out(s.size());
  for (auto _ : state) {
    encode_bases(s, out.data(), "bench");
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GB/s"] = benchmark::Counter(
      static_cast<double>(s.size()) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EncodeBases);

void BM_OneHot(benchmark::State& state) {
  const auto codes = encode_bases(random_text(1 << 20));
  std::vector<float> out(4 * codes.size());
  for (auto _ : state) {
    one_hot(codes.data(), static_cast<int64_t>(codes.size()), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bases/s"] = benchmark::Counter(
      static_cast<double>(codes.size()) * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_OneHot);

}  // namespace

BENCHMARK_MAIN();
