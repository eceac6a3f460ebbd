// The Rule 10 guard end to end: `strand train --sensitive` records the mark, `strand export`
// refuses the model (exit 1, the reason on one line), exports it with --override-privacy and logs
// that, and `strand baseline --sensitive` marks the kNN baseline, which stores training rows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/apps/run_cli.h"

namespace strand::apps {
namespace {

using cli_test::run_strand;
using ::testing::HasSubstr;

nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

TEST(ExportCli, SensitiveModelNeedsALoggedOverride) {
  const auto dir = cli_test::fresh_dir("export_cli");
  ASSERT_EQ(run_strand("simulate --out sim --sequences 300 --length 80 --seed 5", dir).status, 0);
  const auto train = run_strand(
      "train --fasta sim/sequences.fa --labels sim/labels.tsv --epochs 1 --no-baseline "
      "--bootstrap 10 --no-progress --sensitive --out run",
      dir);
  ASSERT_EQ(train.status, 0) << train.output;
  const auto metrics = read_json(dir / "run" / "metrics.json");
  EXPECT_EQ(metrics["privacy"]["sensitive"], true);
  EXPECT_EQ(metrics["privacy"]["dp"], false);

  const auto refused = run_strand("export --model run/model.safetensors --out w.safetensors", dir);
  EXPECT_EQ(refused.status, 1);
  EXPECT_THAT(refused.output, HasSubstr("refusing to export"));
  EXPECT_THAT(refused.output, HasSubstr("without differential privacy"));
  EXPECT_FALSE(std::filesystem::exists(dir / "w.safetensors"));

  const auto forced = run_strand(
      "export --model run/model.safetensors --out w.safetensors --format pytorch "
      "--override-privacy 'synthetic data, demo' --json",
      dir);
  ASSERT_EQ(forced.status, 0) << forced.output;
  EXPECT_THAT(forced.output, HasSubstr("PRIVACY OVERRIDE"));
  EXPECT_TRUE(std::filesystem::exists(dir / "w.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir / "w.safetensors.load.py"));
  std::ifstream audit(dir / "w.safetensors.privacy-override.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(audit, line));
  EXPECT_EQ(nlohmann::json::parse(line)["reason"], "synthetic data, demo");

  const auto knn = run_strand(
      "baseline --fasta sim/sequences.fa --labels sim/labels.tsv --out b --baselines kmer_knn "
      "--bootstrap 0 --sensitive",
      dir);
  ASSERT_EQ(knn.status, 0) << knn.output;
  const auto knn_metrics = read_json(dir / "b" / "kmer_knn" / "metrics.json");
  EXPECT_EQ(knn_metrics["privacy"]["sensitive"], true);
  EXPECT_EQ(knn_metrics["privacy"]["memorises_training_data"], true);
  EXPECT_THAT(knn_metrics["privacy"]["share_refusal"].get<std::string>(),
              HasSubstr("reveal training data"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strand::apps
