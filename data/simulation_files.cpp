// The files and ground-truth JSON of a simulation; see simulation_files.h.
#include "data/simulation_files.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "data/fasta.h"
#include "runtime/file_io.h"

namespace strand::data {

nlohmann::json ground_truth_json(const Simulation& sim) {
  using nlohmann::json;
  const auto& c = sim.config;
  json out;
  out["generator"] = "strand simulate";
  out["config"] = {{"num_sequences", c.num_sequences},
                   {"length", c.length},
                   {"gc", c.gc},
                   {"positive_fraction", c.positive_fraction},
                   {"decoy_fraction", c.decoy_fraction},
                   {"seed", c.seed},
                   {"valid_fraction", c.valid_fraction},
                   {"test_fraction", c.test_fraction}};
  out["coordinates"] = "0-based, half-open [start, end) within each sequence";
  json motifs = json::array();
  std::vector<std::string> used;
  for (const auto& r : sim.tasks) {
    used.push_back(r.a);
    if (!r.b.empty()) used.push_back(r.b);
  }
  std::vector<Motif> all = c.builtin_motifs ? builtin_motifs() : std::vector<Motif>{};
  all.insert(all.end(), c.motifs.begin(), c.motifs.end());
  for (const auto& m : all) {
    json pwm = json::array();
    for (const auto& row : m.pwm) pwm.push_back({row[0], row[1], row[2], row[3]});
    motifs.push_back({{"name", m.name}, {"consensus", m.consensus}, {"pwm_acgt", pwm}});
    if (!m.alt_name.empty()) motifs.back()["alt_name"] = m.alt_name;
  }
  out["motifs"] = motifs;
  json tasks = json::array();
  static const char* kOps[] = {"single", "and", "or", "at", "upstream"};
  for (const auto& r : sim.tasks) {
    json task = {{"name", r.task},
                 {"rule", rule_text(r)},
                 {"op", kOps[static_cast<int>(r.op)]},
                 {"a", r.a},
                 {"forward_only", r.forward_only}};
    if (!r.b.empty()) task["b"] = r.b;
    if (r.op == MotifRule::Op::kAnd || r.op == MotifRule::Op::kUpstream) {
      task["min_gap"] = r.min_gap;
      task["max_gap"] = r.max_gap;
    }
    if (r.op == MotifRule::Op::kAt) {
      const auto [lo, hi] = at_window(r, c.length);
      task["offset"] = r.offset;
      task["jitter"] = r.jitter;
      task["start_window"] = {lo, hi};  // the site's first base lies in [lo, hi]
    }
    tasks.push_back(task);
  }
  out["tasks"] = tasks;
  if (!c.classes.empty()) {
    out["multiclass"] = {{"column", c.class_column},
                         {"none_class", c.none_class},
                         {"classes", sim.labels.classes},
                         {"rule", "the class is the task whose rule holds, else the none class"}};
  }
  json seqs = json::array();
  const auto& t = sim.labels;
  for (size_t i = 0; i < sim.records.size(); ++i) {
    json labels = json::object();
    for (int64_t k = 0; k < t.num_columns(); ++k) {
      if (t.kind == LabelKind::kMultiClass)
        labels[t.columns[k]] = t.classes[static_cast<size_t>(t.row(i)[k])];
      else
        labels[t.columns[k]] = static_cast<int>(t.row(i)[k]);
    }
    json sites = json::array();
    for (const auto& s : sim.planted[i]) {
      sites.push_back({{"motif", s.motif},
                       {"start", s.start},
                       {"end", s.end},
                       {"strand", std::string(1, s.strand)},
                       {"site", s.site}});
    }
    seqs.push_back({{"name", sim.records[i].name},
                    {"split", split_name(t.splits[i])},
                    {"labels", labels},
                    {"planted", sites}});
  }
  out["sequences"] = seqs;
  return out;
}

SimulationFiles write_simulation(const Simulation& sim, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  STRAND_CHECK(!ec, "cannot create directory '{}': {}", dir, ec.message());
  SimulationFiles f{dir + "/sequences.fa", dir + "/labels.tsv", dir + "/ground_truth.json"};
  write_fasta(f.fasta, sim.records);
  IndexedFasta index(f.fasta);  // builds sequences.fa.fai now, not at first use
  {
    std::ofstream out(f.labels);
    STRAND_CHECK(out.good(), "cannot write '{}': {}", f.labels, std::strerror(errno));
    const auto& t = sim.labels;
    out << "name";
    for (const auto& col : t.columns) out << '\t' << col;
    out << "\tsplit\n";
    for (int64_t i = 0; i < t.num_rows(); ++i) {
      out << t.names[i];
      for (int64_t k = 0; k < t.num_columns(); ++k) {
        if (t.kind == LabelKind::kMultiClass)
          out << '\t' << t.classes[static_cast<size_t>(t.row(i)[k])];
        else
          out << '\t' << static_cast<int>(t.row(i)[k]);
      }
      out << '\t' << split_name(t.splits[i]) << '\n';
    }
    out.close();  // flushes: a full disk shows here
    STRAND_CHECK(!out.fail(), "error writing '{}': {}", f.labels, std::strerror(errno));
  }
  runtime::write_json_file(f.ground_truth, ground_truth_json(sim));
  return f;
}

}  // namespace strand::data
