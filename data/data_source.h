// Where a labelled data set comes from and how it is split: the one description that every
// command reading labelled data takes (train, eval, tune, check, baseline; strand.train in
// Python), registered on the command line once (apps::add_data_options). The trainer loads it as a
// Dataset (load_dataset) and splits it with split_options; inside a run the checks and baselines
// get the trainer's own rows (train::load_run_data), and the standalone check and baseline
// commands load the same description with rules::load_source and the same split rules.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/split_dataset.h"

namespace strand::data {

struct DataSource {
  std::string fasta, labels;  // FASTA + labels TSV (--fasta, --labels), or
  std::string bed, genome;    // BED intervals (targets = labels) on an indexed genome FASTA
  int64_t window = 1000;      // BED: width of the windows centred on the intervals
  std::string task = "auto";  // label kind: auto, binary, multi-label, multi-class, regression
  // auto (the labels' split column, else random), column, chromosome, random; the checks also
  // take none (no splits).
  std::string split_method = "auto";
  std::vector<std::string> test_chroms, valid_chroms;
  double test_fraction = 0.1, valid_fraction = 0.1;
  uint64_t split_seed = 0;
};

// The split rules of a source as SplitDataset and assign_splits take them (split_method "none"
// is an error here: only the checks accept it).
SplitOptions split_options(const DataSource& source);

// The examples of a source as the trainer reads them: a FASTA of equal lengths with its labels
// (label kind `kind`), or windows of `window` bases centred on BED intervals of the genome.
std::shared_ptr<Dataset> load_dataset(const DataSource& source, LabelKind kind);
// The same with the source's own label kind (task).
std::shared_ptr<Dataset> load_dataset(const DataSource& source);

}  // namespace strand::data
