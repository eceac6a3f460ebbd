// The simulator: determinism, knobs, rule-consistent labels, files that strand reads back, and a
// default dataset whose signal a one-filter-per-motif scanner (what a small CNN can learn) finds
// with AUROC >= 0.95.
#include "data/simulate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "core/error.h"
#include "data/dataset.h"
#include "data/encoding.h"
#include "data/simulation_files.h"
#include "data/simulation_suite.h"
#include "data/split_dataset.h"
#include "tests/data/temp_files.h"

namespace strand::data {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

double auroc(const std::vector<double>& score, const std::vector<float>& label) {
  std::vector<size_t> idx(score.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  double rank_sum = 0, pos = 0;
  for (size_t r = 0; r < idx.size();) {  // average ranks over ties
    size_t e = r;
    while (e < idx.size() && score[idx[e]] == score[idx[r]]) ++e;
    for (size_t k = r; k < e; ++k) {
      if (label[idx[k]] > 0.5f) rank_sum += (r + e + 1) / 2.0, ++pos;
    }
    r = e;
  }
  const double neg = score.size() - pos;
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

TEST(Simulate, DeterministicPerSeed) {
  SimulationConfig c;
  c.num_sequences = 50;
  const auto a = simulate(c), b = simulate(c);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(a.records[i].sequence, b.records[i].sequence);
  EXPECT_EQ(a.labels.values, b.labels.values);
  c.seed = 2;
  EXPECT_NE(simulate(c).records[0].sequence, a.records[0].sequence);
}

TEST(Simulate, PlantedSitesAreInTheSequenceAndLabelsFollowTheRules) {
  SimulationConfig c;
  c.num_sequences = 400;
  c.tasks = {{"and_gap", MotifRule::Op::kAnd, "SP1", "CREB", 5, 15},
             {"or", MotifRule::Op::kOr, "TATA", "EBOX", 0, -1},
             {"single", MotifRule::Op::kSingle, "NFKB", "", 0, -1}};
  const auto sim = simulate(c);
  int minus = 0, sites = 0;
  for (size_t i = 0; i < sim.records.size(); ++i) {
    std::vector<std::string> present;
    bool spaced = false;
    for (const auto& s : sim.planted[i]) {
      EXPECT_EQ(sim.records[i].sequence.substr(s.start, s.end - s.start), s.site);
      present.push_back(s.motif);
      minus += s.strand == '-';
      ++sites;
      for (const auto& t : sim.planted[i]) {
        if (s.motif == "SP1" && t.motif == "CREB") {
          const int64_t gap = s.end <= t.start ? t.start - s.end : s.start - t.end;
          spaced = spaced || (gap >= 5 && gap <= 15);
        }
      }
    }
    auto has = [&](const char* m) { return std::count(present.begin(), present.end(), m) > 0; };
    EXPECT_EQ(sim.labels.row(i)[0], spaced ? 1.0f : 0.0f) << i;
    EXPECT_EQ(sim.labels.row(i)[1], has("TATA") || has("EBOX") ? 1.0f : 0.0f) << i;
    EXPECT_EQ(sim.labels.row(i)[2], has("NFKB") ? 1.0f : 0.0f) << i;
  }
  EXPECT_GT(minus, sites / 3);
  EXPECT_LT(minus, 2 * sites / 3);
  EXPECT_EQ(rule_text(c.tasks[0]), "SP1 AND CREB (gap 5..15)");
}

TEST(Simulate, GcAndImbalanceKnobs) {
  SimulationConfig c;
  c.num_sequences = 300;
  c.tasks = {{"t", MotifRule::Op::kSingle, "TATA", "", 0, -1}};
  c.positive_fraction = 0.1;
  c.decoy_fraction = 0.0;
  c.gc = 0.7;
  const auto sim = simulate(c);
  int64_t gc = 0, total = 0;
  for (const auto& r : sim.records) {
    for (char ch : r.sequence) gc += ch == 'G' || ch == 'C', ++total;
  }
  EXPECT_NEAR(static_cast<double>(gc) / total, 0.7, 0.03);
  double pos = 0;
  for (float v : sim.labels.values) pos += v;
  EXPECT_NEAR(pos / 300, 0.1, 0.05);
  EXPECT_EQ(sim.labels.kind, LabelKind::kBinary);
}

TEST(Simulate, DefaultDatasetIsLearnable) {
  const auto sim = simulate();
  ASSERT_EQ(sim.records.size(), 4000u);
  ASSERT_EQ(sim.labels.num_columns(), 2);
  const Motif& ctcf = builtin_motif("CTCF");
  const Motif& gata = builtin_motif("sp1");
  const Motif& ap1 = builtin_motif("CREB");
  std::vector<double> s0, s1;
  std::vector<float> y0, y1;
  for (size_t i = 0; i < sim.records.size(); ++i) {
    const auto codes = encode_bases(sim.records[i].sequence);
    const int64_t n = static_cast<int64_t>(codes.size());
    s0.push_back(best_log_odds(ctcf, codes.data(), n, 0.42));
    s1.push_back(std::min(best_log_odds(gata, codes.data(), n, 0.42),
                          best_log_odds(ap1, codes.data(), n, 0.42)));
    y0.push_back(sim.labels.row(i)[0]);
    y1.push_back(sim.labels.row(i)[1]);
  }
  const double a0 = auroc(s0, y0), a1 = auroc(s1, y1);
  RecordProperty("auroc_ctcf", std::to_string(a0));
  RecordProperty("auroc_sp1_and_creb", std::to_string(a1));
  std::cout << "oracle scanner AUROC: ctcf " << a0 << ", sp1_and_creb " << a1 << "\n";
  EXPECT_GE(a0, 0.95);
  EXPECT_GE(a1, 0.95);
  double pos = 0;
  for (float v : y1) pos += v;
  EXPECT_GT(pos, 1200);
  EXPECT_LT(pos, 2800);
}

TEST(Simulate, WritesFilesStrandReadsBack) {
  testing::TempDir dir;
  SimulationConfig c;
  c.num_sequences = 200;
  c.length = 150;
  const auto sim = simulate(c);
  const auto files = write_simulation(sim, dir.file("sim"));
  EXPECT_TRUE(std::filesystem::exists(files.fasta + ".fai"));
  auto d = std::make_shared<Dataset>(Dataset::from_fasta(files.fasta, files.labels));
  EXPECT_EQ(d->size(), 200);
  EXPECT_EQ(d->length(), 150);
  EXPECT_EQ(d->kind(), LabelKind::kMultiLabel);
  EXPECT_EQ(d->output_names(), (std::vector<std::string>{"ctcf", "sp1_and_creb"}));
  std::vector<uint8_t> codes(150);
  d->read(7, codes.data(), nullptr);
  EXPECT_EQ(decode_bases(codes.data(), 150), sim.records[7].sequence);
  SplitDataset splits(d);
  EXPECT_THAT(splits.summary(), HasSubstr("method split column"));

  std::ifstream in(files.ground_truth);
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["config"]["seed"], 1);
  EXPECT_EQ(j["tasks"][1]["rule"], "SP1 AND CREB");
  ASSERT_EQ(j["sequences"].size(), 200u);
  const auto& s7 = j["sequences"][7];
  EXPECT_EQ(s7["name"], sim.records[7].name);
  for (const auto& site : s7["planted"]) {
    const int64_t start = site["start"], end = site["end"];
    EXPECT_EQ(sim.records[7].sequence.substr(start, end - start), site["site"].get<std::string>());
  }
}

// Recomputes a label from the truth file's own description of the rule and the planted sites.
bool truth_rule_holds(const nlohmann::json& rule, const nlohmann::json& planted) {
  const bool fwd = rule["forward_only"];
  auto counts = [&](const nlohmann::json& s, const std::string& motif) {
    return s["motif"] == motif && (!fwd || s["strand"] == "+");
  };
  const std::string op = rule["op"];
  for (const auto& x : planted) {
    if (op == "single" && counts(x, rule["a"])) return true;
    if (op == "at" && counts(x, rule["a"]) && x["start"] >= rule["start_window"][0] &&
        x["start"] <= rule["start_window"][1])
      return true;
    if (op == "upstream" && counts(x, rule["a"])) {
      for (const auto& y : planted) {
        const int64_t gap = y["start"].get<int64_t>() - x["end"].get<int64_t>();
        if (counts(y, rule["b"]) && gap >= rule["min_gap"] && gap <= rule["max_gap"]) return true;
      }
    }
  }
  return false;
}

TEST(Simulate, PositionalGrammarsPlantWhatTheirTruthFileSays) {
  testing::TempDir dir;
  for (auto task : suite_tasks(3)) {
    if (!task.aligned && task.name != "spacing") continue;
    task.config.num_sequences = 400;
    const auto files = write_simulation(simulate(task.config), dir.file(task.name));
    std::ifstream in(files.ground_truth);
    const auto truth = nlohmann::json::parse(in);
    const auto records = read_fasta(files.fasta);
    const auto labels = read_labels(files.labels);
    const bool multiclass = truth.contains("multiclass");
    int wrong_place = 0, wrong_strand = 0, wrong_order = 0, positives = 0;
    for (size_t i = 0; i < records.size(); ++i) {
      const auto& seq = truth["sequences"][i];
      ASSERT_EQ(seq["name"], records[i].name);
      for (const auto& site : seq["planted"]) {
        const int64_t start = site["start"], end = site["end"];
        EXPECT_EQ(records[i].sequence.substr(start, end - start), site["site"].get<std::string>());
      }
      std::string holds = "background";
      for (const auto& rule : truth["tasks"]) {
        const bool h = truth_rule_holds(rule, seq["planted"]);
        if (!multiclass) {
          const std::string name = rule["name"];
          EXPECT_EQ(seq["labels"][name].get<int>(), h ? 1 : 0) << task.name << " " << i;
          EXPECT_EQ(labels.row(labels.row_of.at(records[i].name))[0], h ? 1.0f : 0.0f);
          positives += h;
        } else if (h) {
          EXPECT_EQ(holds, "background") << "two classes hold in " << task.name << " " << i;
          holds = rule["name"];
        }
        if (h) continue;
        for (const auto& x : seq["planted"]) {  // decoys: the rule's motif, but not counted
          if (x["motif"] != rule["a"]) continue;
          if (rule["op"] == "at") {
            const bool inside =
                x["start"] >= rule["start_window"][0] && x["start"] <= rule["start_window"][1];
            wrong_place += !inside;
            wrong_strand += inside && x["strand"] == "-";
          }
          if (rule["op"] == "upstream")
            for (const auto& y : seq["planted"])
              wrong_order += y["motif"] == rule["b"] && y["end"] <= x["start"];
        }
      }
      if (multiclass) {
        EXPECT_EQ(seq["labels"]["site"], holds) << i;
        const float v = labels.row(labels.row_of.at(records[i].name))[0];
        EXPECT_EQ(labels.classes[static_cast<size_t>(v)], holds);
        positives += holds != "background";
      }
    }
    EXPECT_GT(positives, 100) << task.name;
    EXPECT_LT(positives, 340) << task.name;
    if (task.name == "aligned_position") EXPECT_GT(wrong_place, 50);
    if (task.name == "orientation") {
      EXPECT_GT(wrong_strand, 40);
      EXPECT_GT(wrong_place, 20);
    }
    if (task.name == "spacing") EXPECT_GT(wrong_order, 30);
  }
}

TEST(Simulate, SuiteWritesEveryTaskAndAnIndex) {
  testing::TempDir dir;
  const auto index = write_suite(dir.file("suite"), 1);
  std::ifstream in(dir.file("suite") + "/suite.json");
  EXPECT_EQ(nlohmann::json::parse(in), index);
  std::vector<std::string> names;
  for (const auto& t : index["suite"]) {
    names.push_back(t["name"]);
    for (const char* f : {"fasta", "labels", "ground_truth"})
      EXPECT_TRUE(std::filesystem::exists(dir.file("suite") + "/" + t[f].get<std::string>()));
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"presence", "grammar", "aligned_position", "aligned_short",
                                      "orientation", "spacing", "imbalanced"}));
  const auto& imbalanced = index["suite"][6];
  EXPECT_NEAR(imbalanced["prevalence"]["ctcf_rare"].get<double>(), 1.0 / 51, 0.006);
  const auto& aligned = index["suite"][2];
  EXPECT_EQ(aligned["label_kind"], "multi-class");
  EXPECT_TRUE(aligned["aligned"].get<bool>());
  auto d = std::make_shared<Dataset>(
      Dataset::from_fasta(dir.file("suite") + "/aligned_position/sequences.fa",
                          dir.file("suite") + "/aligned_position/labels.tsv"));
  EXPECT_EQ(d->kind(), LabelKind::kMultiClass);
  EXPECT_EQ(d->classes(),
            (std::vector<std::string>{"ap1_downstream", "background", "gata_upstream"}));
}

TEST(Simulate, PositionalRuleText) {
  using Op = MotifRule::Op;
  EXPECT_EQ(rule_text({"t", Op::kAt, "GATA", "", 0, -1, -20, 2}), "GATA at centre-20 (+-2)");
  EXPECT_EQ(rule_text({"t", Op::kAt, "SP1", "", 0, -1, 3, 1, true}),
            "forward SP1 at centre+3 (+-1)");
  EXPECT_EQ(rule_text({"t", Op::kUpstream, "CTCF", "NFKB", 5, 15}),
            "CTCF upstream of NFKB (gap 5..15)");
  EXPECT_EQ(rule_text({"t", Op::kSingle, "CTCF", "", 0, -1, 0, 0, true}), "forward CTCF");
}

TEST(Simulate, OnlyGivenMotifsWhenBuiltinsAreOff) {
  // One motif from a file (as `strand simulate --motifs-from` gives it), built-ins off: every
  // planted site is that motif (decoys needing another motif are left out), labels follow it.
  Motif m = motif_from_consensus("MA9999.1", "TTGACCA", 0.9);
  m.alt_name = "My Factor";
  SimulationConfig c;
  c.num_sequences = 200;
  c.builtin_motifs = false;
  c.motifs = {m};
  c.tasks = {{motif_task_name(m), MotifRule::Op::kSingle, m.name, "", 0, -1}};
  EXPECT_EQ(c.tasks[0].task, "my_factor");
  const Simulation sim = simulate(c);
  int64_t positives = 0;
  for (size_t i = 0; i < sim.records.size(); ++i) {
    for (const auto& s : sim.planted[i]) EXPECT_EQ(s.motif, "MA9999.1");
    positives += !sim.planted[i].empty();
    EXPECT_EQ(sim.labels.values[i], sim.planted[i].empty() ? 0.0f : 1.0f);
  }
  EXPECT_GT(positives, 60);
  EXPECT_EQ(ground_truth_json(sim)["motifs"].size(), 1u);
  c.motifs.clear();
  EXPECT_THAT([&] { simulate(c); }, ThrowsMessage<Error>(HasSubstr("no motifs")));
  c.motifs = {m};
  c.tasks.push_back(c.tasks[0]);
  EXPECT_THAT([&] { simulate(c); }, ThrowsMessage<Error>(HasSubstr("two tasks are named")));
}

TEST(Simulate, BadConfig) {
  SimulationConfig c;
  c.num_sequences = 10;
  c.tasks = {{"t", MotifRule::Op::kSingle, "NOPE", "", 0, -1}};
  EXPECT_THAT([&] { simulate(c); }, ThrowsMessage<Error>(HasSubstr("unknown motif 'NOPE'")));
  c.tasks = {{"t", MotifRule::Op::kSingle, "CTCF", "", 0, -1}};
  c.length = 10;
  c.positive_fraction = 1.0;
  EXPECT_THAT([&] { simulate(c); }, ThrowsMessage<Error>(HasSubstr("cannot fit the motifs")));
  c.length = 100;
  c.gc = 1.5;
  EXPECT_THAT([&] { simulate(c); }, ThrowsMessage<Error>(HasSubstr("gc 1.5 is not in [0, 1]")));
  c.gc = 0.5;
  c.tasks = {{"t", MotifRule::Op::kOr, "CTCF", "SP1", 0, 5}};
  EXPECT_THAT([&] { simulate(c); }, ThrowsMessage<Error>(HasSubstr("AND rules only")));
  EXPECT_THAT([] { builtin_motif("zzz"); }, ThrowsMessage<Error>(HasSubstr("known: CTCF, GATA")));
  c.tasks = {{"t", MotifRule::Op::kAt, "CTCF", "", 0, -1, 45, 3}};
  EXPECT_THAT([&] { simulate(c); }, ThrowsMessage<Error>(HasSubstr("does not fit in 100 bases")));
  c.tasks = {{"t", MotifRule::Op::kOr, "CTCF", "SP1", 0, -1, 0, 0, true}};
  EXPECT_THAT([&] { simulate(c); },
              ThrowsMessage<Error>(HasSubstr("forward_only applies to single, at and upstream")));
  c.tasks = {{"t", MotifRule::Op::kAt, "CTCF", "", 0, -1, 0, -1}};
  EXPECT_THAT([&] { simulate(c); }, ThrowsMessage<Error>(HasSubstr("jitter -1 is negative")));
  c.tasks = {};
  c.classes = {{"background", MotifRule::Op::kSingle, "CTCF", "", 0, -1}};
  EXPECT_THAT([&] { simulate(c); }, ThrowsMessage<Error>(HasSubstr("also the none class")));
}

}  // namespace
}  // namespace strand::data
