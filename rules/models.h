// The traditional models behind `strand baseline`: L2 logistic regression (liblinear for binary;
// multinomial, i.e. softmax, by L-BFGS for multi-class; ridge-like L2-loss SVR for regression),
// gradient-boosted trees (XGBoost's C API), k-nearest neighbours (cosine similarity on k-mer
// profiles, via BLAS) and the prevalence (training mean) predictor. Each fits on training features
// and returns test predictions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "rules/features.h"

namespace strand::rules {

// What the model predicts. classes == 0: regression (y real); classes >= 2: y holds class
// indices in [0, classes). Predictions are test.rows x outputs, outputs = 1 for binary
// (P(class 1)) and regression, `classes` for multi-class (probabilities).
struct Target {
  std::span<const double> y;
  int classes = 2;
  int outputs() const { return classes > 2 ? classes : 1; }
};

struct LinearOptions {
  double C = 1.0;  // inverse regularisation strength
  double eps = 0.01;
};
struct TreeOptions {
  int rounds = 200;
  int max_depth = 6;
  double eta = 0.1;
  double subsample = 0.8;
  uint64_t seed = 1;
};
struct KnnOptions {
  int k = 15;
};

std::vector<double> fit_predict_linear(const FeatureMatrix& train, const Target& target,
                                       const FeatureMatrix& test, const LinearOptions& options);
std::vector<double> fit_predict_trees(const FeatureMatrix& train, const Target& target,
                                      const FeatureMatrix& test, const TreeOptions& options);
std::vector<double> fit_predict_knn(const FeatureMatrix& train, const Target& target,
                                    const FeatureMatrix& test, const KnnOptions& options);
// The training prevalence (class frequencies; the mean for regression) for every test row.
std::vector<double> predict_prevalence(const Target& target, int64_t test_rows);

}  // namespace strand::rules
