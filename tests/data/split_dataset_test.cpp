// Split assignment by column, chromosome and seed; the sealed test split; empty splits rejected.
#include "data/split_dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "tests/data/temp_files.h"

namespace strand::data {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using ::testing::ThrowsMessage;
using testing::write_text;

// n records named chrK:i-i+4 spread over chromosomes chr1..chr10, all "ACGT".
std::shared_ptr<Dataset> make(int n, const std::string& split_column = "") {
  std::vector<FastaRecord> recs;
  LabelTable t;
  t.kind = LabelKind::kBinary;
  t.columns = {"y"};
  for (int i = 0; i < n; ++i) {
    const std::string name =
        "chr" + std::to_string(1 + i % 10) + ":" + std::to_string(i) + "-" + std::to_string(i + 4);
    recs.push_back({name, "ACGT"});
    t.row_of.emplace(name, i);
    t.names.push_back(name);
    t.values.push_back(static_cast<float>(i % 2));
    if (!split_column.empty()) {
      const char c = split_column[i % split_column.size()];
      t.splits.push_back(c == 't' ? Split::kTrain : c == 'v' ? Split::kValid : Split::kTest);
    }
  }
  return std::make_shared<Dataset>(Dataset::from_records(recs, t));
}

TEST(Splits, ParseIsStrict) {
  EXPECT_EQ(parse_split("valid", "x"), Split::kValid);
  EXPECT_THAT([] { parse_split("Train", "'l.tsv' line 3"); },
              ThrowsMessage<Error>(HasSubstr("'l.tsv' line 3: split 'Train' is not one of")));
}

TEST(Splits, ColumnIsUsedAsGiven) {
  const auto d = make(30, "ttttttvvxx");  // 't' train, 'v' valid, else test
  SplitDataset s(d);
  EXPECT_EQ(s.train().size(), 18u);
  EXPECT_EQ(s.valid().size(), 6u);
  EXPECT_EQ(s.test_size(), 6);
  EXPECT_THAT(s.summary(), HasSubstr("method split column"));
}

TEST(Splits, ColumnWithoutValidCarvesSeededFractionOfTrain) {
  const auto d = make(100, "tttttttttx");
  SplitOptions o;
  o.valid_fraction = 0.2;
  o.seed = 5;
  SplitDataset a(d, o), b(d, o);
  EXPECT_EQ(a.valid().size(), 18u);  // round(0.2 * 90)
  EXPECT_EQ(a.train().size(), 72u);
  EXPECT_EQ(a.test_size(), 10);
  EXPECT_EQ(a.valid(), b.valid());
  o.seed = 6;
  EXPECT_NE(SplitDataset(d, o).valid(), a.valid());
}

TEST(Splits, ChromosomeHoldOut) {
  const auto d = make(100);
  SplitOptions o;
  o.method = SplitMethod::kChromosome;
  o.test_chromosomes = {"chr8", "chr9"};
  o.valid_chromosomes = {"chr10"};
  SplitDataset s(d, o);
  EXPECT_EQ(s.test_size(), 20);
  for (int64_t i : s.valid()) EXPECT_EQ(d->chromosome(i), "chr10");
  for (int64_t i : s.train()) {
    EXPECT_NE(d->chromosome(i), "chr8");
    EXPECT_NE(d->chromosome(i), "chr9");
  }
  const auto& test = s.unseal_test("final evaluation");
  for (int64_t i : test) EXPECT_TRUE(d->chromosome(i) == "chr8" || d->chromosome(i) == "chr9");
  o.test_chromosomes = {"chr99"};
  EXPECT_THAT([&] { SplitDataset bad(d, o); },
              ThrowsMessage<Error>(HasSubstr("test chromosome 'chr99' has no examples")));
}

TEST(Splits, RandomBySeedIsExactAndReproducible) {
  const auto d = make(200);
  SplitOptions o;
  o.method = SplitMethod::kRandom;
  o.test_fraction = 0.25;
  o.valid_fraction = 0.1;
  o.seed = 42;
  SplitDataset s(d, o);
  EXPECT_EQ(s.test_size(), 50);
  EXPECT_EQ(s.valid().size(), 15u);
  EXPECT_EQ(s.train().size(), 135u);
  const auto v = s.valid();
  EXPECT_EQ(SplitDataset(d, o).valid(), v);
}

TEST(Splits, TestIsSealedUntilUnsealedWithAReason) {
  const auto d = make(50);
  SplitDataset s(d);
  EXPECT_FALSE(s.test_unsealed());
  EXPECT_THAT(s.summary(), HasSubstr("(sealed)"));
  EXPECT_THAT([&] { s.unseal_test(""); }, ThrowsMessage<Error>(HasSubstr("needs a reason")));
  ::testing::internal::CaptureStderr();
  const auto& test = s.unseal_test("final report");
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log,
              HasSubstr("test split of 'in-memory records' unsealed (5 examples): final report"));
  EXPECT_EQ(test.size(), 5u);
  EXPECT_TRUE(s.test_unsealed());
  EXPECT_EQ(s.unseal_reason(), "final report");
  // The three parts are disjoint and cover everything.
  std::vector<int64_t> all = s.train();
  all.insert(all.end(), s.valid().begin(), s.valid().end());
  all.insert(all.end(), test.begin(), test.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all.size(), 50u);
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
}

TEST(Splits, EmptySplitIsAnError) {
  EXPECT_THAT([] { SplitDataset s(make(20, "ttttv")); },
              ThrowsMessage<Error>(HasSubstr("the test split is empty (20 examples, method split "
                                             "column; train 16, valid 4, test 0)")));
  SplitOptions o;
  o.method = SplitMethod::kRandom;
  o.test_fraction = 0.0;
  EXPECT_THAT([&] { SplitDataset s(make(20), o); },
              ThrowsMessage<Error>(HasSubstr("the test split is empty")));
  o.test_fraction = 0.1;
  o.valid_fraction = 0.0;
  EXPECT_THAT([&] { SplitDataset s(make(20), o); },
              ThrowsMessage<Error>(HasSubstr("the valid split is empty")));
  EXPECT_THAT([] { SplitDataset s(make(20, "vx")); },
              ThrowsMessage<Error>(HasSubstr("the train split is empty")));
}

TEST(Splits, ColumnMethodNeedsAColumn) {
  SplitOptions o;
  o.method = SplitMethod::kColumn;
  EXPECT_THAT([&] { SplitDataset s(make(20), o); },
              ThrowsMessage<Error>(HasSubstr("needs a 'split' column")));
}

}  // namespace
}  // namespace strand::data
