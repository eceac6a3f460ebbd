// A simulation on disk: the FASTA (indexed), the labels TSV with its split column and the
// ground-truth JSON of every planted site, as `strand simulate` writes them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "data/simulate.h"

namespace strand::data {

// Config, motifs (with PWMs), tasks, and per sequence its labels and planted sites.
nlohmann::json ground_truth_json(const Simulation& sim);

struct SimulationFiles {
  std::string fasta;         // <dir>/sequences.fa (then indexed: sequences.fa.fai)
  std::string labels;        // <dir>/labels.tsv (name, one column per task, split)
  std::string ground_truth;  // <dir>/ground_truth.json
};
// Writes the three files (creating dir when missing) and indexes the FASTA.
SimulationFiles write_simulation(const Simulation& sim, const std::string& dir);

}  // namespace strand::data
