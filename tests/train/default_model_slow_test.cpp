// Rule 5 (issue 11): the default model (strand train without --model) learns an aligned task (a
// motif on the forward strand at the centre, decoys on the reverse strand or elsewhere) and an
// unaligned one (a motif anywhere) with the trainer's defaults. Slow: minutes on a loaded CPU.
#include <gtest/gtest.h>

#include "data/simulate.h"
#include "data/split_dataset.h"
#include "train/trainer.h"

namespace strand::train {
namespace {

std::shared_ptr<const data::SplitDataset> splits_of(const data::Simulation& sim) {
  auto ds =
      std::make_shared<const data::Dataset>(data::Dataset::from_records(sim.records, sim.labels));
  return std::make_shared<const data::SplitDataset>(ds);
}

double default_model_valid_auroc(const data::SimulationConfig& c) {
  TrainConfig config;  // the defaults: model "cnn"
  config.progress = false;
  config.epochs = 12;
  Trainer trainer(splits_of(data::simulate(c)), config, "");
  return trainer.fit().best_metric;
}

data::SimulationConfig small(data::MotifRule rule, double decoys) {
  data::SimulationConfig c;
  c.num_sequences = 1500;
  c.length = 100;
  c.seed = 21;
  c.valid_fraction = 0.2;
  c.decoy_fraction = decoys;
  c.tasks = {std::move(rule)};
  return c;
}

TEST(DefaultModel, LearnsAnAlignedTask) {
  const auto c = small({"fwd_sp1", data::MotifRule::Op::kAt, "SP1", "", 0, -1, -4, 3, true}, 0.9);
  EXPECT_GT(default_model_valid_auroc(c), 0.95);
}

TEST(DefaultModel, LearnsAnUnalignedTask) {
  const auto c = small({"ctcf", data::MotifRule::Op::kSingle, "CTCF", "", 0, -1}, 0.5);
  EXPECT_GT(default_model_valid_auroc(c), 0.95);
}

}  // namespace
}  // namespace strand::train
