// Simulated sequences with a known answer (Rule 1), strand's built-in default dataset: random
// background with a GC knob, motifs sampled from PWMs planted at random positions and
// orientations, labels from a motif grammar per task, and a JSON record of every planted site.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/fasta.h"
#include "data/labels.h"
#include "data/motifs.h"

namespace strand::data {

// One task's label rule over the planted motifs of a sequence.
struct MotifRule {
  enum class Op { kSingle, kAnd, kOr };
  std::string task;  // label column name
  Op op = Op::kSingle;
  std::string a;  // motif names (built-in or from SimulationConfig::motifs)
  std::string b;  // kAnd / kOr only
  // kAnd only: the gap in bases between the end of the first site and the start of the second
  // (either order) must lie in [min_gap, max_gap]; max_gap < 0 means no spacing constraint.
  int64_t min_gap = 0;
  int64_t max_gap = -1;
};

// "CTCF", "GATA AND AP1 (gap 5..20)", "SP1 OR CREB"
std::string rule_text(const MotifRule& rule);

struct SimulationConfig {
  int64_t num_sequences = 4000;
  int64_t length = 200;
  double gc = 0.42;                // background GC fraction
  double positive_fraction = 0.5;  // class-imbalance knob: chance a task's pattern is planted
  // Chance that a sequence not given a task's pattern gets a decoy instead: one motif of an AND,
  // both motifs at a forbidden spacing, or a motif the rule does not use. Decoys make the grammar,
  // not mere motif presence, decide the label.
  double decoy_fraction = 0.5;
  uint64_t seed = 1;
  std::vector<MotifRule> tasks;  // empty: the default two tasks below
  std::vector<Motif> motifs;     // extra motifs beside the built-in set
  double valid_fraction = 0.1;   // the labels file gets a seeded split column
  double test_fraction = 0.1;
};

// The default tasks: "ctcf" = CTCF; "sp1_and_creb" = SP1 AND CREB (an oracle scanner of the
// built-in PWMs reaches AUROC 0.998 and 0.983 on the default 4000 x 200 bp dataset).
std::vector<MotifRule> default_tasks();

struct PlantedSite {
  std::string motif;
  int64_t start = 0;  // 0-based position of the site's first base in the sequence
  int64_t end = 0;
  char strand = '+';  // '-': the reverse complement of a PWM sample was planted
  std::string site;   // the bases as planted
};

struct Simulation {
  SimulationConfig config;
  std::vector<MotifRule> tasks;
  std::vector<FastaRecord> records;               // "sim_000000", ...
  LabelTable labels;                              // multi-label 0/1, one column per task, splits
  std::vector<std::vector<PlantedSite>> planted;  // per record
};

// Deterministic for a given config (own generator, independent of the C++ library). Labels are
// the rules evaluated on the planted sites (chance matches in the background are not counted).
Simulation simulate(const SimulationConfig& config = {});

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
