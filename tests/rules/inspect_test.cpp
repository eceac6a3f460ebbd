// Data inspection: GC confound, imbalance advice, one-class splits, duplicates within a split,
// correlated tasks.
#include "rules/inspect.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;

TEST(Inspect, FlagsGcConfoundImbalanceDuplicatesAndCorrelation) {
  std::mt19937_64 rng(4);
  InspectInput in;
  in.tasks = {"gc_task", "rare", "copy"};
  for (int i = 0; i < 400; ++i) {
    const int y = i % 2;
    std::string s(200, 'A');
    for (auto& c : s) c = (rng() % 100) < (y ? 65u : 35u) ? "GC"[rng() % 2] : "AT"[rng() % 2];
    in.names.push_back(std::string("s").append(std::to_string(i)));
    in.seqs.push_back(s);
    in.labels.push_back(y);
    in.labels.push_back(i % 60 == 0 ? 1 : 0);  // ~1.7% positives
    in.labels.push_back(y);                    // same labels as gc_task
    in.split.push_back(i < 300 ? 0 : i < 350 ? 1 : 2);
  }
  in.seqs[10] = in.seqs[20];  // a duplicate inside train
  const auto j = inspect_data(in, InspectOptions{});
  EXPECT_TRUE(j["tasks"]["gc_task"]["gc_confound"].get<bool>());
  EXPECT_GT(j["tasks"]["gc_task"]["gc_only_auroc"].get<double>(), 0.9);
  EXPECT_EQ(j["tasks"]["rare"]["balance"], "imbalanced");
  EXPECT_EQ(j["tasks"]["gc_task"]["balance"], "balanced");
  EXPECT_EQ(j["duplicates_within_split"]["exact"], 1);
  EXPECT_NEAR(j["label_correlation"][1]["pearson"].get<double>(), 1.0, 1e-12);  // gc_task-copy
  EXPECT_EQ(j["verdict"], "warn");
  const std::string all = j["warnings"].dump();
  EXPECT_THAT(all, HasSubstr("GC confound"));
  EXPECT_THAT(all, HasSubstr("trust AUPRC"));
  EXPECT_THAT(all, HasSubstr("nearly the same labels"));
  EXPECT_EQ(j["splits"]["train"], 300);
}

TEST(Inspect, CleanDataIsOkAndOneClassSplitWarns) {
  std::mt19937_64 rng(5);
  InspectInput in;
  in.tasks = {"t"};
  for (int i = 0; i < 200; ++i) {
    std::string s(100, 'A');
    for (auto& c : s) c = "ACGT"[rng() % 4];
    in.names.push_back(std::string("r").append(std::to_string(i)));
    in.seqs.push_back(s);
    in.labels.push_back(i % 2);
  }
  const auto ok = inspect_data(in, InspectOptions{});
  EXPECT_EQ(ok["verdict"], "ok") << ok["warnings"].dump();
  for (int i = 0; i < 200; ++i) in.split.push_back(i < 150 ? 0 : 2);
  for (int i = 150; i < 200; ++i) in.labels[i] = 0;
  const auto j = inspect_data(in, InspectOptions{});
  EXPECT_THAT(j["warnings"].dump(), HasSubstr("one class only in the test split"));
}

TEST(Inspect, BadInputRaises) {
  InspectInput in;
  in.tasks = {"t"};
  in.seqs = {"ACGT"};
  in.labels = {0, 1};
  try {
    inspect_data(in, InspectOptions{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("2 labels for 1 sequences x 1 tasks"));
  }
}

}  // namespace
}  // namespace strand::rules
