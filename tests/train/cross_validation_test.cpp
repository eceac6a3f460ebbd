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
#include "data/labels.h"
#include "data/simulate.h"
#include "rules/io.h"
#include "rules/metrics.h"
#include "tests/train/tiny_task.h"
#include "train/pipeline.h"

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
    check_fold_count(rules::decode_rows(*ds, rows), groups, 40);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("--cv 40 exceeds the smallest class count"));
    EXPECT_THAT(e.message(), HasSubstr("positives of '"));
  }
  EXPECT_NO_THROW(check_fold_count(rules::decode_rows(*ds, rows), groups, 2));
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
  const auto decoded = rules::decode_rows(*ds, rows);
  const auto g = cv_groups(decoded, "duplicates");
  EXPECT_EQ(g[3], g[7]);
  EXPECT_EQ(g[3], g[11]);
  EXPECT_EQ(std::set<int64_t>(g.begin(), g.end()).size(), 38u);
  const auto none = cv_groups(decoded, "none");
  EXPECT_EQ(std::set<int64_t>(none.begin(), none.end()).size(), 40u);
  EXPECT_THROW(cv_groups(decoded, "chromosomes"), Error);
  EXPECT_THAT([&] { cv_groups(decoded, "chromosome"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("needs genome intervals")));
  rules::LabelledSequences on_genome = decoded;  // rows 0-19 on chr1, the rest on chr2
  for (int i = 0; i < 40; ++i) on_genome.chroms.push_back(i < 20 ? "chr1" : "chr2");
  const auto by_chrom = cv_groups(on_genome, "auto");
  EXPECT_EQ(std::set<int64_t>(by_chrom.begin(), by_chrom.end()).size(), 2u);
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
    // Each fold model carries the calibration fitted on its inner validation rows.
    EXPECT_TRUE(load_model(f["model"].get<std::string>()).calibration.has_value());
    EXPECT_TRUE(f["calibration"]["held_out_ece_after"].is_number()) << f.dump();
  }
  EXPECT_EQ(held, splits->train().size() + splits->valid().size());
  EXPECT_EQ(cv["pooled"]["n"].get<size_t>(), held);
  const auto& auroc = cv["summary"]["auroc"];
  ASSERT_TRUE(auroc["mean"].is_number()) << cv["summary"].dump();
  EXPECT_GT(auroc["mean"].get<double>(), 0.5);
  EXPECT_EQ(auroc["values"].size(), 3u);
  EXPECT_TRUE(auroc["sd"].is_number());
  EXPECT_THAT(cv["sentence"].get<std::string>(), HasSubstr("the test split was not read"));

  // The pooled out-of-fold predictions are written beside the fold models, and a baseline
  // cross-validation writes its own for the same rows, so `strand compare` can pair them.
  const auto labels = data::read_labels((dir / "labels.tsv").string());
  ASSERT_EQ(labels.names.size(), held);
  // The mean AUROC over tasks of scores read back, in the files' own row order.
  auto mean_auroc = [&](const std::string& path) {
    const auto scores = rules::read_scores(path, labels.names, labels.columns);
    const size_t T = labels.columns.size();
    double sum = 0;
    for (size_t t = 0; t < T; ++t) {
      std::vector<int> y;
      std::vector<double> p;
      for (size_t i = 0; i < labels.names.size(); ++i)
        y.push_back(static_cast<int>(labels.values[i * T + t])), p.push_back(scores[i * T + t]);
      sum += rules::roc_auc(y, p).value;
    }
    return sum / static_cast<double>(T);
  };
  EXPECT_NEAR(mean_auroc((dir / "scores.tsv").string()),
              cv["pooled"]["macro"]["auroc"].get<double>(), 1e-12);
  auto all = rules::decode_dataset(splits->dataset(), data::assign_splits(splits->dataset(), {}));
  rules::BaselineConfig c;
  c.which = {"gc_only"};
  c.panel.bootstrap.replicates = 20;
  CrossValidationOptions b = o;
  b.out_dir = (dir / "baselines").string();
  const auto bcv = cross_validate_baselines(all, c, b, nullptr);
  EXPECT_NEAR(mean_auroc((dir / "baselines/gc_only/scores.tsv").string()),
              bcv["pooled"]["gc_only"]["macro"]["auroc"].get<double>(), 1e-12);
  std::filesystem::remove_all(dir);
}

// The baselines' folds (planned on rules::LabelledSequences rows, as rules::load_source gives
// them) are the model's (planned on the trainer's dataset) for the same examples and options.
TEST(PlanFolds, TheBaselinesRowsGiveTheModelsFolds) {
  const auto splits = testing::tiny_task(60, 300);
  const auto all =
      rules::decode_dataset(splits->dataset(), data::assign_splits(splits->dataset(), {}));
  rules::LabelledSequences pool;
  pool.kind = all.kind, pool.tasks = all.tasks, pool.classes = all.classes;
  std::vector<int64_t> ids;
  for (size_t i = 0; i < all.split.size(); ++i) {
    if (all.split[i] == 2) continue;
    ids.push_back(static_cast<int64_t>(i));
    pool.names.push_back(all.names[i]);
    pool.seqs.push_back(all.seqs[i]);
    const size_t T = all.tasks.size();
    pool.labels.insert(pool.labels.end(), all.labels.begin() + i * T,
                       all.labels.begin() + (i + 1) * T);
  }
  CrossValidationOptions o;
  o.folds = 4;
  const CvPlan model = plan_folds(*splits, o), baselines = plan_folds(pool, ids, o);
  EXPECT_EQ(model.pool, baselines.pool);
  EXPECT_EQ(model.fold_of, baselines.fold_of);
  EXPECT_EQ(model.rows_of(2).valid, baselines.rows_of(2).valid);
}

TEST(CrossValidateBaselines, FoldMeansAndPooledIntervalsWithoutReadingTest) {
  const auto splits = testing::tiny_task(60, 300);
  auto all = rules::decode_dataset(splits->dataset(), data::assign_splits(splits->dataset(), {}));
  const size_t T = all.tasks.size();
  for (size_t i = 0; i < all.split.size(); ++i)  // test labels that would break any panel
    if (all.split[i] == 2)
      for (size_t t = 0; t < T; ++t) all.labels[i * T + t] = std::nan("");
  rules::BaselineConfig c;
  c.which = {"gc_only", "prevalence"};
  c.panel.bootstrap.replicates = 50;
  CrossValidationOptions o;
  o.folds = 3;
  int heard = 0;
  const auto cv = cross_validate_baselines(all, c, o, [&](int) { ++heard; });
  EXPECT_EQ(heard, 3);
  const size_t pool = splits->train().size() + splits->valid().size();
  EXPECT_EQ(cv["rows"].get<size_t>(), pool);
  EXPECT_EQ(cv["baselines"]["gc_only"]["auroc"]["values"].size(), 3u);
  const auto& pooled = cv["pooled"]["gc_only"];
  EXPECT_EQ(pooled["n"].get<size_t>(), pool);
  ASSERT_TRUE(pooled["macro"]["ci"]["auroc"].is_array()) << pooled.dump();
  EXPECT_LE(pooled["macro"]["ci"]["auroc"][0].get<double>(),
            pooled["macro"]["auroc"].get<double>());
  EXPECT_THAT(pooled_text(pooled), ::testing::MatchesRegex("auroc [0-9.]+ \\[[0-9.]+, [0-9.]+\\]; "
                                                           "auprc [0-9.]+ \\[[0-9.]+, [0-9.]+\\]"));
  EXPECT_THAT(cv["sentence"].get<std::string>(), HasSubstr("(pooled auroc"));
}

// strand train --cv with the default tuning: each fold tunes on its own inner train and valid
// rows only; its held-out rows stay sealed until the chosen model is scored.
TEST(CrossValidate, TuningInsideEachFoldNeverReadsItsHeldOutRows) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("strand_cv_tune_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto splits = testing::tiny_task(60, 300);
  TrainConfig config = testing::tiny_config();
  config.model = "cnn-small";
  config.epochs = 1;
  CrossValidationOptions o;
  o.folds = 3;
  o.bootstrap = 20;
  o.out_dir = dir.string();
  const CvPlan plan = plan_folds(*splits, o);
  std::vector<std::set<int64_t>> tuned_on;
  const FoldTuner tune = [&](data::SplitDataset& fold, TrainConfig& c, const std::string& d) {
    EXPECT_FALSE(fold.test_unsealed());
    std::set<int64_t> rows(fold.train().begin(), fold.train().end());
    rows.insert(fold.valid().begin(), fold.valid().end());
    tuned_on.push_back(rows);
    DefaultTuning t;
    t.trials = 2, t.min_epochs = 1, t.max_epochs = 1, t.min_run_epochs = 1;
    const nlohmann::json r = default_tuning(fold, c, d, t);
    EXPECT_FALSE(fold.test_unsealed()) << "the search opened the held-out rows";
    return r;
  };
  const auto cv = cross_validate(*splits, config, o, {}, tune);
  ASSERT_EQ(tuned_on.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    for (int64_t r : plan.rows_of(k).held)
      EXPECT_EQ(tuned_on[k].count(r), 0u) << "fold " << k + 1 << " tuned on held-out row " << r;
    const auto& f = cv["per_fold"][k];
    EXPECT_TRUE(f["tuning"]["ran"].get<bool>()) << f.dump();
    EXPECT_TRUE(f["held_out_sealed_while_fitting"].get<bool>());
  }
  EXPECT_THAT(cv["tuning"].get<std::string>(), HasSubstr("nested"));
  EXPECT_FALSE(splits->test_unsealed());

  // A fold's model selection that reads its held-out rows is refused.
  const FoldTuner peeks = [](data::SplitDataset& fold, TrainConfig&, const std::string&) {
    fold.unseal_test("peeking");
    return nlohmann::json::object();
  };
  EXPECT_THAT([&] { cross_validate(*splits, config, o, {}, peeks); },
              ::testing::ThrowsMessage<Error>(HasSubstr("opened its held-out rows (peeking)")));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strand::train
