// `strand audit membership`: the Rule 10 membership-inference audit of a trained model on its own
// splits: a loss-threshold attack and offline LiRA, with the epsilon lower bound they imply beside
// the accountant's epsilon.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "core/error.h"
#include "data/dataset.h"
#include "data/fasta.h"
#include "data/labels.h"
#include "runtime/file_io.h"
#include "train/membership_audit.h"

namespace strand::apps {
namespace {

struct AuditArgs {
  std::string model, fasta, labels;
  std::string members = "train", nonmembers = "test", reference = "auto";
  int reference_models = 4;
  int64_t epochs = 0;
  double delta = 0;
  uint64_t seed = 1;
  std::string device = "cpu";
  bool json = false;
};

std::string percent(double f) { return strand::format("{}%", f * 100); }

void print_attack(const rules::AttackResult& r) {
  std::printf("  %s\n    AUROC %.3f over %lld members and %lld non-members\n", r.method.c_str(),
              r.auroc, static_cast<long long>(r.members), static_cast<long long>(r.nonmembers));
  for (const auto& p : r.at_fpr) {
    if (!p.supported) {
      std::printf(
          "    TPR at FPR <= %s: %.3f, not supported (needs >= %.0f non-members, has %lld)\n",
          percent(p.target_fpr).c_str(), p.tpr, std::ceil(1 / p.target_fpr),
          static_cast<long long>(r.nonmembers));
      continue;
    }
    std::printf("    TPR at FPR <= %s: %.3f (%lld of %lld non-members flagged); epsilon >= %.2f\n",
                percent(p.target_fpr).c_str(), p.tpr, static_cast<long long>(p.false_positives),
                static_cast<long long>(r.nonmembers), p.epsilon_lower_bound);
  }
  std::printf("    best threshold: epsilon >= %.2f\n", r.epsilon_lower_bound);
}

void run_membership(const AuditArgs& a) {
  const train::LoadedModel loaded = train::load_model(a.model);
  const data::Split members = data::parse_split(a.members, "--members");
  const data::Split nonmembers = data::parse_split(a.nonmembers, "--nonmembers");
  STRAND_CHECK(members != nonmembers, "--members and --nonmembers are both '{}'", a.members);
  data::Split reference = data::Split::kValid;
  if (a.reference == "auto") {
    for (data::Split s : {data::Split::kValid, data::Split::kTest, data::Split::kTrain}) {
      if (s != members && s != nonmembers) reference = s;
    }
  } else if (a.reference != "none") {
    reference = data::parse_split(a.reference, "--reference");
    STRAND_CHECK(reference != members && reference != nonmembers,
                 "--reference '{}' must be a split other than the members and non-members",
                 a.reference);
  }
  const bool with_reference = a.reference != "none" && a.reference_models > 0;

  const auto kind = data::parse_label_kind(loaded.info.kind);
  data::FastaDatasetOptions fo;
  fo.kind = kind;
  auto dataset =
      std::make_shared<const data::Dataset>(data::Dataset::from_fasta(a.fasta, a.labels, fo));
  const auto& declared = dataset->declared_splits();
  STRAND_CHECK(!declared.empty(),
               "'{}' has no split column: the audit needs to know which examples the model "
               "trained on (--members) and which it never saw (--nonmembers)",
               a.labels);
  train::AuditRows in{dataset, {}}, out{dataset, {}};
  for (int64_t i = 0; i < dataset->size(); ++i) {
    if (declared[i] == members) in.rows.push_back(i);
    if (declared[i] == nonmembers) out.rows.push_back(i);
  }
  STRAND_CHECK(!in.rows.empty(), "no examples in the members split '{}'", a.members);
  STRAND_CHECK(!out.rows.empty(), "no examples in the non-members split '{}'", a.nonmembers);

  train::MembershipAuditOptions o;
  o.reference_models = with_reference ? a.reference_models : 0;
  o.seed = a.seed;
  o.delta = a.delta;
  o.device = a.device;
  std::shared_ptr<const data::Dataset> ref;
  if (with_reference) {
    ref = train::dataset_of_split(data::read_fasta(a.fasta), data::read_labels(a.labels, kind),
                                  reference);
    if (a.epochs > 0) {
      train::TrainConfig c = train::config_from_json(
          runtime::parse_json(loaded.metadata.at("strand.training"), "metadata 'strand.training'"));
      c.epochs = a.epochs;
      o.reference_config = c;
    }
    if (!a.json) {
      std::fprintf(stderr, "training %d reference models on the %lld '%s' examples...\n",
                   a.reference_models, static_cast<long long>(ref->size()),
                   std::string(data::split_name(reference)).c_str());
    }
  }
  const train::MembershipAudit audit = train::audit_membership(loaded, in, out, ref, o);
  if (a.json) {
    nlohmann::json j = audit.to_json();
    j["model"] = a.model;
    j["members_split"] = a.members;
    j["nonmembers_split"] = a.nonmembers;
    std::cout << j.dump() << "\n";
    return;
  }
  std::printf("membership audit of %s (%s), delta %g, 95%% Clopper-Pearson bounds\n",
              a.model.c_str(), loaded.info.describe().c_str(), audit.delta);
  print_attack(audit.loss_attack);
  if (audit.calibrated_attack) print_attack(*audit.calibrated_attack);
  if (audit.privacy.dp) {
    std::printf("accountant: epsilon %.3f at delta %g (%s); empirical lower bound %.2f %s\n",
                audit.privacy.epsilon, audit.privacy.delta, audit.privacy.accountant.c_str(),
                audit.epsilon_lower_bound(),
                audit.consistent_with_accountant()
                    ? "is within it"
                    : "EXCEEDS it: the guarantee does not hold for this model (report a bug)");
  } else {
    std::printf("no DP: the model claims no guarantee; the attacks' lower bound is %.2f\n",
                audit.epsilon_lower_bound());
  }
}

}  // namespace

void add_audit_commands(CLI::App& app) {
  auto* audit = app.add_subcommand("audit", "Privacy audits of trained models (Rule 10)");
  audit->require_subcommand(1);
  auto a = std::make_shared<AuditArgs>();
  auto* cmd = audit->add_subcommand(
      "membership",
      "Membership-inference attacks on a model: can its training examples be told "
      "from held-out ones?");
  cmd->footer(
      "Example:\n"
      "  strand audit membership --model run/model.safetensors --fasta seqs.fa --labels "
      "labels.tsv --members train --nonmembers test\n"
      "Attacks: loss threshold (Yeom et al. 2018) and offline LiRA (Carlini et al. 2022) with\n"
      "reference models trained like the target on a third split (--reference, default the one\n"
      "left over). Reports AUROC, TPR at FPR 0.1% and 1%, and the epsilon lower bound they imply\n"
      "(eps >= ln((TPR - delta) / FPR), Clopper-Pearson 95%), beside the accountant's epsilon.");
  cmd->add_option("--model", a->model, "model.safetensors written by strand train")->required();
  cmd->add_option("--fasta", a->fasta, "The sequences the model's run used")->required();
  cmd->add_option("--labels", a->labels, "Their labels, with the run's split column")->required();
  cmd->add_option("--members", a->members, "Split the model trained on")->capture_default_str();
  cmd->add_option("--nonmembers", a->nonmembers, "Held-out split: test or valid")
      ->capture_default_str();
  cmd->add_option("--reference", a->reference,
                  "Split to train reference models on: auto, valid, test or none (loss attack "
                  "only)")
      ->capture_default_str();
  cmd->add_option("--reference-models", a->reference_models, "Reference models for LiRA")
      ->capture_default_str();
  cmd->add_option("--epochs", a->epochs, "Reference models' epochs (default: the target's)");
  cmd->add_option("--delta", a->delta, "Delta of the bound (default: the model's DP delta, 1e-5)");
  cmd->add_option("--seed", a->seed, "Seed of the reference models")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu or cuda")->capture_default_str();
  cmd->add_flag("--json", a->json, "Machine-readable output");
  cmd->callback([a] { run_membership(*a); });
}

}  // namespace strand::apps
