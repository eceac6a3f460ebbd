// Rules 1 and 4, know your data: class balance (and which metrics to trust), sequence lengths,
// GC and N content, a GC-only and a length-only AUROC per task (confound flags), duplicates within
// each split, and label correlation between tasks.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rules/baselines.h"
#include "rules/io.h"
#include "rules/leakage.h"
#include "rules/sequence_stream.h"

namespace strand::rules {

struct InspectInput {
  TaskKind kind = TaskKind::kBinary;
  std::vector<std::string> tasks;    // label columns (multi-class: the class column)
  std::vector<std::string> classes;  // multi-class only
  std::vector<std::string> names, seqs;
  std::vector<double> labels;  // rows x tasks; NaN = missing
  std::vector<int> split;      // per row (0 train, 1 valid, 2 test), or empty
};

// The loaded rows as the inspection and alignment diagnosis take them.
InspectInput inspect_input(LabelledSequences all);

struct InspectOptions {
  double imbalance_warn = 0.10;     // minority fraction below this: imbalanced
  double imbalance_extreme = 0.01;  // below this: extreme
  double confound_auroc = 0.65;     // a one-feature AUROC at or above this flags a confound
  double correlation_warn = 0.8;    // |r| between two tasks' labels at or above this
  LeakageOptions duplicates;        // scope is set to within-split
};

// Returns {"n", "splits", "tasks": {...}, "length", "n_content", "duplicates_within_split",
// "label_correlation", "warnings": [...], "verdict": "ok" | "warn"}.
nlohmann::json inspect_data(const InspectInput& input, const InspectOptions& options);
// The same, with the sequences read from `seqs` (input.seqs is not used): one pass for the
// per-record statistics and sketches, then one for the duplicate candidates' sequences.
nlohmann::json inspect_data(const InspectInput& input, const SequenceStream& seqs,
                            const InspectOptions& options);

}  // namespace strand::rules
