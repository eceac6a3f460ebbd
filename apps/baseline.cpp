// `strand baseline`: traditional baselines (rule 2) on the same splits as the deep model; each
// writes a run directory (metrics.json, scores.tsv, labels.tsv) that `strand compare` reads.
#include <filesystem>
#include <iostream>

#include "apps/commands.h"
#include "core/error.h"
#include "data/data_source.h"
#include "rules/baselines.h"
#include "rules/headline.h"
#include "rules/io.h"
#include "rules/report.h"
#include "train/cross_validation.h"
#include "train/pipeline.h"

namespace strand::apps {
namespace {

struct BaselineArgs {
  data::DataSource source;
  std::string out;
  std::vector<std::string> which;
  int kmax = 6, rounds = 200, depth = 6, neighbours = 15, bootstrap = 1000;
  uint64_t seed = 1;
  bool json = false;
  bool sensitive = false;
  train::CrossValidationOptions cv =
      train::no_cv();  // folds > 0: the baselines over K folds of train + valid
};

// --cv K: every baseline on each fold of the loaded rows' train + valid (DIR/cv.json), mean +/- sd
// of the held-out scores and the pooled out-of-fold panel with bootstrap intervals.
void run_baseline_cv(const BaselineArgs& a, const rules::LabelledSequences& all,
                     const rules::BaselineConfig& c) {
  train::CrossValidationOptions options = a.cv;
  options.out_dir = a.out;  // each baseline's pooled predictions in DIR/<baseline>/
  const nlohmann::json cv = train::cross_validate_baselines(all, c, options, [&](int k) {
    if (!a.json) std::cerr << "fold " << k << " of " << a.cv.folds << " done\n";
  });
  std::filesystem::create_directories(a.out);
  rules::write_json(a.out + "/cv.json", cv);
  if (a.json) {
    std::cout << cv.dump(2) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"baseline", "valid (mean +/- sd)"}};
  for (const auto& [name, b] : cv["baselines"].items()) {
    std::vector<std::string> row = {name, train::mean_sd_text(b["valid_metric"])};
    for (const auto& [metric, m] : b.items()) {
      if (metric == "valid_metric") continue;
      if (rows.size() == 1) rows[0].push_back(metric + " (held out)");
      row.push_back(train::mean_sd_text(m));
    }
    if (rows.size() == 1) rows[0].push_back("pooled out-of-fold [95% CI]");
    row.push_back(train::pooled_text(cv["pooled"][name]));
    rows.push_back(row);
  }
  rules::print_table(std::cout, rows);
  std::cout << cv["sentence"].get<std::string>() << "\nwrote " << a.out << "/cv.json and each "
            << "baseline's pooled out-of-fold predictions (" << a.out
            << "/<baseline>/scores.tsv, labels.tsv)\n";
}

void run_baseline(const BaselineArgs& a) {
  const auto all = rules::load_source(a.source, false);
  STRAND_CHECK(!all.split.empty(),
               "no splits: baselines need the deep model's train/valid/test splits (a split "
               "column or --split-method)");
  const rules::BaselineProblem p = rules::baseline_problem(all);
  rules::BaselineConfig c;
  c.which = a.which;
  c.kmax = a.kmax;
  c.trees.rounds = a.rounds;
  c.trees.max_depth = a.depth;
  c.trees.seed = a.seed;
  c.knn.k = a.neighbours;
  c.panel.bootstrap.replicates = a.bootstrap;
  c.panel.bootstrap.seed = a.seed;
  c.sensitive = a.sensitive;
  if (a.cv.folds > 0) return run_baseline_cv(a, all, c);
  const bool human = !a.json;
  const auto results = rules::run_baselines(p, c, [&](const std::string& name) {
    if (human) std::cerr << "fitting " << name << "...\n";
  });
  std::filesystem::create_directories(a.out);
  nlohmann::json summary = {{"out", a.out}, {"baselines", nlohmann::json::object()}};
  for (const auto& r : results) {
    const std::string dir = a.out + "/" + r.name;
    std::filesystem::create_directories(dir);
    rules::write_json(dir + "/metrics.json", r.metrics);
    rules::write_scores(dir + "/scores.tsv", p.test.names, r.score_columns, r.test_scores);
    rules::write_labels(dir + "/labels.tsv", p.test.names, p.kind, p.tasks, p.classes,
                        p.test.labels);
    summary["baselines"][r.name] = r.metrics;
  }
  const rules::BaselineResult* strongest = rules::strongest_on_valid(results);
  if (strongest != nullptr) summary["strongest_on_valid"] = strongest->name;
  rules::write_json(a.out + "/summary.json", summary);
  if (a.json) {
    std::cout << summary.dump(2) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  if (p.kind == rules::TaskKind::kMultiClass) {
    rows.push_back({"baseline", "valid macro_auroc", "accuracy", "macro_auroc", "mcc"});
    for (const auto& r : results)
      rows.push_back({r.name, rules::format_metric(r.metrics, "valid_metric"),
                      rules::format_metric(r.metrics, "accuracy"),
                      rules::format_metric(r.metrics, "macro_auroc"),
                      rules::format_metric(r.metrics, "mcc")});
  } else if (p.kind == rules::TaskKind::kRegression) {
    rows.push_back({"baseline", "macro pearson", "macro spearman", "macro mse"});
    for (const auto& r : results)
      rows.push_back({r.name, rules::format_metric(r.metrics["macro"], "pearson"),
                      rules::format_metric(r.metrics["macro"], "spearman"),
                      rules::format_metric(r.metrics["macro"], "mse")});
  } else {
    rows.push_back({"baseline", "valid auroc", "macro auroc", "macro auprc", "prevalence"});
    for (const auto& r : results)
      rows.push_back({r.name, rules::format_metric(r.metrics, "valid_metric"),
                      rules::format_metric(r.metrics["macro"], "auroc"),
                      rules::format_metric(r.metrics["macro"], "auprc"),
                      rules::format_metric(r.metrics["macro"], "prevalence", 3)});
  }
  std::cout << "test split: " << p.test.names.size() << " sequences (trained on "
            << p.train.names.size() << ", tuned on " << p.valid.names.size() << ")\n";
  rules::print_table(std::cout, rows);
  if (strongest != nullptr)
    std::cout << "strongest on valid: " << strongest->name << " (the one to beat); its headline "
              << "on test: "
              << rules::headline_of(strongest->metrics)["sentence"].get<std::string>() << "\n";
  std::cout << "run directories (metrics.json, scores.tsv, labels.tsv) in " << a.out << "/\n";
}

}  // namespace

void add_baseline_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "baseline",
      "Traditional baselines on the deep model's splits: k-mer logistic regression, "
      "gradient-boosted trees, k-nearest neighbours, GC-only and prevalence; for fixed-length "
      "input also position-specific ones (flattened one-hot, positional dinucleotides)");
  cmd->footer(
      "Examples:\n"
      "  strand baseline --fasta seqs.fa --labels labels.tsv --out baselines/\n"
      "  strand baseline --fasta seqs.fa --labels labels.tsv --out b/ --baselines "
      "kmer_logistic,gc_only\n"
      "  strand compare runs/cnn baselines/kmer_logistic\n"
      "Inputs and splits take the trainer's flags (split column, chromosome hold-out or a\n"
      "seeded random split): models train on train, choose C on valid and are scored on test. A "
      "deep model that cannot beat these is not learning more\n"
      "than k-mer composition (or GC content, or the class balance).\n"
      "Fixed-length (aligned) input adds onehot_logistic, onehot_trees, dinuc_logistic and\n"
      "dinuc_trees: flattened one-hot and positional dinucleotides, C chosen by 3-fold\n"
      "cross-validation on train. Each baseline's validation AUROC is in its metrics.json\n"
      "(valid_metric); the strongest on valid is marked in the table and summary.json.");
  auto a = std::make_shared<BaselineArgs>();
  add_data_options(cmd, a->source);
  cmd->add_option("--out", a->out, "Output directory (one run directory per baseline)")->required();
  cmd->add_option(
         "--baselines", a->which,
         "Which: kmer_logistic, kmer_trees, kmer_knn, gc_only, prevalence, onehot_logistic, "
         "onehot_trees, dinuc_logistic, dinuc_trees (default: all that apply)")
      ->delimiter(',');
  cmd->add_option("--kmax", a->kmax, "Longest k-mer of the spectrum (k = 1..kmax)");
  cmd->add_option("--rounds", a->rounds, "Boosting rounds of the trees");
  cmd->add_option("--depth", a->depth, "Maximum tree depth");
  cmd->add_option("--neighbours", a->neighbours, "k of k-nearest neighbours");
  cmd->add_option("--bootstrap", a->bootstrap, "Bootstrap resamples for the CIs (0: none)");
  cmd->add_option("--seed", a->seed, "Seed (trees, bootstrap)");
  cmd->add_flag("--json", a->json, "Print the summary as JSON");
  cmd->add_option("--cv", a->cv.folds,
                  "K-fold cross-validation of every baseline on train + valid (stratified, "
                  "grouped; test untouched): DIR/cv.json with fold mean +/- sd");
  cmd->add_option("--cv-group", a->cv.group_by,
                  "--cv: auto (chromosome for --bed, else duplicates), duplicates, chromosome or "
                  "none")
      ->capture_default_str();
  cmd->add_flag("--sensitive", a->sensitive,
                "Mark the data sensitive (Rule 10): kNN, which stores the training rows, records "
                "it in its metrics");
  cmd->callback([a] { run_baseline(*a); });
}

}  // namespace strand::apps
