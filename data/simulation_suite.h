// The built-in benchmark suite of simulated tasks (`strand simulate --suite`).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/simulate.h"

namespace strand::data {

// The built-in benchmark suite (issue 11, Rule 5): aligned and unaligned tasks, each a
// simulation with its own ground truth.
struct SuiteTask {
  std::string name;         // subdirectory name
  std::string description;  // one line
  bool aligned = false;     // whether the label depends on where a pattern sits
  SimulationConfig config;
};
// presence, grammar, aligned_position, orientation, spacing, imbalanced (see simulation_suite.cpp).
std::vector<SuiteTask> suite_tasks(uint64_t seed = 1);

// Writes every suite task into DIR/<name>/ (write_simulation's three files) and DIR/suite.json:
// {"suite": [{"name", "description", "aligned", "label_kind", "tasks", "sequences", "length",
// "prevalence", "fasta", "labels", "ground_truth"}, ...]} with paths relative to DIR. Returns
// the index.
nlohmann::json write_suite(const std::string& dir, uint64_t seed = 1);

}  // namespace strand::data
