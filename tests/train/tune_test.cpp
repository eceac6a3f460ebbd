// strand tune's library: search-space files (errors name key and line), deterministic sampling,
// the rungs of successive halving, and whole tiny searches: test sealed throughout and opened
// once, every trial logged with config, curve and rank, and a search resumed after a kill.
#include "train/tune.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"
#include "layers/model_file.h"
#include "tests/train/tiny_task.h"

namespace strand::train {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(SearchSpace, UnknownKeysAndImpossibleRangesNameKeyAndLine) {
  EXPECT_THAT([] { SearchSpace::parse("lr: [0.001]\nlrate: [0.1]\n", "s.yaml"); },
              ThrowsMessage<Error>(HasSubstr(
                  "search space 's.yaml' line 2: unknown key 'lrate' (did you mean 'lr'?)")));
  EXPECT_THAT([] { SearchSpace::parse("model: [cnn]\nlr: {log_uniform: [0.1, 0.01]}\n", "s"); },
              ThrowsMessage<Error>(HasSubstr("line 2: 'lr': log_uniform range [0.1, 0.01] is "
                                             "empty")));
  EXPECT_THAT([] { SearchSpace::parse("lr: {log_uniform: [0, 0.01]}\n", "s"); },
              ThrowsMessage<Error>(HasSubstr("line 1: 'lr' value 0 must be > 0")));
  EXPECT_THAT([] { SearchSpace::parse("dropout: [0.1, 1.5]\n", "s"); },
              ThrowsMessage<Error>(HasSubstr("'dropout' value 1.5 must be in [0, 1)")));
  EXPECT_THAT([] { SearchSpace::parse("depth: {uniform: [1, 3]}\n", "s"); },
              ThrowsMessage<Error>(HasSubstr("use int_uniform")));
  EXPECT_THAT([] { SearchSpace::parse("optimizer: [adam, lion]\n", "s"); },
              ThrowsMessage<Error>(HasSubstr("must be adam, adamw or sgd")));
  EXPECT_THAT([] { SearchSpace::parse("lr: {normal: [1, 2]}\n", "s"); },
              ThrowsMessage<Error>(HasSubstr("unknown range 'normal'")));
  // JSON is YAML too.
  EXPECT_EQ(SearchSpace::parse("{\"lr\": [0.001, 0.01], \"batch_size\": 16}", "s.json")
                .dimensions()
                .size(),
            2u);
}

TEST(SearchSpace, SamplesAreDeterministicAndInRange) {
  const SearchSpace space = SearchSpace::default_space("cnn-aligned");
  for (int t = 0; t < 50; ++t) {
    const auto c = space.sample(3, t);
    EXPECT_EQ(c, space.sample(3, t));
    EXPECT_GE(c["lr"].get<double>(), 0.0005);
    EXPECT_LE(c["lr"].get<double>(), 0.01);
    EXPECT_GE(c["depth"].get<int>(), 1);
    EXPECT_LE(c["depth"].get<int>(), 3);
    EXPECT_TRUE(c["model"] == "cnn-aligned" || c["model"] == "cnn-variant") << c.dump();
  }
  EXPECT_NE(space.sample(3, 0), space.sample(4, 0));
}

TEST(SearchSpace, CnnVariantsBuildForShortAndLongInputs) {
  for (int64_t length : {20, 60, 1000})
    for (int64_t depth : {1, 3, 6}) {
      const auto m = layers::build_model_from_yaml(cnn_variant_yaml(length, depth, 9, 8, 0.2),
                                                   length, 2, "variant");
      EXPECT_NE(m, nullptr);
    }
}

TEST(Tune, RungsGrowByEtaUpToTheMaximum) {
  TuneOptions o;
  o.min_epochs = 1, o.max_epochs = 4, o.eta = 2;
  EXPECT_EQ(rung_epochs(o), (std::vector<int>{1, 2, 4}));
  o.eta = 3;
  EXPECT_EQ(rung_epochs(o), (std::vector<int>{1, 3, 4}));
  o.min_epochs = 5;
  EXPECT_THROW(rung_epochs(o), Error);
}

std::vector<nlohmann::json> lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

struct Dir {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("strand_tune_" + std::to_string(::getpid()) + "_" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                         .string();
  Dir() { std::filesystem::remove_all(path); }
  ~Dir() { std::filesystem::remove_all(path); }
};

const char* kSpace =
    "model: [cnn-small, cnn-variant]\nlr: {log_uniform: [0.001, 0.01]}\nbatch_size: [16, 32]\n"
    "depth: [1, 2]\nfilters: [8]\nkernel: [5, 9]\n";

TEST(Tune, TestStaysSealedThroughTheSearchAndOpensOnceAfterIt) {
  Dir dir;
  data::SplitDataset splits = *testing::tiny_task(60, 300);
  TuneOptions o;
  o.trials = 3, o.min_epochs = 1, o.max_epochs = 2, o.eta = 2, o.bootstrap = 20;
  o.out_dir = dir.path;
  o.open_test = false;
  const SearchSpace space = SearchSpace::parse(kSpace, "test");
  const auto r = tune(splits, testing::tiny_config(), space, o);
  EXPECT_FALSE(splits.test_unsealed()) << "the search itself must never read test";
  EXPECT_TRUE(r["test"].is_null());
  ASSERT_EQ(r["trials"].size(), 3u);
  EXPECT_EQ(r["chosen"]["rank"], 1);
  EXPECT_EQ(r["chosen"]["rung"], 1) << "the chosen trial reached the last rung";
  int promoted = 0;
  for (const auto& t : r["trials"]) {
    EXPECT_TRUE(t["config"].contains("lr"));
    EXPECT_EQ(t["curve"].size(), t["epochs"].get<size_t>());
    promoted += t["rung"] == 1;
  }
  // Asynchronous: the best of the first two results moves up at once; the third result promotes
  // too when it beats every earlier one (floor(3 / 2) = 1 place).
  EXPECT_GE(promoted, 1);
  EXPECT_LE(promoted, 2);

  // Resumed with the test opened: the rungs come from the log, test opens exactly once, after
  // every trial.
  o.open_test = true;
  const auto again = tune(splits, testing::tiny_config(), space, o);
  EXPECT_EQ(again["chosen"]["id"], r["chosen"]["id"]);
  EXPECT_TRUE(splits.test_unsealed());
  EXPECT_TRUE(again["test"].is_object());
  const auto log = lines(dir.path + "/tune_log.jsonl");
  int unsealed = 0, rungs = 0, trials = 0;
  size_t unsealed_at = 0, last_rung_at = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    const std::string type = log[i]["type"];
    if (type == "test_unsealed") ++unsealed, unsealed_at = i;
    if (type == "rung") ++rungs, last_rung_at = i;
    if (type == "trial") {
      ++trials;
      EXPECT_TRUE(log[i].contains("rank") && log[i].contains("curve") && log[i].contains("config"));
    }
  }
  EXPECT_EQ(log.front()["type"], "start");
  EXPECT_EQ(log[1]["type"], "test_lock");
  EXPECT_EQ(log[1]["state"], "sealed");
  EXPECT_EQ(unsealed, 1);
  EXPECT_EQ(rungs, 3 + promoted) << "3 trials at rung 0, the promoted at rung 1, each logged once";
  EXPECT_EQ(trials, 3);
  EXPECT_GT(unsealed_at, last_rung_at);
  // A third run opens nothing again: the log says test was opened.
  data::SplitDataset fresh = *testing::tiny_task(60, 300);
  const auto third = tune(fresh, testing::tiny_config(), space, o);
  EXPECT_FALSE(fresh.test_unsealed());
  EXPECT_EQ(third["test"], again["test"]);
}

// The time budget: no job starts once it is spent (here at once, so nothing runs and the search
// says why instead of choosing from nothing).
TEST(Tune, NoJobStartsAfterTheTimeBudget) {
  Dir dir;
  data::SplitDataset splits = *testing::tiny_task(60, 300);
  TuneOptions o;
  o.trials = 3, o.min_epochs = 1, o.max_epochs = 2, o.eta = 2, o.open_test = false;
  o.max_seconds = 1e-9;
  o.out_dir = dir.path;
  EXPECT_THAT([&] { tune(splits, testing::tiny_config(), SearchSpace::parse(kSpace, "t"), o); },
              ThrowsMessage<Error>(HasSubstr("no trial finished a rung (time budget")));
  bool budget = false;
  for (const auto& line : lines(dir.path + "/tune_log.jsonl")) {
    EXPECT_NE(line["type"], "rung") << "a job ran after the budget was spent";
    budget = budget || line["type"] == "budget";
  }
  EXPECT_TRUE(budget);
  EXPECT_FALSE(splits.test_unsealed());
}

TEST(Tune, AKilledSearchResumesToTheSameChoice) {
  Dir dir;
  data::SplitDataset splits = *testing::tiny_task(60, 300);
  TuneOptions o;
  o.trials = 3, o.min_epochs = 1, o.max_epochs = 2, o.eta = 2, o.bootstrap = 20;
  o.out_dir = dir.path;
  o.open_test = false;
  const SearchSpace space = SearchSpace::parse(kSpace, "test");
  const auto full = tune(splits, testing::tiny_config(), space, o);
  // As if killed during the second rung: the log ends after the first rung's records.
  const std::string path = dir.path + "/tune_log.jsonl";
  auto log = lines(path);
  size_t keep = 0;
  for (size_t i = 0; i < log.size(); ++i)
    if (log[i]["type"] == "rung" && log[i]["rung"] == 0) keep = i + 1;
  {
    std::ofstream out(path, std::ios::trunc);
    for (size_t i = 0; i < keep; ++i) out << log[i].dump() << "\n";
  }
  const auto resumed = tune(splits, testing::tiny_config(), space, o);
  EXPECT_EQ(resumed["chosen"]["id"], full["chosen"]["id"]);
  EXPECT_EQ(resumed["chosen"]["valid"], full["chosen"]["valid"]);
  EXPECT_EQ(lines(path).size(), log.size()) << "no record twice";
  // Other settings in the same directory are refused.
  o.trials = 4;
  EXPECT_THAT([&] { tune(splits, testing::tiny_config(), space, o); },
              ThrowsMessage<Error>(HasSubstr("holds a search with other settings")));
}

TEST(Tune, DpSearchStatesTheTotalPrivacyCostOfAllTrials) {
  Dir dir;
  data::SplitDataset splits = *testing::tiny_task(60, 300);
  TuneOptions o;
  o.trials = 3, o.min_epochs = 1, o.max_epochs = 2, o.eta = 2, o.bootstrap = 20;
  o.out_dir = dir.path;
  o.open_test = false;
  TrainConfig c = testing::tiny_config();
  c.dp.enabled = true;
  const SearchSpace space = SearchSpace::parse("model: [cnn-small]\nlr: [0.01, 0.003]\n", "dp");
  EXPECT_THAT([&] { tune(splits, c, space, o); },
              ThrowsMessage<Error>(HasSubstr("tune --dp needs --noise-multiplier")));
  c.dp.noise_multiplier = 1.0;
  const auto r = tune(splits, c, space, o);
  ASSERT_TRUE(r["privacy"].is_object());
  double largest = 0, sum = 0;
  for (const auto& t : r["trials"]) {
    const double e = t["dp"]["epsilon"].get<double>();
    largest = std::max(largest, e), sum += e;
  }
  const double total = r["privacy"]["total_epsilon_rdp"].get<double>();
  EXPECT_GT(total, largest) << "tuning costs more than the chosen trial alone";
  EXPECT_LE(total, sum + 1e-9) << "RDP composition is no looser than adding epsilons";
  EXPECT_NEAR(r["privacy"]["total_epsilon_basic"].get<double>(), sum, 1e-9);
  EXPECT_THAT(r["privacy"]["sentence"].get<std::string>(), HasSubstr("understates"));
}

TEST(Tune, PromotesAsSoonAsARungHasEnoughResults) {
  Dir dir;
  data::SplitDataset splits = *testing::tiny_task(60, 300);
  TuneOptions o;
  o.trials = 4, o.min_epochs = 1, o.max_epochs = 2, o.eta = 2, o.bootstrap = 0;
  o.out_dir = dir.path;
  o.open_test = false;
  const auto space =
      SearchSpace::parse("model: [cnn-small]\nlr: {log_uniform: [0.001, 0.01]}\n", "asha");
  tune(splits, testing::tiny_config(), space, o);
  const auto log = lines(dir.path + "/tune_log.jsonl");
  size_t first_promote = log.size(), last_first_rung = 0;
  std::map<int, int> results_at;  // rung -> results logged so far
  for (size_t i = 0; i < log.size(); ++i) {
    if (log[i]["type"] == "rung") {
      ++results_at[log[i]["rung"].get<int>()];
      if (log[i]["rung"] == 0) last_first_rung = i;
    }
    if (log[i]["type"] != "promote" || log[i].contains("final")) continue;
    first_promote = std::min(first_promote, i);
    // Only among the best floor(n / eta) of the n results its rung had then.
    const int among = log[i]["among"].get<int>();
    EXPECT_EQ(among, results_at[log[i]["rung"].get<int>()]);
    EXPECT_LE(log[i]["place"].get<int>(), among / o.eta);
  }
  EXPECT_LT(first_promote, last_first_rung)
      << "a trial moved up before the first rung was full (no waiting for the whole rung)";
  EXPECT_FALSE(splits.test_unsealed());

  // Two trials at eta 3: floor(2 / 3) = 0 places, so the end of the search sends the best up.
  Dir few;
  o.trials = 2, o.eta = 3, o.out_dir = few.path;
  const auto r = tune(splits, testing::tiny_config(), space, o);
  EXPECT_EQ(r["chosen"]["rung"], 1);
  EXPECT_EQ(r["chosen"]["epochs"], 2);
}

TEST(Tune, NestedCrossValidationChoosesInsideEachOuterFold) {
  Dir dir;
  data::SplitDataset splits = *testing::tiny_task(60, 300);
  TuneOptions o;
  o.trials = 2, o.min_epochs = 1, o.max_epochs = 1, o.bootstrap = 0;
  o.out_dir = dir.path;
  CrossValidationOptions cv;
  cv.folds = 2, cv.bootstrap = 0;
  const auto space = SearchSpace::parse("model: [cnn-small]\nlr: [0.001, 0.01]\n", "nested");
  const auto r = tune_cross_validated(splits, testing::tiny_config(), space, o, cv);
  EXPECT_FALSE(splits.test_unsealed()) << "the run's test split is never read";
  ASSERT_EQ(r["per_fold"].size(), 2u);
  for (const auto& f : r["per_fold"]) {
    EXPECT_TRUE(f["chosen"]["config"].contains("lr"));
    EXPECT_EQ(f["trials"], 2);
    const std::string fold_dir = dir.path + "/fold-" + std::to_string(f["fold"].get<int>());
    // Each fold's own search held its fold's test (the held-out rows) sealed: never unsealed.
    for (const auto& rec : lines(fold_dir + "/tune_log.jsonl"))
      EXPECT_NE(rec["type"], "test_unsealed");
  }
  EXPECT_TRUE(r["summary"]["auroc"]["mean"].is_number());
  EXPECT_THAT(r["sentence"].get<std::string>(), HasSubstr("nested 2-fold"));
  TrainConfig dp = testing::tiny_config();
  dp.dp.enabled = true, dp.dp.noise_multiplier = 1.0;
  EXPECT_THAT([&] { tune_cross_validated(splits, dp, space, o, cv); },
              ThrowsMessage<Error>(HasSubstr("tune --cv with --dp is refused")));
}

}  // namespace
}  // namespace strand::train
