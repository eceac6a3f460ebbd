// The Rule 5 benchmark (issue 11): writes the built-in aligned/unaligned suite, trains the default
// model (strand train's defaults, no --model) on every task and runs every applicable baseline on
// the same splits; prints and writes a table of validation and test AUROC (macro AUROC for
// multi-class, the mean over tasks for multi-label) with the wall time of each run on CPU.
//   bench_suite [--out DIR] [--seed N] [--tasks presence,grammar,...] [--no-model]
//               [--no-baselines]
// Writes DIR/results.md (the table) and DIR/results.json. Not a Google Benchmark program: one run
// per cell is the measurement (training is minutes, not microseconds).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>

#include "data/dataset.h"
#include "data/simulate.h"
#include "data/simulation_suite.h"
#include "data/split_dataset.h"
#include "rules/baselines.h"
#include "rules/io.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace {

using namespace strand;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Mean AUROC over tasks (binary, multi-label) or macro AUROC (multi-class) of a panel.
double auroc_of(const nlohmann::json& panel) {
  if (panel.contains("macro_auroc") && panel["macro_auroc"].is_number())
    return panel["macro_auroc"].get<double>();
  if (panel.contains("macro") && panel["macro"].contains("auroc") &&
      panel["macro"]["auroc"].is_number())
    return panel["macro"]["auroc"].get<double>();
  return std::nan("");
}

std::string cell(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string seconds(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

struct Row {
  std::string task, method;
  double valid = NAN, test = NAN, seconds = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string out = "bench-suite";
  uint64_t seed = 1;
  std::set<std::string> only;
  bool model = true, baselines = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::stoull(argv[++i]);
    } else if (a == "--tasks" && i + 1 < argc) {
      std::stringstream ss(argv[++i]);
      for (std::string t; std::getline(ss, t, ',');) only.insert(t);
    } else if (a == "--no-model") {
      model = false;
    } else if (a == "--no-baselines") {
      baselines = false;
    } else {
      std::fprintf(stderr,
                   "usage: bench_suite [--out DIR] [--seed N] [--tasks a,b] [--no-model] "
                   "[--no-baselines]\n");
      return 2;
    }
  }
  try {
    const auto index = data::write_suite(out + "/data", seed);
    std::vector<Row> rows;
    nlohmann::json results = nlohmann::json::array();
    for (const auto& task : index["suite"]) {
      const std::string name = task["name"];
      if (!only.empty() && !only.count(name)) continue;
      const std::string fasta = out + "/data/" + task["fasta"].get<std::string>();
      const std::string labels = out + "/data/" + task["labels"].get<std::string>();
      if (model) {
        // The default model with strand train's defaults (what `strand train --fasta --labels`
        // does without --model); test unsealed once for the chosen checkpoint.
        const auto start = Clock::now();
        auto dataset = std::make_shared<data::Dataset>(data::Dataset::from_fasta(fasta, labels));
        auto splits = std::make_shared<data::SplitDataset>(dataset);
        train::TrainConfig config;
        config.progress = false;
        const std::string run_dir = out + "/runs/" + name;
        std::filesystem::remove_all(run_dir);
        train::Trainer trainer(splits, config, run_dir);
        const auto r = trainer.fit();
        const auto best = train::load_model(trainer.model_path());
        const auto valid =
            train::panel_of(best.info,
                            train::predict_rows(*best.model, best.info.kind, dataset,
                                                splits->valid(), 256, runtime::Device::cpu()),
                            0);
        const auto& test_rows = splits->unseal_test("bench_suite: final test of the chosen epoch");
        const auto test =
            train::panel_of(best.info,
                            train::predict_rows(*best.model, best.info.kind, dataset, test_rows,
                                                256, runtime::Device::cpu()),
                            0);
        Row row{name, "cnn (default)", auroc_of(valid), auroc_of(test), seconds_since(start)};
        rows.push_back(row);
        results.push_back({{"task", name},
                           {"method", row.method},
                           {"valid_auroc", row.valid},
                           {"test_auroc", row.test},
                           {"seconds", row.seconds},
                           {"epochs", r.epochs},
                           {"best_epoch", r.best_epoch}});
        std::fprintf(stderr, "%-17s %-16s valid %s test %s %.1f s\n", name.c_str(),
                     row.method.c_str(), cell(row.valid).c_str(), cell(row.test).c_str(),
                     row.seconds);
      }
      if (!baselines) continue;
      data::DataSource source;
      source.fasta = fasta;
      source.labels = labels;
      const auto all = rules::load_source(source, false);
      const rules::BaselineProblem p = rules::baseline_problem(all);
      rules::BaselineConfig config;
      config.panel.bootstrap.replicates = 0;
      for (const std::string& b :
           rules::applicable_baselines(config, task["length"].get<int64_t>())) {
        config.which = {b};
        const auto start = Clock::now();
        const auto r = rules::run_baselines(p, config);
        Row row{name, b, r[0].valid_metric, auroc_of(r[0].metrics), seconds_since(start)};
        rows.push_back(row);
        results.push_back({{"task", name},
                           {"method", b},
                           {"valid_auroc", row.valid},
                           {"test_auroc", row.test},
                           {"seconds", row.seconds}});
        std::fprintf(stderr, "%-17s %-16s valid %s test %s %.1f s\n", name.c_str(), b.c_str(),
                     cell(row.valid).c_str(), cell(row.test).c_str(), row.seconds);
      }
    }
    // One table: a row per task and method.
    std::ostringstream md;
    md << "| task | aligned | method | valid AUROC | test AUROC | time (s) |\n"
       << "|---|---|---|---|---|---|\n";
    for (const Row& r : rows) {
      bool aligned = false;
      for (const auto& t : index["suite"])
        if (t["name"] == r.task) aligned = t["aligned"];
      md << "| " << r.task << " | " << (aligned ? "yes" : "no") << " | " << r.method << " | "
         << cell(r.valid) << " | " << cell(r.test) << " | " << seconds(r.seconds) << " |\n";
    }
    std::cout << md.str();
    std::ofstream(out + "/results.md") << md.str();
    std::ofstream(out + "/results.json")
        << nlohmann::json{{"suite", index}, {"results", results}}.dump(1) << "\n";
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_suite: %s\n", e.what());
    return 1;
  }
  return 0;
}
