// The `strand` program end to end, as a user runs it: real processes, real files, exit codes and
// one-line reasons on bad input, JSON outputs that parse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

using ::testing::HasSubstr;

struct Result {
  int status = -1;
  std::string output;  // stdout and stderr together
};

// Runs `strand args` in dir, capturing its output.
Result strand(const std::string& args, const std::string& dir = ".") {
  const std::string command = "cd '" + dir + "' && '" STRAND_CLI_PATH "' " + args + " 2>&1";
  Result run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return run;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    run.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("strand_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir() const { return dir_.string(); }
  std::filesystem::path dir_;
};

TEST_F(Cli, BadInputExitsNonZeroWithOneLineReason) {
  const Result unknown = strand("frobnicate", dir());
  EXPECT_NE(unknown.status, 0);
  const Result flag = strand("train --epochs-typo 3", dir());
  EXPECT_NE(flag.status, 0);
  EXPECT_THAT(flag.output, HasSubstr("--epochs-typo"));
  const Result missing = strand("check data --fasta nowhere.fa --labels nowhere.tsv", dir());
  EXPECT_NE(missing.status, 0);
  EXPECT_THAT(missing.output, HasSubstr("nowhere"));
  EXPECT_EQ(std::count(missing.output.begin(), missing.output.end(), '\n'), 1) << missing.output;
}

TEST_F(Cli, InfoReportsTheBuildAsJson) {
  const Result info = strand("info --json", dir());
  ASSERT_EQ(info.status, 0) << info.output;
  const auto j = nlohmann::json::parse(info.output);
  EXPECT_TRUE(j.contains("version") && j.contains("commit") && j.contains("devices"));
}

// Rule 5: the suite, and check data naming an aligned task.
TEST_F(Cli, SimulateSuiteAndCheckDataSaysAligned) {
  const Result suite = strand("simulate --suite --out suite --json", dir());
  ASSERT_EQ(suite.status, 0) << suite.output;
  const auto index = nlohmann::json::parse(suite.output.substr(suite.output.find('{')));
  ASSERT_EQ(index["suite"].size(), 6u);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "suite" / "suite.json"));
  const Result check = strand(
      "check data --fasta suite/orientation/sequences.fa --labels suite/orientation/labels.tsv",
      dir());
  ASSERT_TRUE(check.status == 0 || check.status == 1) << check.output;
  EXPECT_THAT(check.output, HasSubstr("position (rule 5): aligned"));
  EXPECT_THAT(check.output, HasSubstr("recommended head: a position-keeping head"));
}

// simulate -> check data -> train (tiny, with the baseline comparison) -> eval -> predict.
TEST_F(Cli, SimulateCheckTrainEvalPredict) {
  ASSERT_EQ(strand("simulate --out sim --sequences 600 --length 120 --seed 5", dir()).status, 0);
  ASSERT_TRUE(std::filesystem::exists(dir_ / "sim" / "ground_truth.json"));

  const Result check =
      strand("check data --fasta sim/sequences.fa --labels sim/labels.tsv --json", dir());
  ASSERT_TRUE(check.status == 0 || check.status == 1) << check.output;  // ok or warn
  EXPECT_NO_THROW(nlohmann::json::parse(check.output.substr(check.output.find('{'))));

  const Result train = strand(
      "train --fasta sim/sequences.fa --labels sim/labels.tsv --epochs 2 --batch-size 32 "
      "--bootstrap 50 --no-progress --out run",
      dir());
  ASSERT_EQ(train.status, 0) << train.output;
  EXPECT_THAT(train.output, HasSubstr("strongest baseline on valid: "));
  for (const char* f :
       {"model.safetensors", "checkpoint.safetensors", "log.jsonl", "metrics.json", "scores.tsv"}) {
    EXPECT_TRUE(std::filesystem::exists(dir_ / "run" / f)) << f;
  }
  std::ifstream metrics_file(dir_ / "run" / "metrics.json");
  const auto metrics = nlohmann::json::parse(metrics_file);
  // The strongest baseline is the best of the candidates on validation; fixed-length input adds
  // the position-specific ones.
  const auto& candidates = metrics["baseline"]["candidates"];
  const std::string strongest = metrics["baseline"]["name"];
  for (const char* name : {"kmer_logistic", "onehot_logistic", "dinuc_trees"})
    EXPECT_TRUE(candidates.contains(name)) << name;
  for (const auto& [name, v] : candidates.items())
    if (v.is_number()) EXPECT_LE(v.get<double>(), candidates[strongest].get<double>()) << name;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "run" / "baselines" / strongest / "metrics.json"));
  EXPECT_TRUE(metrics["valid"].contains("tasks"));
  EXPECT_TRUE(metrics["test"].contains("tasks"));
  EXPECT_TRUE(metrics["baseline"]["summary"].contains("sentence"));

  const Result eval = strand(
      "eval --model run/model.safetensors --fasta sim/sequences.fa --labels sim/labels.tsv "
      "--split test --bootstrap 20 --json",
      dir());
  ASSERT_EQ(eval.status, 0) << eval.output;
  EXPECT_NO_THROW(nlohmann::json::parse(eval.output.substr(eval.output.find('{'))));

  const Result predict = strand(
      "predict --model run/model.safetensors --fasta sim/sequences.fa --out scores.tsv", dir());
  ASSERT_EQ(predict.status, 0) << predict.output;
  std::ifstream scores(dir_ / "scores.tsv");
  std::string header;
  std::getline(scores, header);
  EXPECT_THAT(header, HasSubstr("name"));

  const Result corrupt =
      strand("eval --model sim/labels.tsv --fasta sim/sequences.fa --labels sim/labels.tsv", dir());
  EXPECT_NE(corrupt.status, 0);
}

}  // namespace
