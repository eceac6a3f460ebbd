// The benchmark suite's tasks and their files; see simulation_suite.h.
#include "data/simulation_suite.h"

#include <filesystem>

#include "core/error.h"
#include "data/simulation_files.h"
#include "runtime/file_io.h"

namespace strand::data {

std::vector<SuiteTask> suite_tasks(uint64_t seed) {
  using Op = MotifRule::Op;
  auto base = [&](int64_t n, int64_t length, uint64_t offset) {
    SimulationConfig c;
    c.num_sequences = n;
    c.length = length;
    c.seed = seed * 1000 + offset;
    return c;
  };
  std::vector<SuiteTask> out;
  {
    SuiteTask t{"presence", "NFKB anywhere in 200 bp (decoys: other motifs)", false,
                base(4000, 200, 1)};
    t.config.tasks = {{"nfkb", Op::kSingle, "NFKB", "", 0, -1}};
    out.push_back(t);
  }
  {
    SuiteTask t{"grammar",
                "two tasks on 200 bp: SP1 AND CREB, CTCF OR NFKB (decoys: one motif of the AND)",
                false, base(4000, 200, 2)};
    t.config.tasks = {{"sp1_and_creb", Op::kAnd, "SP1", "CREB", 0, -1},
                      {"ctcf_or_nfkb", Op::kOr, "CTCF", "NFKB", 0, -1}};
    out.push_back(t);
  }
  {
    SuiteTask t{"aligned_position",
                "3 classes on 100 bp: GATA at centre-20, AP1 at centre+10 (+-2), or neither "
                "(background); decoys: "
                "the same motifs elsewhere",
                true, base(4000, 100, 3)};
    t.config.classes = {{"gata_upstream", Op::kAt, "GATA", "", 0, -1, -20, 2},
                        {"ap1_downstream", Op::kAt, "AP1", "", 0, -1, 10, 2}};
    t.config.decoy_fraction = 0.8;
    out.push_back(t);
  }
  {
    // The shape of short aligned public tasks (e.g. splice junctions: ~3,000 x 60 bp, 3 classes,
    // a split column with train and test only): one weak site whose position decides the class.
    SuiteTask t{"aligned_short",
                "3 classes on 60 bp: a weak SITE motif exactly at centre-14 or at centre+4, or "
                "neither (background); decoys: SITE elsewhere; split column train/test only",
                true, base(3186, 60, 7)};
    t.config.motifs = {motif_from_consensus("SITE", "CAGGTAAGT", 0.8)};
    t.config.classes = {{"site_left", Op::kAt, "SITE", "", 0, -1, -14, 0},
                        {"site_right", Op::kAt, "SITE", "", 0, -1, 4, 0}};
    t.config.decoy_fraction = 0.8;
    t.config.valid_fraction = 0;
    t.config.test_fraction = 0.2;
    out.push_back(t);
  }
  {
    SuiteTask t{"orientation",
                "SP1 on the forward strand at the centre of 100 bp (+-3); decoys: SP1 on the "
                "reverse strand there, or elsewhere",
                true, base(3000, 100, 4)};
    t.config.tasks = {{"fwd_sp1", Op::kAt, "SP1", "", 0, -1, -4, 3, true}};
    t.config.decoy_fraction = 0.9;
    out.push_back(t);
  }
  {
    SuiteTask t{"spacing",
                "CTCF upstream of NFKB with a 5..15 bp gap, anywhere in 200 bp; decoys: wrong "
                "order, wrong gap, one motif",
                false, base(4000, 200, 5)};
    t.config.tasks = {{"ctcf_then_nfkb", Op::kUpstream, "CTCF", "NFKB", 5, 15}};
    t.config.decoy_fraction = 0.9;
    out.push_back(t);
  }
  {
    SuiteTask t{"imbalanced", "CTCF anywhere in 100 bp at 1:50 (valid and test 20% each)", false,
                base(20000, 100, 6)};
    t.config.tasks = {{"ctcf_rare", Op::kSingle, "CTCF", "", 0, -1}};
    t.config.positive_fraction = 1.0 / 51;
    t.config.valid_fraction = 0.2;
    t.config.test_fraction = 0.2;
    out.push_back(t);
  }
  return out;
}

nlohmann::json write_suite(const std::string& dir, uint64_t seed) {
  nlohmann::json index = {{"generator", "strand simulate --suite"}, {"seed", seed}};
  nlohmann::json tasks = nlohmann::json::array();
  for (const SuiteTask& task : suite_tasks(seed)) {
    const Simulation sim = simulate(task.config);
    write_simulation(sim, dir + "/" + task.name);
    const auto& t = sim.labels;
    nlohmann::json prevalence = nlohmann::json::object();
    if (t.kind == LabelKind::kMultiClass) {
      std::vector<double> counts(t.classes.size(), 0.0);
      for (float v : t.values) counts[static_cast<size_t>(v)] += 1;
      for (size_t k = 0; k < counts.size(); ++k)
        prevalence[t.classes[k]] = counts[k] / static_cast<double>(t.num_rows());
    } else {
      for (int64_t k = 0; k < t.num_columns(); ++k) {
        double pos = 0;
        for (int64_t i = 0; i < t.num_rows(); ++i) pos += t.row(i)[k];
        prevalence[t.columns[k]] = pos / static_cast<double>(t.num_rows());
      }
    }
    tasks.push_back({{"name", task.name},
                     {"description", task.description},
                     {"aligned", task.aligned},
                     {"label_kind", std::string(label_kind_name(t.kind))},
                     {"tasks", t.columns},
                     {"sequences", task.config.num_sequences},
                     {"length", task.config.length},
                     {"prevalence", prevalence},
                     {"fasta", task.name + "/sequences.fa"},
                     {"labels", task.name + "/labels.tsv"},
                     {"ground_truth", task.name + "/ground_truth.json"}});
  }
  index["suite"] = tasks;
  runtime::write_json_file(dir + "/suite.json", index);
  return index;
}

}  // namespace strand::data
