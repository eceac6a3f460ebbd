// Rule 10, the membership-inference audit of a trained model: a loss-threshold attack (Yeom et
// al. 2018) and offline LiRA with reference models trained on data the target never saw (Carlini
// et al. 2022, global variance), each reported with AUROC, TPR at low FPR and the empirical
// epsilon lower bound, beside the accountant's epsilon from the model's privacy record.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/fasta.h"
#include "data/labels.h"
#include "rules/membership.h"
#include "rules/privacy_record.h"
#include "train/checkpoint.h"
#include "train/config.h"

namespace strand::train {

struct MembershipAuditOptions {
  int reference_models = 4;  // 0: the loss attack only
  // How reference models are trained; empty: the target's own training config (its metadata),
  // so they mimic it (DP included). Their seeds are seed + 1, seed + 2, ...
  std::optional<TrainConfig> reference_config;
  uint64_t seed = 1;
  double reference_fraction = 0.5;  // each trains on this random part of the reference data
  double delta = 0;                 // 0: the model's DP delta, or 1e-5 without one
  double confidence = 0.95;
  std::vector<double> fprs = {0.001, 0.01};
  int64_t batch_size = 256;
  std::string device = "cpu";
};

struct MembershipAudit {
  rules::AttackResult loss_attack;
  std::optional<rules::AttackResult> calibrated_attack;  // when reference models ran
  rules::PrivacyRecord privacy;                          // the model's record (its epsilon)
  double delta = 0;                                      // used by the bounds
  int reference_models = 0;
  nlohmann::json to_json() const;
  // The larger lower bound of the two attacks, and whether it stays within the accountant's
  // epsilon (true when the model has no DP record: nothing to contradict).
  double epsilon_lower_bound() const;
  bool consistent_with_accountant() const;
};

// Rows of a dataset (empty rows: all of them).
struct AuditRows {
  std::shared_ptr<const data::Dataset> dataset;
  std::vector<int64_t> rows;
};

// members: examples the model trained on; nonmembers: held-out examples from the same
// distribution; reference: further held-out examples (disjoint from both) to train reference
// models on, or null for the loss attack alone. All must match the model's length and outputs.
MembershipAudit audit_membership(const LoadedModel& target, const AuditRows& members,
                                 const AuditRows& nonmembers,
                                 std::shared_ptr<const data::Dataset> reference,
                                 const MembershipAuditOptions& options = {});

// The label rows `label_rows` (indices into labels) with their records, as a dataset of its own
// (no split column); used to cut reference data, which trains new models, out of a file.
std::shared_ptr<const data::Dataset> dataset_subset(const std::vector<data::FastaRecord>& records,
                                                    const data::LabelTable& labels,
                                                    const std::vector<int64_t>& label_rows);
// The label rows of split `which` (labels must have a split column), as above.
std::shared_ptr<const data::Dataset> dataset_of_split(const std::vector<data::FastaRecord>& records,
                                                      const data::LabelTable& labels,
                                                      data::Split which);

}  // namespace strand::train
