// Simulated sequences with a known answer (Rule 1), strand's built-in default dataset: random
// background with a GC knob, motifs sampled from PWMs planted at random positions and
// orientations, labels from a motif grammar per task, and every planted site. Its files and
// ground-truth JSON are data/simulation_files.h; the benchmark suite is data/simulation_suite.h.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "data/fasta.h"
#include "data/labels.h"
#include "data/motifs.h"

namespace strand::data {

// One task's label rule over the planted motifs of a sequence. kSingle, kAnd and kOr ignore where
// a site sits (unaligned grammars); kAt and kUpstream are positional grammars (aligned tasks).
struct MotifRule {
  // kAt: a site of `a` whose first base lies at centre + offset (+- jitter), centre = length / 2.
  // kUpstream: a site of `a` followed downstream (higher coordinates) by a site of `b`, the gap
  // in [min_gap, max_gap] (max_gap < 0: any gap >= min_gap).
  enum class Op { kSingle, kAnd, kOr, kAt, kUpstream };
  std::string task;  // label column name
  Op op = Op::kSingle;
  std::string a;  // motif names (built-in or from SimulationConfig::motifs)
  std::string b;  // kAnd / kOr only
  // kAnd only: the gap in bases between the end of the first site and the start of the second
  // (either order) must lie in [min_gap, max_gap]; max_gap < 0 means no spacing constraint.
  int64_t min_gap = 0;
  int64_t max_gap = -1;
  int64_t offset = 0;  // kAt only
  int64_t jitter = 0;  // kAt only
  // kSingle, kAt, kUpstream: only sites on the forward strand count (orientation matters);
  // decoys then include the right motif on the reverse strand.
  bool forward_only = false;
};

// "CTCF", "GATA AND AP1 (gap 5..20)", "SP1 OR CREB", "forward CTCF", "GATA at centre-20 (+-2)",
// "SP1 upstream of NFKB (gap 5..15)"
std::string rule_text(const MotifRule& rule);

// kAt: the positions [lo, hi] where the rule's site may start in a sequence of this length.
std::pair<int64_t, int64_t> at_window(const MotifRule& rule, int64_t length);

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
  // Multi-class (when not empty, used instead of tasks): one label column, class_column, naming
  // which rule's pattern a sequence carries (the rule's task name) or none_class. Each sequence
  // draws one of the rules or none with equal chance; then, with decoy_fraction, a decoy of a
  // random rule is added (it never satisfies a rule, so the label stays the drawn class).
  std::vector<MotifRule> classes;
  std::string class_column = "site";
  std::string none_class = "background";  // not "none": a labels file reads that as missing
  std::vector<Motif> motifs;              // extra motifs beside the built-in set
  // false: only `motifs` are planted, decoys included (real motifs, e.g. JASPAR's, without the
  // approximate built-ins among them).
  bool builtin_motifs = true;
  double valid_fraction = 0.1;  // the labels file gets a seeded split column
  double test_fraction = 0.1;
};

// The label column for a task planting motif m: its alternate name in lower case ("ctcf" for
// JASPAR's MA0139.2 CTCF; characters other than letters, digits, '_' and '-' become '_'), else
// its name.
std::string motif_task_name(const Motif& m);

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
  std::vector<MotifRule> tasks;      // multi-class: the class rules
  std::vector<FastaRecord> records;  // "sim_000000", ...
  LabelTable labels;  // 0/1 per task (binary, multi-label) or class indices (multi-class), splits
  std::vector<std::vector<PlantedSite>> planted;  // per record
};

// Deterministic for a given config (own generator, independent of the C++ library). Labels are
// the rules evaluated on the planted sites (chance matches in the background are not counted).
Simulation simulate(const SimulationConfig& config = {});

}  // namespace strand::data
