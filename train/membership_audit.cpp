// The membership audit: predictions of the target and of reference models, the two attacks.
#include "train/membership_audit.h"

#include <algorithm>
#include <unordered_set>

#include "data/split_dataset.h"
#include "core/error.h"
#include "runtime/device.h"
#include "runtime/file_io.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace strand::train {
namespace {

std::vector<int64_t> all_rows(const data::Dataset& d) {
  std::vector<int64_t> rows(static_cast<size_t>(d.size()));
  for (int64_t i = 0; i < d.size(); ++i) rows[static_cast<size_t>(i)] = i;
  return rows;
}

void check_matches(const LoadedModel& target, const data::Dataset& d, const char* what) {
  STRAND_CHECK(d.size() > 0, "the {} data set is empty", what);
  STRAND_CHECK(d.length() == target.info.length,
               "the {} sequences have length {}, but the model takes length {}", what, d.length(),
               target.info.length);
  const auto& cols = target.info.kind == "multi-class" ? d.classes() : d.output_names();
  STRAND_CHECK(cols == target.info.tasks, "the {} labels' outputs {} are not the model's {}", what,
               nlohmann::json(cols).dump(), nlohmann::json(target.info.tasks).dump());
}

Predictions predict_all(layers::Module& model, const std::string& kind, const AuditRows& d,
                        const MembershipAuditOptions& o) {
  return predict_rows(model, kind, d.dataset, d.rows.empty() ? all_rows(*d.dataset) : d.rows,
                      o.batch_size, runtime::Device::parse(o.device));
}

std::vector<double> confidences(const std::string& kind, const Predictions& p) {
  return rules::example_confidences(kind, p.scores, p.labels, p.rows);
}

std::vector<double> negated(std::vector<double> v) {
  for (double& x : v) x = -x;
  return v;
}

}  // namespace

nlohmann::json MembershipAudit::to_json() const {
  nlohmann::json j = {
      {"loss_attack", loss_attack.to_json()},
      {"calibrated_attack", calibrated_attack ? calibrated_attack->to_json() : nlohmann::json()},
      {"reference_models", reference_models},
      {"delta", delta},
      {"epsilon_lower_bound", epsilon_lower_bound()},
      {"privacy", privacy.to_json()},
      {"accountant_epsilon", privacy.dp ? nlohmann::json(privacy.epsilon) : nlohmann::json()},
      {"consistent_with_accountant", consistent_with_accountant()}};
  return j;
}

double MembershipAudit::epsilon_lower_bound() const {
  double b = loss_attack.epsilon_lower_bound;
  if (calibrated_attack) b = std::max(b, calibrated_attack->epsilon_lower_bound);
  return b;
}

bool MembershipAudit::consistent_with_accountant() const {
  return !privacy.dp || epsilon_lower_bound() <= privacy.epsilon;
}

MembershipAudit audit_membership(const LoadedModel& target, const AuditRows& members,
                                 const AuditRows& nonmembers,
                                 std::shared_ptr<const data::Dataset> reference,
                                 const MembershipAuditOptions& options) {
  STRAND_CHECK(target.model != nullptr, "the audit needs a model");
  STRAND_CHECK(members.dataset && nonmembers.dataset, "the audit needs member and non-member data");
  check_matches(target, *members.dataset, "member");
  check_matches(target, *nonmembers.dataset, "non-member");
  STRAND_CHECK(options.reference_models >= 0, "reference models must be >= 0, got {}",
               options.reference_models);
  STRAND_CHECK(options.reference_fraction > 0 && options.reference_fraction < 1,
               "reference fraction must be in (0, 1), got {}", options.reference_fraction);
  STRAND_CHECK(options.reference_models == 0 || reference != nullptr,
               "{} reference models need reference data (held out from members and non-members)",
               options.reference_models);
  if (reference) check_matches(target, *reference, "reference");

  MembershipAudit audit;
  audit.privacy = rules::read_privacy_record(target.metadata);
  audit.delta = options.delta > 0 ? options.delta : audit.privacy.dp ? audit.privacy.delta : 1e-5;
  rules::AttackOptions attack;
  attack.delta = audit.delta;
  attack.confidence = options.confidence;
  attack.fprs = options.fprs;

  const std::string& kind = target.info.kind;
  target.model->to(runtime::Device::parse(options.device));
  const Predictions in = predict_all(*target.model, kind, members, options);
  const Predictions out = predict_all(*target.model, kind, nonmembers, options);
  audit.loss_attack = rules::evaluate_attack(
      "loss", "loss threshold (Yeom et al. 2018): members have lower loss",
      negated(rules::example_losses(kind, in.scores, in.labels, in.rows)),
      negated(rules::example_losses(kind, out.scores, out.labels, out.rows)), attack);
  if (options.reference_models == 0) return audit;

  TrainConfig config =
      options.reference_config
          ? *options.reference_config
          : config_from_json(runtime::parse_json(target.metadata.at("strand.training"),
                                                 "metadata 'strand.training'"));
  config.progress = false;
  config.device = options.device;
  config.model = target.info.name;
  std::vector<std::vector<double>> ref_in, ref_out;
  for (int k = 0; k < options.reference_models; ++k) {
    data::SplitOptions so;
    so.method = data::SplitMethod::kRandom;
    so.test_fraction = 0.05;  // SplitDataset needs a test split; it stays unused
    so.valid_fraction = 1 - options.reference_fraction;
    so.seed = options.seed + static_cast<uint64_t>(k) + 1;
    auto splits = std::make_shared<const data::SplitDataset>(reference, so);
    TrainConfig c = config;
    c.seed = options.seed + static_cast<uint64_t>(k) + 1;
    Trainer trainer(splits, c, "");
    trainer.fit();
    ref_in.push_back(confidences(kind, predict_all(trainer.model(), kind, members, options)));
    ref_out.push_back(confidences(kind, predict_all(trainer.model(), kind, nonmembers, options)));
  }
  audit.reference_models = options.reference_models;
  // One pooled variance over members and non-members together, so both sides share a scale.
  const auto target_in = confidences(kind, in), target_out = confidences(kind, out);
  std::vector<double> target_all = target_in;
  target_all.insert(target_all.end(), target_out.begin(), target_out.end());
  std::vector<std::vector<double>> ref_all(ref_in.size());
  for (size_t k = 0; k < ref_in.size(); ++k) {
    ref_all[k] = ref_in[k];
    ref_all[k].insert(ref_all[k].end(), ref_out[k].begin(), ref_out[k].end());
  }
  const auto z = rules::calibrated_scores(target_all, ref_all);
  const auto split_at = z.begin() + static_cast<std::ptrdiff_t>(target_in.size());
  audit.calibrated_attack = rules::evaluate_attack(
      "lira_offline",
      strand::format("offline LiRA (Carlini et al. 2022), global variance, {} reference models "
                     "trained on held-out data: target logit confidence minus the reference mean",
                     options.reference_models),
      std::vector<double>(z.begin(), split_at), std::vector<double>(split_at, z.end()), attack);
  return audit;
}

std::shared_ptr<const data::Dataset> dataset_subset(const std::vector<data::FastaRecord>& records,
                                                    const data::LabelTable& labels,
                                                    const std::vector<int64_t>& label_rows) {
  data::LabelTable subset = labels;
  subset.names.clear();
  subset.values.clear();
  subset.splits.clear();
  std::unordered_set<std::string> keep;
  for (const int64_t i : label_rows) {
    STRAND_CHECK(i >= 0 && i < labels.num_rows(), "label row {} is not in '{}' ({} rows)", i,
                 labels.path, labels.num_rows());
    subset.names.push_back(labels.names[static_cast<size_t>(i)]);
    subset.values.insert(subset.values.end(), labels.row(i), labels.row(i) + labels.num_columns());
    keep.insert(labels.names[static_cast<size_t>(i)]);
  }
  STRAND_CHECK(!keep.empty(), "no rows selected from '{}'", labels.path);
  std::vector<data::FastaRecord> kept;
  for (const auto& r : records) {
    if (keep.count(r.name)) kept.push_back(r);
  }
  return std::make_shared<const data::Dataset>(data::Dataset::from_records(kept, subset));
}

std::shared_ptr<const data::Dataset> dataset_of_split(const std::vector<data::FastaRecord>& records,
                                                      const data::LabelTable& labels,
                                                      data::Split which) {
  STRAND_CHECK(labels.has_split(), "'{}' has no split column: cannot pick the {} examples",
               labels.path, data::split_name(which));
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < labels.num_rows(); ++i) {
    if (labels.splits[static_cast<size_t>(i)] == which) rows.push_back(i);
  }
  STRAND_CHECK(!rows.empty(), "'{}' has no {} examples", labels.path, data::split_name(which));
  return dataset_subset(records, labels, rows);
}

}  // namespace strand::train
