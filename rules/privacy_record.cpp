// The privacy record's JSON form and the sharing decision of the Rule 10 guard.
#include "rules/privacy_record.h"

#include <cmath>

#include "core/error.h"
#include "runtime/file_io.h"

namespace strand::rules {
namespace {

template <typename T>
void read(const nlohmann::json& j, const char* key, T& out) {
  if (!j.contains(key) || j[key].is_null()) return;
  try {
    out = j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    STRAND_FAIL("privacy record: '{}' has the wrong type ({})", key, j[key].dump());
  }
}

}  // namespace

nlohmann::json PrivacyRecord::to_json() const {
  nlohmann::json j = {{"sensitive", sensitive}, {"dp", dp}};
  if (dp) {
    j["epsilon"] = epsilon;
    j["delta"] = delta;
    j["accountant"] = accountant;
    j["noise_multiplier"] = noise_multiplier;
    j["sampling_rate"] = sampling_rate;
    j["max_grad_norm"] = max_grad_norm;
    j["steps"] = steps;
    j["sampling"] = sampling;
  }
  return j;
}

PrivacyRecord PrivacyRecord::from_json(const nlohmann::json& j) {
  STRAND_CHECK(j.is_object(), "privacy record must be a JSON object, got {}", j.dump());
  PrivacyRecord r;
  read(j, "sensitive", r.sensitive);
  read(j, "dp", r.dp);
  read(j, "epsilon", r.epsilon);
  read(j, "delta", r.delta);
  read(j, "accountant", r.accountant);
  read(j, "noise_multiplier", r.noise_multiplier);
  read(j, "sampling_rate", r.sampling_rate);
  read(j, "max_grad_norm", r.max_grad_norm);
  read(j, "steps", r.steps);
  read(j, "sampling", r.sampling);
  return r;
}

bool PrivacyRecord::guaranteed() const {
  return dp && sampling == "poisson" && std::isfinite(epsilon) && epsilon > 0 && delta > 0 &&
         delta < 1;
}

std::string PrivacyRecord::share_refusal() const {
  if (!sensitive) return "";
  if (!dp) {
    return "this model was trained on data marked sensitive without differential privacy: its "
           "weights can reveal (memorise) individual training sequences (Rule 10). Retrain with "
           "`strand train --dp --target-epsilon E`, or pass --override-privacy \"reason\" to "
           "share it anyway (the override is logged)";
  }
  if (sampling != "poisson") {
    return strand::format(
        "this model was trained on data marked sensitive with DP-SGD over fixed-size shuffled "
        "batches ('{}' sampling): the reported epsilon {} is not a proven guarantee, because "
        "the accountant assumes Poisson sampling. Retrain with Poisson sampling, or pass "
        "--override-privacy \"reason\" (logged)",
        sampling, epsilon);
  }
  if (!guaranteed()) {
    return strand::format(
        "this model was trained on data marked sensitive and its DP record is incomplete "
        "(epsilon {}, delta {}): no guarantee can be stated. Pass --override-privacy \"reason\" "
        "to share it anyway (logged)",
        epsilon, delta);
  }
  return "";
}

PrivacyRecord read_privacy_record(const std::map<std::string, std::string>& metadata) {
  const auto it = metadata.find(kPrivacyMetadataKey);
  if (it == metadata.end()) return {};
  return PrivacyRecord::from_json(
      runtime::parse_json(it->second, strand::format("metadata '{}'", kPrivacyMetadataKey)));
}

}  // namespace strand::rules
