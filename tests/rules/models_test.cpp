// Multi-class logistic regression is multinomial (softmax): it matches an independent float64
// gradient-descent fit of the same objective, its training probabilities sum to the class
// counts (unpenalised biases), and it does not depend on the thread count.
#include "rules/models.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>

namespace strand::rules {
namespace {

// A sparse rows x cols matrix with about half its entries non-zero, values in (0, 1].
FeatureMatrix random_features(std::mt19937_64& rng, int64_t rows, int64_t cols) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  FeatureMatrix m;
  m.rows = rows, m.cols = cols;
  for (int64_t r = 0; r < rows; ++r) {
    for (int32_t c = 0; c < cols; ++c)
      if (u(rng) < 0.5f) m.col.push_back(c), m.val.push_back(1.0f - u(rng));
    m.row_ptr.push_back(static_cast<int64_t>(m.col.size()));
  }
  return m;
}

// Labels drawn from a softmax of a random linear score, so the classes overlap.
std::vector<double> softmax_labels(std::mt19937_64& rng, const FeatureMatrix& x, int classes) {
  std::normal_distribution<double> n(0.0, 2.0);
  std::vector<double> w(classes * x.cols);
  for (double& v : w) v = n(rng);
  std::vector<double> y;
  for (int64_t r = 0; r < x.rows; ++r) {
    std::vector<double> p(classes, 0.0);
    for (int k = 0; k < classes; ++k)
      for (int64_t i = x.row_ptr[r]; i < x.row_ptr[r + 1]; ++i)
        p[k] += w[k * x.cols + x.col[i]] * x.val[i];
    double sum = 0;
    for (double& v : p) sum += v = std::exp(v);
    double u = std::uniform_real_distribution<double>(0, sum)(rng);
    int k = 0;
    while (k + 1 < classes && (u -= p[k]) > 0) ++k;
    y.push_back(k);
  }
  return y;
}

// The reference: plain gradient descent on 0.5 ||W||^2 + C sum_i -log softmax(W x_i + b)_{y_i}
// on a dense copy, run far past convergence.
std::vector<double> reference_probabilities(const FeatureMatrix& x, const std::vector<double>& y,
                                            int classes, double c, const FeatureMatrix& test) {
  const int64_t d = x.cols;
  const auto dense = x.dense();
  std::vector<double> w(classes * d, 0.0), b(classes, 0.0);
  auto probs = [&](const float* row, std::vector<double>& p) {
    double top = -1e300;
    for (int k = 0; k < classes; ++k) {
      p[k] = b[k];
      for (int64_t j = 0; j < d; ++j) p[k] += w[k * d + j] * row[j];
      top = std::max(top, p[k]);
    }
    double sum = 0;
    for (double& v : p) sum += v = std::exp(v - top);
    for (double& v : p) v /= sum;
  };
  const double step = 1.0 / (1.0 + c * static_cast<double>(x.rows) * (d + 1));
  std::vector<double> p(classes), gw(w.size()), gb(classes);
  for (int it = 0; it < 40000; ++it) {
    gw = w;
    std::fill(gb.begin(), gb.end(), 0.0);
    for (int64_t r = 0; r < x.rows; ++r) {
      probs(dense.data() + r * d, p);
      p[static_cast<int>(y[r])] -= 1.0;
      for (int k = 0; k < classes; ++k) {
        gb[k] += c * p[k];
        for (int64_t j = 0; j < d; ++j) gw[k * d + j] += c * p[k] * dense[r * d + j];
      }
    }
    for (size_t i = 0; i < w.size(); ++i) w[i] -= step * gw[i];
    for (int k = 0; k < classes; ++k) b[k] -= step * gb[k];
  }
  std::vector<double> out;
  const auto t = test.dense();
  for (int64_t r = 0; r < test.rows; ++r) {
    probs(t.data() + r * d, p);
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

TEST(Models, MultiClassLogisticIsMultinomial) {
  std::mt19937_64 rng(7);
  const int classes = 3;
  const FeatureMatrix train = random_features(rng, 60, 4), test = random_features(rng, 20, 4);
  const std::vector<double> y = softmax_labels(rng, train, classes);
  LinearOptions o;
  o.C = 0.5;
  o.eps = 1e-4;
  const Target target{y, classes};
  const auto got = fit_predict_linear(train, target, test, o);
  const auto want = reference_probabilities(train, y, classes, o.C, test);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;

  // Unpenalised biases: over the training rows, each class's probabilities sum to its count
  // (one-vs-rest scores normalised afterwards do not).
  const auto fitted = fit_predict_linear(train, target, train, o);
  for (int k = 0; k < classes; ++k) {
    double p = 0, n = 0;
    for (int64_t r = 0; r < train.rows; ++r) p += fitted[r * classes + k], n += y[r] == k;
    EXPECT_NEAR(p, n, 1e-3) << "class " << k;
  }
  for (int64_t r = 0; r < train.rows; ++r)
    EXPECT_NEAR(fitted[r * classes] + fitted[r * classes + 1] + fitted[r * classes + 2], 1.0,
                1e-12);
}

TEST(Models, MultinomialLogisticDoesNotDependOnThreads) {
  std::mt19937_64 rng(3);
  const FeatureMatrix train = random_features(rng, 500, 40), test = random_features(rng, 50, 40);
  const std::vector<double> y = softmax_labels(rng, train, 4);
  const Target target{y, 4};
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = fit_predict_linear(train, target, test, LinearOptions{});
  omp_set_num_threads(3);
  const auto three = fit_predict_linear(train, target, test, LinearOptions{});
  omp_set_num_threads(threads);
  EXPECT_EQ(one, three);
}

}  // namespace
}  // namespace strand::rules
