// The privacy record: JSON round trip, old files without it, wrong types, and the sharing rule.
#include "rules/privacy_record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "core/error.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;

TEST(PrivacyRecord, RoundTripsThroughJsonAndMetadata) {
  PrivacyRecord r;
  r.sensitive = true;
  r.dp = true;
  r.epsilon = 3.5;
  r.delta = 1e-6;
  r.accountant = "rdp";
  r.noise_multiplier = 0.9;
  r.sampling_rate = 0.02;
  r.max_grad_norm = 1.5;
  r.steps = 1234;
  const PrivacyRecord back = read_privacy_record({{kPrivacyMetadataKey, r.to_json().dump()}});
  EXPECT_EQ(back.to_json(), r.to_json());
  EXPECT_EQ(back.steps, 1234);
  EXPECT_TRUE(back.guaranteed());
  EXPECT_EQ(back.share_refusal(), "");
}

TEST(PrivacyRecord, FilesWithoutARecordReadAsNotSensitive) {
  const PrivacyRecord r = read_privacy_record({{"strand.model", "{}"}});
  EXPECT_FALSE(r.sensitive);
  EXPECT_FALSE(r.dp);
  EXPECT_EQ(r.share_refusal(), "");
}

TEST(PrivacyRecord, SharingRule) {
  PrivacyRecord r;
  r.sensitive = true;
  EXPECT_THAT(r.share_refusal(), HasSubstr("without differential privacy"));
  r.dp = true;
  r.epsilon = std::numeric_limits<double>::infinity();
  r.delta = 1e-5;
  EXPECT_THAT(r.share_refusal(), HasSubstr("DP record is incomplete"));
  r.epsilon = 2;
  r.sampling = "shuffle";
  EXPECT_THAT(r.share_refusal(), HasSubstr("not a proven guarantee"));
  r.sampling = "poisson";
  EXPECT_EQ(r.share_refusal(), "");
}

TEST(PrivacyRecord, BadJsonIsRejectedNamingTheKey) {
  EXPECT_THAT(
      [] {
        read_privacy_record({{kPrivacyMetadataKey, "{not json"}});
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("metadata 'strand.privacy': not valid JSON")));
  EXPECT_THAT(
      [] {
        PrivacyRecord::from_json({{"epsilon", "high"}});
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("'epsilon' has the wrong type")));
  EXPECT_THAT([] { PrivacyRecord::from_json(nlohmann::json::array()); },
              ::testing::ThrowsMessage<Error>(HasSubstr("must be a JSON object")));
}

}  // namespace
}  // namespace strand::rules
