// Rule 2, traditional baselines: runs the k-mer logistic regression, gradient-boosted trees and
// k-nearest neighbours, a GC-only model and the prevalence predictor on the same splits as the
// deep model, and scores each on the test split with the shared metric panel (metrics.json).
#pragma once

#include <functional>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rules/models.h"
#include "rules/panel.h"

namespace strand::rules {

enum class TaskKind { kBinary, kMultiClass, kRegression };  // binary covers multi-label

// One split: labels are rows x tasks (multi-class: rows x 1 class index); NaN = missing.
struct SplitData {
  std::vector<std::string> names, seqs;
  std::vector<double> labels;
};

struct BaselineProblem {
  TaskKind kind = TaskKind::kBinary;
  std::vector<std::string> tasks;    // label columns (multi-class: the one class column)
  std::vector<std::string> classes;  // multi-class only
  SplitData train, valid, test;      // valid may be empty (then no hyper-parameter choice)
};

enum class ModelKind { kLinear, kTrees, kNeighbours, kPrevalence };

struct BaselineConfig;

// How one baseline is made: the features it reads (none for the prevalence model) and the model
// fitted on them. New representations are new specs with their own FeatureExtractor.
struct BaselineSpec {
  std::string name;
  std::function<std::unique_ptr<FeatureExtractor>(const BaselineConfig&)> features;  // or null
  ModelKind model = ModelKind::kLinear;
  std::vector<double> c_grid;  // linear: C values tried (empty: config.c_grid)
  // Position-specific features: needs every sequence to have one length (config.sequence_length
  // holds it when the factory runs). Run by default only when lengths agree.
  bool fixed_length = false;
  // Linear: > 1 chooses C by this many-fold cross-validation on the training split only (valid
  // then stays an honest estimate); 0 chooses C on valid.
  int cv_folds = 0;
};

// kmer_logistic, kmer_trees, kmer_knn, gc_only, prevalence, and for fixed-length input
// (Rule 5, aligned tasks) onehot_logistic, onehot_trees, dinuc_logistic, dinuc_trees: flattened
// one-hot and positional dinucleotides, L2 logistic regression with C by 3-fold cross-validation
// on train, and gradient-boosted trees on the same features.
std::vector<BaselineSpec> default_baselines();

struct BaselineConfig {
  std::vector<std::string> which;  // empty = every spec
  std::vector<BaselineSpec> specs = default_baselines();
  int kmin = 1, kmax = 6;  // k-mer spectrum of the linear and tree models
  int knn_kmax = 4;        // k-mer profile (1..knn_kmax) of the neighbours model
  std::vector<double> c_grid = {0.01, 0.1, 1.0, 10.0};  // chosen on valid when it has rows
  int64_t sequence_length = 0;  // set by run_baselines: the common length (0 when they differ)
  uint64_t cv_seed = 1;         // fold assignment of cross-validation
  LinearOptions linear;
  TreeOptions trees;
  KnnOptions knn;
  PanelOptions panel;
  // Rule 10: the training rows are sensitive. Baselines that store them (kNN keeps every training
  // profile) record it in their metrics' "privacy" entry; they have no DP.
  bool sensitive = false;
};

struct BaselineResult {
  std::string name;
  std::vector<std::string> score_columns;  // tasks, or classes for multi-class
  std::vector<double> test_scores;         // test rows x score_columns
  std::vector<double> valid_scores;        // valid rows x score_columns (empty without valid)
  // Mean over tasks of the validation AUROC (macro AUROC for multi-class, -MSE for regression);
  // NaN without valid rows. What the strongest baseline is chosen by (never test).
  double valid_metric = std::numeric_limits<double>::quiet_NaN();
  nlohmann::json metrics;  // the panel plus "baseline", "features", "chosen", "valid_metric"
};

// The result with the highest valid_metric (ties: the first); null when none has one.
const BaselineResult* strongest_on_valid(const std::vector<BaselineResult>& results);

// Names of the default specs that run_baselines would run for input of this common length
// (0: lengths differ, so the fixed-length specs are left out).
std::vector<std::string> applicable_baselines(const BaselineConfig& config, int64_t length);

// Fits every requested baseline on train (choosing C on valid), predicts test and scores it.
// progress, when set, hears the name of each baseline as it starts.
std::vector<BaselineResult> run_baselines(
    const BaselineProblem& problem, const BaselineConfig& config,
    const std::function<void(const std::string&)>& progress = {});

// The metric panel of scores (problem.test rows x score columns) against problem.test's labels.
nlohmann::json score_panel(const BaselineProblem& problem, const std::vector<double>& scores,
                           const PanelOptions& options);

// Rows `keep` of m, in that order; and m over n stacked (same columns).
FeatureMatrix select_rows(const FeatureMatrix& m, std::span<const int64_t> keep);
FeatureMatrix stack_rows(const FeatureMatrix& top, const FeatureMatrix& bottom);

}  // namespace strand::rules
