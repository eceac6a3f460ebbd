// `strand audit membership` end to end on a trained run: JSON with both attacks, the fixed-FPR
// points and the (absent) accountant epsilon; and bad split choices exit with the reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/apps/run_cli.h"

namespace strand::apps {
namespace {

using cli_test::run_strand;
using ::testing::HasSubstr;

TEST(AuditCli, MembershipAuditOfATrainedRun) {
  const auto dir = cli_test::fresh_dir("audit_cli");
  ASSERT_EQ(run_strand("simulate --out sim --sequences 300 --length 60 --seed 5", dir).status, 0);
  const auto train = run_strand(
      "train --fasta sim/sequences.fa --labels sim/labels.tsv --epochs 2 --no-baseline "
      "--bootstrap 10 --no-progress --out run",
      dir);
  ASSERT_EQ(train.status, 0) << train.output;
  const std::string base =
      "audit membership --model run/model.safetensors --fasta sim/sequences.fa --labels "
      "sim/labels.tsv ";
  const auto audit = run_strand(base + "--reference-models 1 --epochs 1 --json", dir);
  ASSERT_EQ(audit.status, 0) << audit.output;
  const auto j = nlohmann::json::parse(audit.output);
  EXPECT_EQ(j["members_split"], "train");
  EXPECT_EQ(j["nonmembers_split"], "test");
  EXPECT_EQ(j["reference_models"], 1);
  EXPECT_GT(j["loss_attack"]["members"].get<int>(), 200);
  EXPECT_EQ(j["loss_attack"]["at_fpr"].size(), 2u);
  EXPECT_FALSE(j["loss_attack"]["at_fpr"][0]["supported"].get<bool>());  // 30 non-members
  EXPECT_TRUE(j["calibrated_attack"].is_object());
  EXPECT_TRUE(j["accountant_epsilon"].is_null());
  EXPECT_EQ(j["consistent_with_accountant"], true);
  const double auroc = j["loss_attack"]["auroc"];
  EXPECT_GE(auroc, 0.0);
  EXPECT_LE(auroc, 1.0);

  const auto text = run_strand(base + "--reference none", dir);
  ASSERT_EQ(text.status, 0) << text.output;
  EXPECT_THAT(text.output, HasSubstr("loss threshold"));
  EXPECT_THAT(text.output, HasSubstr("no DP: the model claims no guarantee"));

  const auto same = run_strand(base + "--members test --nonmembers test", dir);
  EXPECT_EQ(same.status, 1);
  EXPECT_THAT(same.output, HasSubstr("--members and --nonmembers are both 'test'"));
  const auto overlap = run_strand(base + "--reference train", dir);
  EXPECT_EQ(overlap.status, 1);
  EXPECT_THAT(overlap.output, HasSubstr("must be a split other than the members"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strand::apps
