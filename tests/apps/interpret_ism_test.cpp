// `strand interpret ism` run as a user would: the fast path's arrays equal --naive's, the layout
// and the TSV follow the contract, BED windows give the same as the FASTA of those windows, and
// bad flags give one line and a non-zero exit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include "data/fasta.h"
#include "interpret/arrays.h"
#include "runtime/rng.h"
#include "tests/apps/run_cli.h"
#include "tests/data/temp_files.h"
#include "train/checkpoint.h"

namespace strand::apps {
namespace {

using cli_test::run_strand;
using data::testing::TempDir;
using data::testing::write_text;

constexpr int64_t kLength = 50;

std::string save_basset(const TempDir& dir) {
  runtime::manual_seed(21);
  train::ModelInfo info;
  info.name = "basset";
  info.length = kLength;
  info.outputs = 3;
  info.kind = "multi-label";
  info.tasks = {"ctcf", "sp1", "creb"};
  const std::string path = dir.file("model.safetensors");
  train::save_model(path, *train::build_model(info), info, {});
  return path;
}

int count_lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

TEST(InterpretIsmCli, FastEqualsNaiveAndFollowsTheLayout) {
  TempDir dir;
  const std::string model = save_basset(dir);
  std::mt19937_64 rng(4);
  std::vector<data::FastaRecord> records;
  for (int i = 0; i < 3; ++i) {
    std::string s(kLength, 'A');
    for (auto& c : s) c = "ACGT"[rng() % 4];
    records.push_back({"seq" + std::to_string(i), s});
  }
  records[1].sequence[0] = 'N';
  data::write_fasta(dir.file("in.fa"), records);
  const std::string base =
      "interpret ism --model " + model + " --fasta in.fa --task sp1 --task ctcf";
  const auto fast = run_strand(base + " --out fast --batch-size 37", dir.path());
  ASSERT_EQ(fast.status, 0) << fast.output;
  EXPECT_NE(fast.output.find("ism: fast:"), std::string::npos) << fast.output;
  const auto naive = run_strand(base + " --out naive --naive", dir.path());
  ASSERT_EQ(naive.status, 0) << naive.output;

  const auto a = interpret::load_npy(dir.file("fast/ism.npy"));
  const auto b = interpret::load_npy(dir.file("naive/ism.npy"));
  const auto c = interpret::load_npy(dir.file("fast/ism_centered.npy"));
  ASSERT_EQ(a.shape, (std::vector<int64_t>{3, 2, 4, kLength}));
  ASSERT_EQ(b.shape, a.shape);
  ASSERT_EQ(c.shape, a.shape);
  float largest = 0;
  for (size_t i = 0; i < a.values.size(); ++i) {
    ASSERT_NEAR(a.values[i], b.values[i], 1e-5) << i;
    largest = std::max(largest, std::abs(a.values[i]));
  }
  EXPECT_GT(largest, 1e-3);
  const std::string letters = "ACGT";
  for (int n = 0; n < 3; ++n)
    for (int t = 0; t < 2; ++t)
      for (int64_t p = 0; p < kLength; ++p) {
        float mean = 0, centered_sum = 0;
        for (int base_index = 0; base_index < 4; ++base_index) {
          const size_t at = ((n * 2 + t) * 4 + base_index) * kLength + p;
          mean += a.values[at] / 4;
          centered_sum += c.values[at];
          const bool is_ref = records[n].sequence[p] == letters[base_index];
          if (is_ref) {
            EXPECT_EQ(a.values[at], 0.0f);
          }
          if (n == 1 && p == 0) {
            EXPECT_NE(a.values[at], 0.0f);  // N: all four are mutations
          }
        }
        EXPECT_NEAR(centered_sum, 0.0f, 1e-5);
      }
  // TSV: header + one row per sequence, task and position, tasks in --task order.
  std::ifstream tsv(dir.file("fast/ism.tsv"));
  std::string header, first;
  std::getline(tsv, header);
  std::getline(tsv, first);
  EXPECT_EQ(header, "name\ttask\tposition\tref\tA\tC\tG\tT");
  const std::string prefix = "seq0\tsp1\t0\t" + std::string(1, records[0].sequence[0]) + "\t";
  EXPECT_EQ(first.rfind(prefix, 0), 0u) << first;
  int rows = 2;
  for (std::string line; std::getline(tsv, line);) ++rows;
  EXPECT_EQ(rows, 1 + 3 * 2 * kLength);
}

TEST(InterpretIsmCli, BedWindowsEqualTheirFastaAndAWindowOfPositions) {
  TempDir dir;
  const std::string model = save_basset(dir);
  std::mt19937_64 rng(8);
  std::string chr(300, 'A');
  for (auto& c : chr) c = "ACGT"[rng() % 4];
  data::write_fasta(dir.file("genome.fa"), {{"chr1", chr}});
  write_text(dir.file("r.bed"), "chr1\t100\t101\tpeak\n");
  // The window centred on [100, 101): begin 100 - 25.
  data::write_fasta(dir.file("w.fa"), {{"peak", chr.substr(75, kLength)}});
  const std::string base = "interpret ism --model " + model + " --start 10 --end 20 --rc-average";
  const auto bed = run_strand(base + " --bed r.bed --genome genome.fa --out bed", dir.path());
  ASSERT_EQ(bed.status, 0) << bed.output;
  const auto fa = run_strand(base + " --fasta w.fa --out fa", dir.path());
  ASSERT_EQ(fa.status, 0) << fa.output;
  const auto x = interpret::load_npy(dir.file("bed/ism.npy"));
  const auto y = interpret::load_npy(dir.file("fa/ism.npy"));
  ASSERT_EQ(x.shape, (std::vector<int64_t>{1, 3, 4, 10}));
  EXPECT_EQ(x.values, y.values);
}

TEST(InterpretIsmCli, BadFlagsGiveOneLine) {
  TempDir dir;
  const std::string model = save_basset(dir);
  data::write_fasta(dir.file("in.fa"), {{"s", std::string(kLength, 'A')}});
  data::write_fasta(dir.file("short.fa"), {{"s", std::string(kLength - 1, 'A')}});
  const std::string base = "interpret ism --model " + model + " --out o ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--fasta in.fa --task sp2", "task 'sp2' is not an output of the model"},
      {"--fasta in.fa --start 10 --end 60", "inside the model's input length 50"},
      {"--fasta in.fa --start 10 --end 10", "non-empty window"},
      {"--fasta short.fa", "has length 49, but the model takes length 50"},
      {"--bed r.bed", "--bed needs --genome"},
  };
  for (const auto& [args, expected] : cases) {
    const auto r = run_strand(base + args, dir.path());
    EXPECT_NE(r.status, 0) << args;
    EXPECT_EQ(count_lines(r.output), 1) << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace strand::apps
