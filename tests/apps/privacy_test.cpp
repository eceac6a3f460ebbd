// `strand privacy epsilon|sigma` end to end: JSON that parses and agrees with the library, the
// sigma it prints meets its target, and bad input exits non-zero with the reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "rules/privacy_accountant.h"
#include "tests/apps/run_cli.h"

namespace strand::apps {
namespace {

using ::testing::HasSubstr;
using cli_test::run_strand;

TEST(PrivacyCli, EpsilonJsonMatchesTheLibrary) {
  for (const std::string accountant : {"rdp", "pld"}) {
    const auto r = run_strand(
        "privacy epsilon --sampling-rate 0.01 --noise-multiplier 1.1 --steps 300 --delta 1e-5 "
        "--json --accountant " +
        accountant);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output);
    EXPECT_EQ(j["accountant"], accountant);
    EXPECT_EQ(j["steps"], 300);
    EXPECT_DOUBLE_EQ(j["epsilon"].get<double>(),
                     rules::epsilon(rules::parse_accountant(accountant), 0.01, 1.1, 300, 1e-5));
  }
}

TEST(PrivacyCli, EpsilonDefaultsToTheTightAccountantInPlainText) {
  const auto r = run_strand(
      "privacy epsilon --sampling-rate 0.01 --noise-multiplier 1 --steps 1000 --delta 1e-5");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("epsilon 1.828"));  // dp_accounting's PLD: 1.82824
  EXPECT_THAT(r.output, HasSubstr("pld accountant"));
}

TEST(PrivacyCli, SigmaMeetsItsTarget) {
  const auto r = run_strand(
      "privacy sigma --target-epsilon 3 --sampling-rate 0.02 --steps 200 --delta 1e-5 "
      "--accountant rdp --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  const double sigma = j["noise_multiplier"];
  EXPECT_LE(rules::epsilon(rules::AccountantKind::kRdp, 0.02, sigma, 200, 1e-5), 3.0);
  EXPECT_GT(rules::epsilon(rules::AccountantKind::kRdp, 0.02, sigma / 1.003, 200, 1e-5), 3.0);
  EXPECT_LE(j["epsilon"].get<double>(), 3.0);
}

TEST(PrivacyCli, BadInputExitsWithTheReason) {
  auto r = run_strand(
      "privacy epsilon --sampling-rate 0 --noise-multiplier 1 --steps 10 "
      "--delta 1e-5");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("sampling rate q must be in (0, 1], got 0"));
  r = run_strand("privacy epsilon --sampling-rate 0.1 --noise-multiplier 1 --steps 10 --delta 2");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("delta must be in (0, 1), got 2"));
  r = run_strand(
      "privacy sigma --target-epsilon 0.1 --sampling-rate 1 --steps 1000000 "
      "--delta 1e-5 --accountant rdp");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("unreachable"));
  r = run_strand(
      "privacy epsilon --sampling-rate 0.1 --noise-multiplier 1 --steps 10 "
      "--delta 1e-5 --accountant moments");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("--accountant"));
}

}  // namespace
}  // namespace strand::apps
