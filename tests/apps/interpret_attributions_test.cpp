// `strand interpret attributions` end to end: a tiny trained model, DeepLIFT on FASTA records,
// the three output files in the contract's shapes, small deltas; bad input named in one line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "interpret/arrays.h"
#include "tests/apps/run_cli.h"

namespace {

using ::testing::HasSubstr;
using Result = ::strand::apps::cli_test::CliResult;

class InterpretAttributions : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("strand_attr_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Result strand(const std::string& args) {
    return ::strand::apps::cli_test::run_strand(args, dir_.string());
  }
  std::filesystem::path dir_;
};

TEST_F(InterpretAttributions, DeepLiftOnFastaWritesTheContract) {
  ASSERT_EQ(strand("simulate --out sim --sequences 200 --length 60 --seed 2").status, 0);
  const Result train = strand(
      "train --fasta sim/sequences.fa --labels sim/labels.tsv --model cnn-small --epochs 1 "
      "--no-baseline --no-progress --out run");
  ASSERT_EQ(train.status, 0) << train.output;
  {  // the first three records
    std::ifstream in(dir_ / "sim" / "sequences.fa");
    std::ofstream out(dir_ / "three.fa");
    std::string line;
    int records = 0;
    while (std::getline(in, line)) {
      if (line.rfind(">", 0) == 0 && ++records > 3) break;
      out << line << "\n";
    }
  }
  const Result r = strand(
      "interpret attributions --model run/model.safetensors --fasta three.fa --references 3 "
      "--task ctcf --out attr");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("every convergence delta within"));
  for (const char* name : {"attributions.npy", "hypothetical.npy"}) {
    const auto a = strand::interpret::load_npy((dir_ / "attr" / name).string());
    EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 1, 4, 60})) << name;
  }
  std::ifstream summary(dir_ / "attr" / "summary.tsv");
  std::string header, row;
  std::getline(summary, header);
  EXPECT_EQ(header, "name\ttask\toutput\treference_output\tattribution_sum\tdelta");
  int rows = 0;
  while (std::getline(summary, row)) {
    ++rows;
    std::istringstream fields(row);
    std::string name, task;
    double output, reference, total, delta;
    fields >> name >> task >> output >> reference >> total >> delta;
    EXPECT_EQ(task, "ctcf");
    EXPECT_NEAR(delta, total - (output - reference), 1e-5);
    EXPECT_LT(std::abs(delta), 1e-3 * std::max(1.0, std::abs(output)));
  }
  EXPECT_EQ(rows, 3);

  for (const auto& [args, reason] : std::vector<std::pair<std::string, std::string>>{
           {"--method shap", "unknown attribution method 'shap'"},
           {"--task ctfc", "did you mean 'ctcf'?"},
           {"--baseline ones", "unknown baseline 'ones'"},
           {"--bed x.bed", "--bed needs --genome"}}) {
    const std::string input = args.rfind("--bed", 0) == 0 ? "" : "--fasta three.fa ";
    const Result bad =
        strand("interpret attributions --model run/model.safetensors --out bad " + input + args);
    EXPECT_NE(bad.status, 0) << args;
    EXPECT_THAT(bad.output, HasSubstr(reason)) << args;
  }
}

}  // namespace
