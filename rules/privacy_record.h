// Rule 10, what a trained artefact says about privacy: whether its training data was marked
// sensitive and, when DP-SGD was used, the guarantee it carries (epsilon, delta, accountant and the
// inputs that produced them). Checkpoints store it as the "strand.privacy" metadata; baselines that
// memorise rows (kNN) carry it in their metrics; `strand export` reads it to refuse sharing a model
// trained on sensitive data without DP.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace strand::rules {

inline constexpr const char* kPrivacyMetadataKey = "strand.privacy";

struct PrivacyRecord {
  bool sensitive = false;  // the training data was marked sensitive (--sensitive or config)
  bool dp = false;         // trained with DP-SGD
  // Filled when dp: the guarantee and what it was computed from.
  double epsilon = 0, delta = 0;
  std::string accountant;  // "rdp" or "pld"
  double noise_multiplier = 0, sampling_rate = 0, max_grad_norm = 0;
  int64_t steps = 0;
  // "poisson" (the accountant's assumption) or "shuffle" (fixed-size shuffled batches: the epsilon
  // is then NOT a proven guarantee).
  std::string sampling = "poisson";

  // {"sensitive": b, "dp": b, and when dp "epsilon", "delta", "accountant", "noise_multiplier",
  //  "sampling_rate", "max_grad_norm", "steps", "sampling"}.
  nlohmann::json to_json() const;
  // Missing keys keep their defaults; a value of the wrong type is an error naming the key.
  static PrivacyRecord from_json(const nlohmann::json& j);

  // True when the DP guarantee is one the accountant proves (dp with Poisson sampling and a
  // finite epsilon).
  bool guaranteed() const;
  // Empty when sharing is fine (not sensitive, or sensitive with a proven DP guarantee); otherwise
  // the reason sharing is refused, in a sentence a user can act on.
  std::string share_refusal() const;
};

// The record stored in a file's metadata under kPrivacyMetadataKey; files written before the key
// existed read as "not marked sensitive, no DP". Invalid JSON is an error naming the key.
PrivacyRecord read_privacy_record(const std::map<std::string, std::string>& metadata);

}  // namespace strand::rules
