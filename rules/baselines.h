// Rule 2, traditional baselines: runs the k-mer logistic regression, gradient-boosted trees and
// k-nearest neighbours, a GC-only model and the prevalence predictor on the same splits as the
// deep model, and scores each on the test split with the shared metric panel (metrics.json).
#pragma once

#include <functional>
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
// fitted on them. New representations (issue 11: flattened one-hot, positional dinucleotides)
// are new specs with their own FeatureExtractor; the driver needs no change.
struct BaselineSpec {
  std::string name;
  std::function<std::unique_ptr<FeatureExtractor>(const BaselineConfig&)> features;  // or null
  ModelKind model = ModelKind::kLinear;
  std::vector<double> c_grid;  // linear: C values tried on valid (empty: config.c_grid)
};

// kmer_logistic, kmer_trees, kmer_knn, gc_only, prevalence.
std::vector<BaselineSpec> default_baselines();

struct BaselineConfig {
  std::vector<std::string> which;  // empty = every spec
  std::vector<BaselineSpec> specs = default_baselines();
  int kmin = 1, kmax = 6;  // k-mer spectrum of the linear and tree models
  int knn_kmax = 4;        // k-mer profile (1..knn_kmax) of the neighbours model
  std::vector<double> c_grid = {0.01, 0.1, 1.0, 10.0};  // chosen on valid when it has rows
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
  nlohmann::json metrics;                  // the panel plus "baseline", "features", "chosen"
};

// Fits every requested baseline on train (choosing C on valid), predicts test and scores it.
// progress, when set, hears the name of each baseline as it starts.
std::vector<BaselineResult> run_baselines(
    const BaselineProblem& problem, const BaselineConfig& config,
    const std::function<void(const std::string&)>& progress = {});

// Rows `keep` of m, in that order; and m over n stacked (same columns).
FeatureMatrix select_rows(const FeatureMatrix& m, std::span<const int64_t> keep);
FeatureMatrix stack_rows(const FeatureMatrix& top, const FeatureMatrix& bottom);

}  // namespace strand::rules
