// `strand compare DIR_A DIR_B`: two runs on the same test sequences, side by side, with DeLong's
// test for AUROC and a paired bootstrap for AUPRC (and every other difference).
#include "rules/compare.h"

#include <filesystem>
#include <iostream>

#include "apps/commands.h"
#include "core/error.h"
#include "data/labels.h"
#include "rules/io.h"
#include "rules/report.h"

namespace strand::apps {
namespace {

struct CompareArgs {
  std::string dir_a, dir_b, labels, kind = "auto";
  int bootstrap = 1000;
  uint64_t seed = 1;
  double alpha = 0.05;
  bool json = false;
};

std::string fixed(const nlohmann::json& v) {
  if (!v.is_number()) return "undefined";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v.get<double>());
  return buf;
}

void run_compare(const CompareArgs& a) {
  for (const auto* d : {&a.dir_a, &a.dir_b})
    STRAND_CHECK(std::filesystem::exists(*d + "/scores.tsv"),
                 "'{}' has no scores.tsv (a run directory holds metrics.json and scores.tsv)", *d);
  const std::string labels_path = a.labels.empty() ? a.dir_a + "/labels.tsv" : a.labels;
  STRAND_CHECK(std::filesystem::exists(labels_path),
               "no labels: '{}' does not exist (give --labels)", labels_path);
  const auto labels = data::read_labels(labels_path, data::parse_label_kind(a.kind));
  const auto kind = rules::task_kind_of(labels.kind);
  const auto& columns = kind == rules::TaskKind::kMultiClass ? labels.classes : labels.columns;
  const auto sa = rules::read_scores(a.dir_a + "/scores.tsv", labels.names, columns);
  const auto sb = rules::read_scores(a.dir_b + "/scores.tsv", labels.names, columns);
  rules::CompareOptions o;
  o.bootstrap.replicates = a.bootstrap;
  o.bootstrap.seed = a.seed;
  o.alpha = a.alpha;
  std::vector<double> y(labels.values.begin(), labels.values.end());
  auto j = rules::compare_runs(kind, columns, y, sa, sb, o);
  j["summary"] = rules::summarize_comparison(j);
  j["a"] = a.dir_a;
  j["b"] = a.dir_b;
  for (const auto& [key, dir] : {std::pair{"metrics_a", a.dir_a}, std::pair{"metrics_b", a.dir_b}})
    if (std::filesystem::exists(dir + "/metrics.json"))
      j[key] = rules::read_json(dir + "/metrics.json");
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "A = " << a.dir_a << "\nB = " << a.dir_b << "\n";
  std::vector<std::vector<std::string>> rows;
  if (kind == rules::TaskKind::kBinary) {
    rows.push_back({"task", "auroc A", "auroc B", "DeLong p", "auprc A", "auprc B", "bootstrap p",
                    "verdict (auroc / auprc)"});
    for (const auto& [task, t] : j["tasks"].items()) {
      const auto& dl = t["auroc"]["delong"];
      const auto& pr = t["auprc"];
      rows.push_back({task, fixed(t["auroc"]["a"]), fixed(t["auroc"]["b"]),
                      dl.contains("p_value") ? fixed(dl["p_value"]) : "undefined", fixed(pr["a"]),
                      fixed(pr["b"]),
                      pr.contains("bootstrap") && pr["bootstrap"].contains("p_value")
                          ? fixed(pr["bootstrap"]["p_value"])
                          : "-",
                      t["auroc"]["verdict"].get<std::string>() + " / " +
                          pr.value("verdict", std::string("-"))});
    }
  } else {
    rows.push_back({"metric", "A", "B", "p", "verdict"});
    // The p-value behind the verdict: McNemar's for multi-class accuracy, else the bootstrap's.
    auto add = [&](const std::string& name, const nlohmann::json& m) {
      const nlohmann::json* p = nullptr;
      if (m.contains("mcnemar"))
        p = &m["mcnemar"]["p_value"];
      else if (m.contains("bootstrap") && m["bootstrap"].contains("p_value"))
        p = &m["bootstrap"]["p_value"];
      rows.push_back({name, fixed(m["a"]), fixed(m["b"]), p ? fixed(*p) : "-",
                      m.value("verdict", std::string("-"))});
    };
    if (kind == rules::TaskKind::kMultiClass) {
      for (const char* m : {"macro_auroc", "accuracy", "log_loss"}) add(m, j[m]);
    } else {
      for (const auto& [task, t] : j["tasks"].items())
        for (const char* m : {"pearson", "spearman", "mse"}) add(task + " " + m, t[m]);
    }
  }
  rules::print_table(std::cout, rows);
  std::cout << j["summary"]["sentence"].get<std::string>() << "\n";
  std::cout << "(two-sided tests at alpha " << a.alpha << "; \"A better\": A's value is the "
            << "better one, the higher, or the lower for log loss and MSE)\n";
}

}  // namespace

void add_compare_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("compare",
                         "Compare two runs on the same test set: DeLong's test for AUROC, paired "
                         "bootstrap for AUPRC");
  cmd->footer(
      "Examples:\n"
      "  strand compare runs/cnn baselines/kmer_logistic\n"
      "  strand compare runs/a runs/b --labels test_labels.tsv --json\n"
      "Each DIR holds scores.tsv (name + one column per task or class) and usually metrics.json\n"
      "and labels.tsv (as `strand baseline` writes). Verdict per task: \"A better\", \"B better\"\n"
      "or \"no significant difference\" at --alpha; \"undefined\" when a class is missing.");
  auto a = std::make_shared<CompareArgs>();
  cmd->add_option("DIR_A", a->dir_a, "First run directory")->required();
  cmd->add_option("DIR_B", a->dir_b, "Second run directory")->required();
  cmd->add_option("--labels", a->labels, "Labels TSV (default: DIR_A/labels.tsv)");
  add_task_option(cmd, a->kind);
  cmd->add_option("--bootstrap", a->bootstrap, "Paired bootstrap resamples");
  cmd->add_option("--seed", a->seed, "Bootstrap seed");
  cmd->add_option("--alpha", a->alpha, "Significance level");
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->callback([a] { run_compare(*a); });
}

}  // namespace strand::apps
