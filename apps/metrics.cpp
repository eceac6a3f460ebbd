// `strand metrics`: the metric panel of per-sequence scores against labels, with bootstrap CIs.
#include <iostream>

#include "apps/commands.h"
#include "core/error.h"
#include "data/labels.h"
#include "rules/io.h"
#include "rules/panel.h"
#include "rules/report.h"

namespace strand::apps {
namespace {

struct MetricsArgs {
  std::string labels, scores, kind = "auto", split, out;
  double threshold = 0.5;
  int bootstrap = 1000, ece_bins = 10;
  uint64_t seed = 1;
  bool json = false;
};

void print_human(const nlohmann::json& j) {
  using rules::format_metric;
  std::vector<std::vector<std::string>> rows;
  if (j["kind"] == "multiclass") {
    rows.push_back({"metric", "value [95% CI]"});
    for (const char* m : {"accuracy", "balanced_accuracy", "mcc", "macro_auroc", "log_loss"})
      rows.push_back({m, format_metric(j, m)});
  } else if (j["kind"] == "regression") {
    rows.push_back({"task", "n", "pearson", "spearman", "mse"});
    for (const auto& [task, t] : j["tasks"].items())
      rows.push_back({task, std::to_string(j["n"].get<int64_t>()), format_metric(t, "pearson"),
                      format_metric(t, "spearman"), format_metric(t, "mse")});
  } else {
    rows.push_back(
        {"task", "n", "prevalence", "auroc", "auprc", "mcc", "f1", "f1_opt", "brier", "ece"});
    for (const auto& [task, t] : j["tasks"].items())
      rows.push_back({task, std::to_string(static_cast<int64_t>(t["n"].get<double>())),
                      format_metric(t, "prevalence", 3), format_metric(t, "auroc"),
                      format_metric(t, "auprc"), format_metric(t, "mcc"), format_metric(t, "f1"),
                      format_metric(t, "f1_opt"), format_metric(t, "brier"),
                      format_metric(t, "ece")});
    if (j["tasks"].size() > 1)
      rows.push_back({"macro", "", format_metric(j["macro"], "prevalence", 3),
                      format_metric(j["macro"], "auroc"), format_metric(j["macro"], "auprc"),
                      format_metric(j["macro"], "mcc"), format_metric(j["macro"], "f1"),
                      format_metric(j["macro"], "f1_opt"), format_metric(j["macro"], "brier"),
                      format_metric(j["macro"], "ece")});
  }
  rules::print_table(std::cout, rows);
  for (const auto& [task, t] : j.contains("tasks") ? j["tasks"].items() : j.items()) {
    if (!t.is_object() || !t.contains("undefined")) continue;
    for (const auto& [m, why] : t["undefined"].items())
      std::cout << "  " << task << ": " << m << " undefined (" << why.get<std::string>() << ")\n";
  }
  if (j.contains("undefined"))
    for (const auto& [m, why] : j["undefined"].items())
      std::cout << "  " << m << " undefined (" << why.get<std::string>() << ")\n";
}

nlohmann::json run_metrics(const std::string& labels_path, const std::string& scores_path,
                           const std::string& kind, const std::string& split,
                           const rules::PanelOptions& options) {
  auto labels = data::read_labels(labels_path, data::parse_label_kind(kind));
  const rules::TaskKind task_kind = rules::task_kind_of(labels.kind);
  std::vector<std::string> names = labels.names;
  std::vector<double> values(labels.values.begin(), labels.values.end());
  if (!split.empty()) {
    STRAND_CHECK(labels.has_split(), "--split {}: '{}' has no split column", split, labels_path);
    const auto want = data::parse_split(split, "--split");
    const size_t T = labels.columns.size();
    std::vector<std::string> kept_names;
    std::vector<double> kept;
    for (size_t i = 0; i < names.size(); ++i)
      if (labels.splits[i] == want) {
        kept_names.push_back(names[i]);
        kept.insert(kept.end(), values.begin() + i * T, values.begin() + (i + 1) * T);
      }
    STRAND_CHECK(!kept_names.empty(), "no rows of split '{}' in '{}'", split, labels_path);
    names = std::move(kept_names);
    values = std::move(kept);
  }
  const auto& columns = task_kind == rules::TaskKind::kMultiClass ? labels.classes : labels.columns;
  const auto scores = rules::read_scores(scores_path, names, columns);
  if (task_kind == rules::TaskKind::kMultiClass) {
    std::vector<int> y(values.begin(), values.end());
    return rules::multiclass_panel(labels.classes, y, scores, options);
  }
  if (task_kind == rules::TaskKind::kRegression)
    return rules::regression_panel(labels.columns, values, scores, options);
  return rules::binary_panel(labels.columns, values, scores, options);
}

}  // namespace

void add_metrics_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "metrics",
      "Metric panel of scores against labels (AUROC, AUPRC, MCC, F1, calibration, ...) with "
      "bootstrap 95% confidence intervals");
  cmd->footer(
      "Examples:\n"
      "  strand metrics --labels test_labels.tsv --scores scores.tsv\n"
      "  strand metrics --labels labels.tsv --scores scores.tsv --split test --json -o "
      "metrics.json\n"
      "Both files are TSVs with a `name` column; scores have the labels' task columns (or one\n"
      "column per class for multi-class labels). A metric that is undefined (one class only,\n"
      "constant scores) is reported as undefined with the reason, never as a number.");
  auto a = std::make_shared<MetricsArgs>();
  cmd->add_option("--labels", a->labels, "Labels TSV (name + task columns)")->required();
  cmd->add_option("--scores", a->scores, "Scores TSV (name + the same task columns)")->required();
  add_task_option(cmd, a->kind);
  cmd->add_option("--split", a->split, "Only rows of this split (labels need a split column)");
  cmd->add_option("--threshold", a->threshold, "Predict positive when score >= threshold");
  cmd->add_option("--bootstrap", a->bootstrap, "Bootstrap resamples of names (0: no CIs)");
  cmd->add_option("--seed", a->seed, "Bootstrap seed");
  cmd->add_option("--ece-bins", a->ece_bins, "Equal-width bins of the calibration curve");
  cmd->add_option("-o,--out", a->out, "Also write the JSON to this file");
  cmd->add_flag("--json", a->json, "Print JSON instead of a table");
  cmd->callback([a] {
    rules::PanelOptions o;
    o.threshold = a->threshold;
    o.ece_bins = a->ece_bins;
    o.bootstrap.replicates = a->bootstrap;
    o.bootstrap.seed = a->seed;
    const auto j = run_metrics(a->labels, a->scores, a->kind, a->split, o);
    if (!a->out.empty()) rules::write_json(a->out, j);
    if (a->json)
      std::cout << j.dump(2) << "\n";
    else
      print_human(j);
  });
}

}  // namespace strand::apps
