// Cross-validation: stratified, grouped fold assignment, the fold-count check, duplicate clusters
// kept in one fold, and a whole (tiny) cross-validation that never reads the test split.
#include "train/cross_validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include "core/error.h"
#include "data/simulate.h"
#include "tests/train/tiny_task.h"

namespace strand::train {
namespace {

using ::testing::HasSubstr;

TEST(AssignFolds, StratifiesSingleRowsExactly) {
  std::vector<int> strata;
  for (int i = 0; i < 50; ++i) strata.push_back(i % 5 == 0 ? 1 : 0);  // 10 positives, 40 negatives
  std::vector<int64_t> groups(50);
  for (int i = 0; i < 50; ++i) groups[i] = i;
  const auto fold = assign_folds(strata, groups, 5, 3);
  for (int f = 0; f < 5; ++f) {
    int pos = 0, neg = 0;
    for (int i = 0; i < 50; ++i)
      if (fold[i] == f) (strata[i] ? pos : neg)++;
    EXPECT_EQ(pos, 2) << "fold " << f;
    EXPECT_EQ(neg, 8) << "fold " << f;
  }
  EXPECT_NE(assign_folds(strata, groups, 5, 4), fold) << "the seed changes the assignment";
}

TEST(AssignFolds, GroupsNeverStraddleFolds) {
  std::vector<int> strata;
  std::vector<int64_t> groups;
  for (int i = 0; i < 90; ++i) strata.push_back(i % 2), groups.push_back(i / 3);
  const auto fold = assign_folds(strata, groups, 4, 1);
  std::map<int64_t, std::set<int>> folds_of;
  for (size_t i = 0; i < fold.size(); ++i) folds_of[groups[i]].insert(fold[i]);
  for (const auto& [g, f] : folds_of) EXPECT_EQ(f.size(), 1u) << "group " << g;
  std::vector<int> sizes(4, 0);
  for (int f : fold) ++sizes[f];
  for (int s : sizes) EXPECT_NEAR(s, 22.5, 2.5);
}

std::shared_ptr<const data::Dataset> dataset_of(const data::Simulation& sim) {
  return std::make_shared<const data::Dataset>(
      data::Dataset::from_records(sim.records, sim.labels));
}

TEST(CheckFoldCount, MoreFoldsThanTheSmallestClassIsAnErrorThatSaysSo) {
  data::SimulationConfig c;
  c.num_sequences = 60;
  c.length = 60;
  c.positive_fraction = 0.15;
  const auto sim = data::simulate(c);
  const auto ds = dataset_of(sim);
  std::vector<int64_t> rows(ds->size());
  std::iota(rows.begin(), rows.end(), 0);
  std::vector<int64_t> groups(rows.begin(), rows.end());
  try {
    check_fold_count(*ds, rows, groups, 40);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("--cv 40 exceeds the smallest class count"));
    EXPECT_THAT(e.message(), HasSubstr("positives of '"));
  }
  EXPECT_NO_THROW(check_fold_count(*ds, rows, groups, 2));
}

TEST(CvGroups, DuplicatesShareAGroupAndChromosomesJoinTheirRows) {
  data::SimulationConfig c;
  c.num_sequences = 40;
  c.length = 80;
  auto sim = data::simulate(c);
  sim.records[7].sequence = sim.records[3].sequence;  // an exact duplicate
  sim.records[11].sequence = sim.records[3].sequence;
  const auto ds = dataset_of(sim);
  std::vector<int64_t> rows(ds->size());
  std::iota(rows.begin(), rows.end(), 0);
  const auto g = cv_groups(*ds, rows, "duplicates");
  EXPECT_EQ(g[3], g[7]);
  EXPECT_EQ(g[3], g[11]);
  EXPECT_EQ(std::set<int64_t>(g.begin(), g.end()).size(), 38u);
  const auto none = cv_groups(*ds, rows, "none");
  EXPECT_EQ(std::set<int64_t>(none.begin(), none.end()).size(), 40u);
  EXPECT_THROW(cv_groups(*ds, rows, "chromosomes"), Error);
}

TEST(CrossValidate, FoldsCoverTrainAndValidOnceAndLeaveTestSealed) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("strand_cv_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto splits = testing::tiny_task(60, 300);
  TrainConfig config = testing::tiny_config();
  config.model = "cnn-small";
  CrossValidationOptions o;
  o.folds = 3;
  o.bootstrap = 20;
  o.out_dir = dir.string();
  int heard = 0;
  const auto cv = cross_validate(*splits, config, o, [&](int, double) { ++heard; });
  EXPECT_EQ(heard, 3);
  EXPECT_FALSE(splits->test_unsealed());
  ASSERT_EQ(cv["per_fold"].size(), 3u);
  size_t held = 0;
  for (const auto& f : cv["per_fold"]) {
    held += f["held_out"].get<size_t>();
    EXPECT_TRUE(std::filesystem::exists(f["model"].get<std::string>()));
    EXPECT_GT(f["inner_valid"].get<size_t>(), 0u);
  }
  EXPECT_EQ(held, splits->train().size() + splits->valid().size());
  EXPECT_EQ(cv["pooled"]["n"].get<size_t>(), held);
  const auto& auroc = cv["summary"]["auroc"];
  ASSERT_TRUE(auroc["mean"].is_number()) << cv["summary"].dump();
  EXPECT_GT(auroc["mean"].get<double>(), 0.5);
  EXPECT_EQ(auroc["values"].size(), 3u);
  EXPECT_TRUE(auroc["sd"].is_number());
  EXPECT_THAT(cv["sentence"].get<std::string>(), HasSubstr("the test split was not read"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strand::train
