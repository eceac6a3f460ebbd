// `strand train` on the shapes of public data that broke it (issue 18): a short aligned 3-class
// task whose split column has train and test only, a ~100-sequence binary task, leaked splits.
// Real processes and files; tiny models and few epochs so each run takes seconds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/simulate.h"
#include "data/simulation_files.h"
#include "data/simulation_suite.h"
#include "tests/apps/run_cli.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace cli = ::strand::apps::cli_test;
namespace data = ::strand::data;

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

data::SimulationConfig aligned_short(int64_t sequences) {
  for (auto t : data::suite_tasks(1))
    if (t.name == "aligned_short") {
      t.config.num_sequences = sequences;
      return t.config;
    }
  return {};
}

const char* kQuick = " --model cnn-small --epochs 2 --bootstrap 20 --no-progress";

TEST(TrainSelection, ThreeClassTrainTestColumnRanksBaselinesAndWritesMetrics) {
  const auto dir = cli::fresh_dir("sel_mc");
  data::write_simulation(data::simulate(aligned_short(500)), (dir / "d").string());
  const auto run = cli::run_strand(
      std::string("train --fasta d/sequences.fa --labels d/labels.tsv --out run") + kQuick,
      dir.string());
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, Not(HasSubstr("no baseline has a validation score")));
  EXPECT_THAT(run.output, HasSubstr("strongest baseline on valid: "));
  EXPECT_THAT(run.output, HasSubstr("verdict: "));
  const auto m = read_json(dir / "run" / "metrics.json");
  const auto& b = m["baseline"];
  ASSERT_TRUE(b.contains("name")) << b.dump();
  for (const auto& [name, v] : b["candidates"].items())
    EXPECT_TRUE(v.is_number()) << name << " has no validation score";
  // Multi-class: McNemar on accuracy beside the paired bootstrap of macro AUROC.
  EXPECT_TRUE(b["comparison"]["accuracy"].contains("mcnemar"));
  EXPECT_THAT(b["summary"]["sentence"].get<std::string>(), HasSubstr("McNemar"));
  // Rules 7 and 9 in every run: the gap and the calibration.
  EXPECT_TRUE(m["overfitting"]["chosen_epoch"].contains("gap"));
  EXPECT_THAT(run.output, HasSubstr("train/valid gap"));
  std::ifstream log(dir / "run" / "log.jsonl");  // and every epoch's gap in the log
  int epochs = 0;
  for (std::string line; std::getline(log, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record["type"] != "epoch") continue;
    ++epochs;
    EXPECT_TRUE(record["gap"].is_number() && record["train_eval"].is_object()) << line;
  }
  EXPECT_EQ(epochs, 2);
  EXPECT_EQ(m["calibration"]["method"], "temperature scaling");
  EXPECT_EQ(m["data_checks"]["leakage"]["verdict"], "pass");
  std::filesystem::remove_all(dir);
}

TEST(TrainSelection, TinyBinaryTaskWarnsAndNeverSaysNoneTask) {
  const auto dir = cli::fresh_dir("sel_small");
  data::SimulationConfig c;
  c.num_sequences = 106;
  c.length = 100;
  c.tasks = {{"ctcf", data::MotifRule::Op::kSingle, "CTCF", "", 0, -1}};
  data::write_simulation(data::simulate(c), (dir / "d").string());
  const auto run = cli::run_strand(
      std::string("train --fasta d/sequences.fa --labels d/labels.tsv --out run") + kQuick,
      dir.string());
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("warning: the valid split has"));
  EXPECT_THAT(run.output, HasSubstr("warning: the test split has"));
  EXPECT_THAT(run.output, Not(HasSubstr("none task")));
  const auto m = read_json(dir / "run" / "metrics.json");
  EXPECT_EQ(m["data_checks"]["small_data"].size(), 2u);
  std::filesystem::remove_all(dir);
}

TEST(TrainSelection, LeakedSplitsWarnAndStrictRefuses) {
  const auto dir = cli::fresh_dir("sel_leak");
  auto sim = data::simulate(aligned_short(300));
  std::vector<size_t> test, train;
  for (size_t i = 0; i < sim.records.size(); ++i)
    (sim.labels.splits[i] == data::Split::kTest ? test : train).push_back(i);
  for (int k = 0; k < 5; ++k) sim.records[train[k]].sequence = sim.records[test[k]].sequence;
  data::write_simulation(sim, (dir / "d").string());
  const std::string args =
      std::string("train --fasta d/sequences.fa --labels d/labels.tsv --no-baseline") + kQuick;
  const auto strict = cli::run_strand(args + " --strict --out strict", dir.string());
  EXPECT_NE(strict.status, 0);
  EXPECT_THAT(strict.output, HasSubstr("--strict: the run's splits share sequences: 5 exact"));
  EXPECT_FALSE(std::filesystem::exists(dir / "strict" / "model.safetensors"));
  const auto warn = cli::run_strand(args + " --out run", dir.string());
  ASSERT_EQ(warn.status, 0) << warn.output;
  EXPECT_THAT(warn.output, HasSubstr("warning: Rule 1: 5 exact"));
  EXPECT_EQ(read_json(dir / "run" / "metrics.json")["data_checks"]["leakage"]["exact"], 5);
  std::filesystem::remove_all(dir);
}

}  // namespace
