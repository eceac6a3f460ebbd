// The membership audit on real training runs: a deliberately overfit non-private CNN (few
// examples, a fifth of the labels randomised so only memorising fits them, many epochs) is
// clearly attackable, and a DP-SGD model's empirical lower bound stays within its epsilon.
#include "train/membership_audit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "data/simulate.h"
#include "data/split_dataset.h"
#include "core/error.h"
#include "tests/train/tiny_task.h"
#include "train/trainer.h"

namespace strand::train {
namespace {

using ::testing::HasSubstr;

struct Pools {
  std::shared_ptr<const data::Dataset> target, nonmembers, reference;
};

std::vector<int64_t> range(int64_t begin, int64_t end) {
  std::vector<int64_t> v(static_cast<size_t>(end - begin));
  std::iota(v.begin(), v.end(), begin);
  return v;
}

// 520 simulated 60-bp sequences: 130 for the target (100 train, 20 valid, 10 unused), 200
// non-members, 190
// for reference models. 20% of labels flipped at random.
Pools pools() {
  data::SimulationConfig c;
  c.num_sequences = 520;
  c.length = 60;
  c.seed = 11;
  auto sim = data::simulate(c);
  std::mt19937_64 rng(5);
  std::bernoulli_distribution flip(0.2);
  for (auto& v : sim.labels.values) {
    if (flip(rng)) v = 1 - v;
  }
  return {dataset_subset(sim.records, sim.labels, range(0, 130)),
          dataset_subset(sim.records, sim.labels, range(130, 330)),
          dataset_subset(sim.records, sim.labels, range(330, 520))};
}

// The tiny task's configuration, trained long enough on few examples to memorise them.
TrainConfig overfit_config() {
  TrainConfig c = testing::tiny_config();
  c.epochs = 30;
  c.batch_size = 16;
  c.log_every = 0;
  return c;
}

struct Trained {
  LoadedModel model;
  AuditRows members;
  TrainResult result;
};

// Trains on the target pool's train split and wraps the final model as a loaded one.
Trained train_target(const Pools& p, const TrainConfig& config) {
  data::SplitOptions so;
  so.method = data::SplitMethod::kRandom;
  so.test_fraction = 10.0 / 130;  // unused, but every split needs examples
  so.valid_fraction = 20.0 / 120;
  auto splits = std::make_shared<const data::SplitDataset>(p.target, so);
  Trainer trainer(splits, config, "");
  Trained t;
  t.result = trainer.fit();
  t.model.info = trainer.info();
  t.model.model = trainer.shared_model();
  t.model.metadata["strand.training"] = to_json(config).dump();
  if (t.result.dp) {
    rules::PrivacyRecord r;
    r.sensitive = true;
    r.dp = true;
    r.epsilon = t.result.epsilon;
    r.delta = t.result.delta;
    r.accountant = config.dp.accountant;
    r.noise_multiplier = t.result.noise_multiplier;
    r.sampling_rate = t.result.sampling_rate;
    r.max_grad_norm = config.dp.max_grad_norm;
    r.steps = t.result.steps;
    t.model.metadata[rules::kPrivacyMetadataKey] = r.to_json().dump();
  }
  t.members = {p.target, splits->train()};
  return t;
}

TEST(MembershipAudit, OverfitModelIsClearlyAttackable) {
  const Pools p = pools();
  const Trained t = train_target(p, overfit_config());
  MembershipAuditOptions o;
  o.reference_models = 2;
  const MembershipAudit a =
      audit_membership(t.model, t.members, {p.nonmembers, {}}, p.reference, o);
  EXPECT_EQ(a.loss_attack.members, static_cast<int64_t>(t.members.rows.size()));
  EXPECT_GE(a.loss_attack.members, 95);
  EXPECT_EQ(a.loss_attack.nonmembers, 200);
  EXPECT_GT(a.loss_attack.auroc, 0.75);
  EXPECT_GT(a.loss_attack.epsilon_lower_bound, 0.5);
  ASSERT_TRUE(a.calibrated_attack.has_value());
  EXPECT_GT(a.calibrated_attack->auroc, 0.75);
  EXPECT_GT(a.epsilon_lower_bound(), 0.5);
  EXPECT_FALSE(a.privacy.dp);
  EXPECT_TRUE(a.consistent_with_accountant());  // nothing claimed, nothing contradicted
  const auto j = a.to_json();
  EXPECT_TRUE(j["accountant_epsilon"].is_null());
  EXPECT_EQ(j["calibrated_attack"]["at_fpr"].size(), 2u);
  std::printf(
      "overfit: loss AUROC %.3f, LiRA AUROC %.3f, TPR@1%% %.3f / %.3f, eps lower bound %.2f\n",
      a.loss_attack.auroc, a.calibrated_attack->auroc, a.loss_attack.at_fpr[1].tpr,
      a.calibrated_attack->at_fpr[1].tpr, a.epsilon_lower_bound());
}

TEST(MembershipAudit, DpSgdModelsLowerBoundStaysWithinItsEpsilon) {
  const Pools p = pools();
  TrainConfig c = overfit_config();
  c.dp.enabled = true;
  c.dp.target_epsilon = 2;
  c.dp.max_grad_norm = 1;
  c.dp.delta = 1e-4;
  c.epochs = 15;
  const Trained t = train_target(p, c);
  ASSERT_TRUE(t.result.dp);
  ASSERT_GT(t.result.epsilon, 0);
  ASSERT_LE(t.result.epsilon, 2.0);
  MembershipAuditOptions o;
  o.reference_models = 1;  // trained like the target: with DP (the config comes from metadata)
  const MembershipAudit a =
      audit_membership(t.model, t.members, {p.nonmembers, {}}, p.reference, o);
  EXPECT_TRUE(a.privacy.dp);
  EXPECT_DOUBLE_EQ(a.delta, 1e-4);
  EXPECT_LE(a.epsilon_lower_bound(), t.result.epsilon);
  EXPECT_TRUE(a.consistent_with_accountant());
  EXPECT_LT(a.loss_attack.auroc, 0.7);
  std::printf("DP (epsilon %.2f): loss AUROC %.3f, LiRA AUROC %.3f, eps lower bound %.2f\n",
              t.result.epsilon, a.loss_attack.auroc, a.calibrated_attack->auroc,
              a.epsilon_lower_bound());
}

TEST(MembershipAudit, BadInputIsRejectedWithTheReason) {
  const Pools p = pools();
  TrainConfig c = overfit_config();
  c.epochs = 1;
  const Trained t = train_target(p, c);
  MembershipAuditOptions o;
  o.reference_models = 2;
  EXPECT_THAT(
      [&] {
        audit_membership(t.model, t.members, {p.nonmembers, {}}, nullptr, o);
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("2 reference models need reference data")));
  data::SimulationConfig other;
  other.num_sequences = 50;
  other.length = 50;
  const auto sim = data::simulate(other);
  const auto wrong = dataset_subset(sim.records, sim.labels, range(0, 50));
  o.reference_models = 0;
  EXPECT_THAT(
      [&] {
        audit_membership(t.model, t.members, {wrong, {}}, nullptr, o);
      },
      ::testing::ThrowsMessage<Error>(
          HasSubstr("non-member sequences have length 50, but the model takes length 60")));
  EXPECT_THAT([&] { dataset_of_split(sim.records, data::LabelTable{}, data::Split::kTest); },
              ::testing::ThrowsMessage<Error>(HasSubstr("has no split column")));
}

}  // namespace
}  // namespace strand::train
