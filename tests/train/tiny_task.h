// A small simulated dataset (data::simulate's two default motif tasks) that trains in seconds on
// one CPU core, and a trainer configuration sized for it.
#pragma once

#include <memory>

#include "data/simulate.h"
#include "data/split_dataset.h"
#include "train/config.h"

namespace strand::train::testing {

inline std::shared_ptr<const data::SplitDataset> tiny_task(int64_t length = 100,
                                                           int64_t sequences = 800) {
  data::SimulationConfig c;
  c.num_sequences = sequences;
  c.length = length;
  c.seed = 7;
  c.valid_fraction = 0.2;
  const auto sim = data::simulate(c);
  auto ds =
      std::make_shared<const data::Dataset>(data::Dataset::from_records(sim.records, sim.labels));
  return std::make_shared<const data::SplitDataset>(ds);
}

inline TrainConfig tiny_config() {
  TrainConfig c;
  c.epochs = 2;
  c.batch_size = 32;
  c.lr = 3e-3;
  c.schedule = "constant";
  c.seed = 3;
  c.log_every = 5;
  c.patience = 0;
  c.progress = false;
  return c;
}

}  // namespace strand::train::testing
