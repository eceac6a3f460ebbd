// Issue 18's failures on public data, on generated data of the same shape: a short aligned
// 3-class task whose split column has train and test only (baselines must rank on the valid rows
// the trainer carves), leaked splits (Rule 1 by default), a ~100-sequence task (too small to rank
// models), and the permutation test and calibration around a run.
#include "train/pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "data/encoding.h"
#include "data/random.h"
#include "data/simulate.h"
#include "data/simulation_files.h"
#include "data/simulation_suite.h"
#include "data/split_dataset.h"
#include "rules/baselines.h"
#include "tests/train/tiny_task.h"
#include "train/permutation.h"
#include "train/trainer.h"

namespace strand::train {
namespace {

using ::testing::HasSubstr;

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag)
      : path(std::filesystem::temp_directory_path() /
             ("strand_pipeline_" + tag + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

data::SimulationConfig aligned_short(int64_t sequences) {
  for (auto t : data::suite_tasks(1))
    if (t.name == "aligned_short") {
      t.config.num_sequences = sequences;
      return t.config;
    }
  ADD_FAILURE() << "no aligned_short suite task";
  return {};
}

rules::LabelledSequences load(const data::SimulationFiles& f) {
  data::DataSource s;
  s.fasta = f.fasta;
  s.labels = f.labels;
  return rules::load_source(s, false);
}

TEST(Pipeline, ThreeClassTrainTestColumnGivesBaselinesValidRowsToRankBy) {
  TempDir dir("mc");
  const auto sim = data::simulate(aligned_short(600));
  // The shape of the public task: a split column with train and test only.
  ASSERT_EQ(std::count(sim.labels.splits.begin(), sim.labels.splits.end(), data::Split::kValid), 0);
  const auto files = data::write_simulation(sim, dir.path.string());
  const auto all = load(files);
  // The rules' loader carves exactly the trainer's valid rows from train.
  auto ds =
      std::make_shared<const data::Dataset>(data::Dataset::from_fasta(files.fasta, files.labels));
  const data::SplitDataset splits(ds);
  std::vector<int> trainer_split(ds->size(), 0);
  for (auto i : splits.valid()) trainer_split[i] = 1;
  for (int64_t i = 0; i < ds->size(); ++i)
    if (sim.labels.splits[i] == data::Split::kTest) trainer_split[i] = 2;
  EXPECT_EQ(all.split, trainer_split);

  rules::BaselineConfig config;
  config.which = {"onehot_logistic", "onehot_trees", "kmer_knn", "prevalence"};
  config.panel.bootstrap.replicates = 0;
  const auto results = rules::run_baselines(rules::baseline_problem(all), config);
  for (const auto& r : results) EXPECT_TRUE(std::isfinite(r.valid_metric)) << r.name;
  const auto* best = rules::strongest_on_valid(results);
  ASSERT_NE(best, nullptr);
  EXPECT_EQ(best->score_columns.size(), 3u);
  // Position decides the class: a position-specific baseline wins on valid.
  EXPECT_THAT(best->name, HasSubstr("onehot"));
}

// The run's data is loaded once: the data checks and the baselines get the trainer's own rows
// and splits (train, valid, test by row and by name), for a split column without valid rows (the
// valid carved from train) and for a seeded random split; the rules' file loader agrees.
TEST(Pipeline, BaselinesSeeExactlyTheTrainersSplitRows) {
  TempDir dir("rows");
  const auto files = data::write_simulation(data::simulate(aligned_short(300)), dir.path.string());
  for (const std::string method : {"auto", "random"}) {
    data::DataSource source;
    source.fasta = files.fasta;
    source.labels = files.labels;
    source.split_method = method;
    source.split_seed = 7;
    const RunDataset run = load_run_data(source, true);
    const rules::BaselineProblem p = rules::baseline_problem(run.rows);
    const auto names_of = [&](const std::vector<int64_t>& rows) {
      std::vector<std::string> names;
      for (int64_t i : rows) names.push_back(run.dataset->name(i));
      return names;
    };
    EXPECT_EQ(p.train.names, names_of(run.splits->train())) << method;
    EXPECT_EQ(p.valid.names, names_of(run.splits->valid())) << method;
    EXPECT_EQ(p.test.names, names_of(run.splits->unseal_test("test"))) << method;
    EXPECT_FALSE(p.valid.names.empty()) << method;
    // The same rows as text: sequence and labels of a training row.
    std::vector<uint8_t> codes(run.dataset->length());
    std::vector<float> labels(run.dataset->num_outputs());
    const int64_t row = run.splits->train()[3];
    run.dataset->read(row, codes.data(), labels.data());
    EXPECT_EQ(p.train.seqs[3], data::decode_bases(codes.data(), codes.size()));
    EXPECT_EQ(p.train.labels[3], labels[0]);
    EXPECT_EQ(rules::load_source(source, false).split, run.rows.split) << method;
  }
}

TEST(Pipeline, LeakedSplitsAreCountedAndStrictRefuses) {
  TempDir dir("leak");
  auto c = aligned_short(300);
  c.valid_fraction = 0.2;
  auto sim = data::simulate(c);
  // Copy three test sequences into train exactly and one with a single substitution.
  std::vector<size_t> test, train;
  for (size_t i = 0; i < sim.records.size(); ++i)
    (sim.labels.splits[i] == data::Split::kTest ? test : train).push_back(i);
  ASSERT_GE(test.size(), 4u);
  for (int k = 0; k < 4; ++k) sim.records[train[k]].sequence = sim.records[test[k]].sequence;
  auto& near = sim.records[train[3]].sequence;
  near[30] = near[30] == 'A' ? 'C' : 'A';
  const auto all = load(data::write_simulation(sim, dir.path.string()));
  const auto leak = check_split_leakage(all);
  EXPECT_EQ(leak.exact, 3);
  EXPECT_GE(leak.near_duplicate, 1);
  const auto checks = check_run_data(all, "", false, false);
  EXPECT_EQ(checks["leakage"]["verdict"], "fail");
  EXPECT_EQ(checks["leakage"]["exact"], 3);
  try {
    check_run_data(all, "", true, false);
    FAIL() << "--strict trained on leaked splits";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("--strict"));
    EXPECT_THAT(e.message(), HasSubstr("3 exact"));
  }
}

TEST(Pipeline, TinySplitsWarnAndLargeOnesDoNot) {
  TempDir dir("small");
  data::SimulationConfig c;  // ~106 sequences, binary: valid ~10 and test ~11
  c.num_sequences = 106;
  c.length = 100;
  c.tasks = {{"ctcf", data::MotifRule::Op::kSingle, "CTCF", "", 0, -1}};
  const auto all = load(data::write_simulation(data::simulate(c), (dir.path / "a").string()));
  const auto warnings = small_split_warnings(all);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_THAT(warnings[0], HasSubstr("the valid split has"));
  EXPECT_THAT(warnings[0], HasSubstr("fewer than 50"));
  EXPECT_THAT(warnings[1], HasSubstr("the test split has"));
  c.num_sequences = 2000;
  const auto big = load(data::write_simulation(data::simulate(c), (dir.path / "b").string()));
  EXPECT_TRUE(small_split_warnings(big).empty());
}

// A tiny, fast configuration for the permutation test: 8 filters, a global max pool and one
// linear read-out (a model file), three epochs.
TrainConfig permutation_config(const TempDir& dir) {
  const auto path = dir.path / "tiny.yaml";
  std::ofstream(path) << "name: tiny\nlayers:\n"
                         "  - conv1d: {out: 8, kernel: 8, padding: same}\n"
                         "  - relu\n"
                         "  - maxpool1d: {kernel: 50}\n"
                         "  - flatten\n"
                         "  - linear: {out: outputs}\n";
  TrainConfig c = testing::tiny_config();
  c.model = path.string();
  c.epochs = 3;
  c.batch_size = 16;
  c.lr = 0.03;
  c.log_every = 0;
  return c;
}

std::shared_ptr<const data::SplitDataset> presence_task(bool independent_labels) {
  data::SimulationConfig c;
  c.num_sequences = 200;
  c.length = 50;
  c.seed = 5;
  c.valid_fraction = 0.3;
  c.tasks = {{"ctcf", data::MotifRule::Op::kSingle, "CTCF", "", 0, -1}};
  auto sim = data::simulate(c);
  if (independent_labels) {  // labels drawn with no regard to the sequences
    data::SplitMix64 rng(99);
    for (auto& v : sim.labels.values) v = rng.chance(0.5) ? 1.0f : 0.0f;
  }
  auto ds =
      std::make_shared<const data::Dataset>(data::Dataset::from_records(sim.records, sim.labels));
  return std::make_shared<const data::SplitDataset>(ds);
}

double real_score(const std::shared_ptr<const data::SplitDataset>& splits,
                  const TrainConfig& config) {
  Trainer trainer(splits, config, "");
  return trainer.fit().best_metric;
}

TEST(Pipeline, PermutationTestSeesRealSignal) {
  TempDir dir("perm_real");
  const auto splits = presence_task(false);
  const auto config = permutation_config(dir);
  const double observed = real_score(splits, config);
  const auto r = permutation_test(*splits, config, 100, observed);  // smallest p: 1/101
  EXPECT_EQ(r.null_scores.size(), 100u);
  EXPECT_LT(r.p_value, 0.01) << r.sentence();
  EXPECT_TRUE(r.better_than_chance());
  EXPECT_THAT(r.sentence(), HasSubstr("better than chance"));
}

TEST(Pipeline, PermutationTestCallsIndependentLabelsChance) {
  TempDir dir("perm_null");
  const auto splits = presence_task(true);
  const auto config = permutation_config(dir);
  const double observed = real_score(splits, config);
  const auto r = permutation_test(*splits, config, 40, observed);
  EXPECT_GT(r.p_value, 0.05) << r.sentence();
  EXPECT_THAT(r.sentence(), HasSubstr("no better than chance"));
  EXPECT_EQ(r.to_json()["better_than_chance"], false);
  // Too few permutations to reach p <= 0.05 never read as "no better than chance".
  PermutationResult few = r;
  few.null_scores.resize(3);
  few.p_value = 0.25;
  EXPECT_FALSE(few.conclusive());
  EXPECT_THAT(few.sentence(), HasSubstr("inconclusive: 3 permutations cannot give p <= 0.05"));
  EXPECT_THAT(few.sentence(), HasSubstr("use at least 19"));
}

TEST(Pipeline, RunReportsTheGapAndCalibration) {
  const auto splits = testing::tiny_task(100, 400);
  Trainer trainer(splits, testing::tiny_config(), "");
  const auto r = trainer.fit();
  const auto o = overfitting_of(r);
  EXPECT_EQ(o["chosen_epoch"]["epoch"], r.best_epoch);
  EXPECT_NEAR(o["chosen_epoch"]["train"].get<double>() - o["chosen_epoch"]["valid"].get<double>(),
              o["chosen_epoch"]["gap"].get<double>(), 1e-9);
  // The last epoch's row carries its validation score too (the report's table shows it).
  EXPECT_EQ(o["last_epoch"]["epoch"], r.epochs);
  EXPECT_NEAR(o["last_epoch"]["train"].get<double>() - o["last_epoch"]["valid"].get<double>(),
              o["last_epoch"]["gap"].get<double>(), 1e-9);
  EXPECT_THAT(o["sentence"].get<std::string>(), HasSubstr("train/valid gap"));
  const auto& info = trainer.info();
  const auto valid = predict_rows(trainer.model(), info.kind, splits->shared_dataset(),
                                  splits->valid(), 256, runtime::Device::parse("cpu"));
  const auto cal = calibration_of(info, valid, valid);
  EXPECT_EQ(cal["fitted_on"], "valid");
  EXPECT_TRUE(cal["test"]["after"]["ece"].is_number());
}

TEST(Pipeline, DefaultTuningPicksLrAndBatchOnSmallDataOnly) {
  TempDir dir("default_tuning");
  data::SplitDataset splits = *testing::tiny_task(60, 300);
  TrainConfig c = testing::tiny_config();
  c.model = "cnn-small";
  c.lr = 0.02, c.batch_size = 16;  // outside the search's choices: the chosen ones replace them
  c.epochs = 10;
  const auto r = default_tuning(splits, c, (dir.path / "tune").string());
  ASSERT_TRUE(r["ran"].get<bool>()) << r.dump();
  EXPECT_FALSE(splits.test_unsealed()) << "the default search never reads test";
  EXPECT_TRUE(c.lr == 0.001 || c.lr == 0.003 || c.lr == 0.006) << c.lr;
  EXPECT_TRUE(c.batch_size == 32 || c.batch_size == 64) << c.batch_size;
  EXPECT_EQ(r["trials"], 4);
  EXPECT_THAT(r["sentence"].get<std::string>(), HasSubstr("--no-tune"));
  DefaultTuning small;
  small.max_bases = 1000;
  TrainConfig kept = testing::tiny_config();
  const auto skipped = default_tuning(splits, kept, (dir.path / "none").string(), small);
  EXPECT_FALSE(skipped["ran"].get<bool>());
  EXPECT_THAT(skipped["reason"].get<std::string>(), HasSubstr("above the default tuning's limit"));
  EXPECT_EQ(kept.lr, testing::tiny_config().lr);
  const auto short_run = default_tuning(splits, kept, (dir.path / "short").string());
  EXPECT_THAT(short_run["reason"].get<std::string>(), HasSubstr("the run trains at most 2 epochs"));
}

}  // namespace
}  // namespace strand::train
