// The aligned/unaligned diagnosis: right on an aligned task (motif position decides the label)
// and on an unaligned one (motif anywhere), never reads test rows, and says when it cannot apply.
#include "rules/alignment.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "data/encoding.h"
#include "tests/rules/dna.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;
using testing::random_dna;

// Positives carry the motif at offset 20 (aligned) or anywhere (unaligned); negatives carry it at
// offset 70 (aligned) or not at all (unaligned). Splits: 70% train, 15% valid, 15% test.
InspectInput task(bool aligned, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  InspectInput in;
  in.tasks = {"y"};
  for (int i = 0; i < n; ++i) {
    std::string seq = random_dna(rng, 100);
    const int y = i % 2;
    const std::string motif = "GATAAGCT";
    if (aligned)
      seq.replace(y ? 20 : 70, motif.size(), motif);
    else if (y)
      seq.replace(rng() % 90, motif.size(), rng() % 2 ? motif : data::reverse_complement(motif));
    in.names.push_back("s" + std::to_string(i));
    in.seqs.push_back(seq);
    in.labels.push_back(y);
    in.split.push_back(i % 20 < 14 ? 0 : i % 20 < 17 ? 1 : 2);
  }
  return in;
}

TEST(Alignment, DiagnosesAnAlignedTask) {
  const auto j = diagnose_alignment(task(true, 600, 1));
  EXPECT_EQ(j["verdict"], "aligned") << j.dump(1);
  EXPECT_GT(j["positional_auroc"].get<double>(), 0.9);
  EXPECT_LT(j["kmer_auroc"].get<double>(), 0.8);
  EXPECT_THAT(j["head"].get<std::string>(), HasSubstr("position-keeping"));
  EXPECT_THAT(j["representation"].get<std::string>(), HasSubstr("flattened one-hot"));
  EXPECT_EQ(j["valid_from"], "the valid split");
  EXPECT_EQ(j["valid_rows"], 90);
}

TEST(Alignment, DiagnosesAnUnalignedTask) {
  const auto j = diagnose_alignment(task(false, 600, 2));
  EXPECT_EQ(j["verdict"], "unaligned") << j.dump(1);
  EXPECT_GT(j["kmer_auroc"].get<double>(), 0.9);
  EXPECT_THAT(j["head"].get<std::string>(), HasSubstr("pooled"));
}

TEST(Alignment, NeverReadsTestRows) {
  // Scrambling every test label changes nothing.
  auto in = task(true, 400, 3);
  const auto before = diagnose_alignment(in);
  for (size_t i = 0; i < in.seqs.size(); ++i)
    if (in.split[i] == 2) in.labels[i] = 1 - in.labels[i];
  EXPECT_EQ(diagnose_alignment(in), before);
}

TEST(Alignment, SaysWhenItCannotApply) {
  auto in = task(true, 200, 4);
  in.seqs[5] += "ACGT";
  EXPECT_EQ(diagnose_alignment(in)["verdict"], "not applicable");
  EXPECT_THAT(diagnose_alignment(in)["reason"].get<std::string>(), HasSubstr("different lengths"));
  auto reg = task(true, 200, 5);
  reg.kind = TaskKind::kRegression;
  EXPECT_THAT(diagnose_alignment(reg)["reason"].get<std::string>(), HasSubstr("regression"));
  auto none = task(true, 200, 6);
  none.split.assign(none.split.size(), 0);  // no valid split: a seeded hold-out of train
  EXPECT_EQ(diagnose_alignment(none)["valid_from"], "a seeded hold-out of train");
}

}  // namespace
}  // namespace strand::rules
