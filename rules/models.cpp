// Traditional models over feature matrices; see models.h.
#include "rules/models.h"

#include <dnnl.h>
#include <linear.h>
#include <omp.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "core/error.h"

namespace strand::rules {
namespace {

void check_target(const FeatureMatrix& train, const Target& t, const FeatureMatrix& test,
                  const char* what) {
  STRAND_CHECK(static_cast<int64_t>(t.y.size()) == train.rows, "{}: {} labels for {} rows", what,
               t.y.size(), train.rows);
  STRAND_CHECK(train.cols == test.cols, "{}: train has {} features, test {}", what, train.cols,
               test.cols);
  STRAND_CHECK(train.rows > 0, "{}: no training rows", what);
  STRAND_CHECK(t.classes == 0 || t.classes >= 2, "{}: classes must be 0 or >= 2, got {}", what,
               t.classes);
  if (t.classes == 0) return;
  std::vector<int64_t> count(t.classes, 0);
  for (double v : t.y) {
    STRAND_CHECK(v >= 0 && v < t.classes && v == std::floor(v),
                 "{}: label {} is not a class in "
                 "[0, {})",
                 what, v, t.classes);
    ++count[static_cast<int>(v)];
  }
  const auto present = std::count_if(count.begin(), count.end(), [](int64_t c) { return c > 0; });
  STRAND_CHECK(present >= 2, "{}: only one class in the training split", what);
}

void quiet(const char*) {}

// liblinear rows: entries (1-based columns), a bias feature, and the -1 terminator.
struct LinearRows {
  std::vector<feature_node> nodes;
  std::vector<feature_node*> rows;
};

LinearRows to_liblinear(const FeatureMatrix& m) {
  LinearRows out;
  out.nodes.reserve(m.val.size() + 2 * m.rows);
  std::vector<int64_t> start(m.rows);
  for (int64_t r = 0; r < m.rows; ++r) {
    start[r] = static_cast<int64_t>(out.nodes.size());
    for (int64_t i = m.row_ptr[r]; i < m.row_ptr[r + 1]; ++i)
      out.nodes.push_back({m.col[i] + 1, static_cast<double>(m.val[i])});
    out.nodes.push_back({static_cast<int>(m.cols) + 1, 1.0});  // bias
    out.nodes.push_back({-1, 0.0});
  }
  out.rows.resize(m.rows);
  for (int64_t r = 0; r < m.rows; ++r) out.rows[r] = out.nodes.data() + start[r];
  return out;
}

void xgb_check(int rc, const char* call) {
  STRAND_CHECK(rc == 0, "XGBoost {} failed: {}", call, XGBGetLastError());
}

struct DMatrix {
  DMatrixHandle h = nullptr;
  ~DMatrix() {
    if (h) XGDMatrixFree(h);
  }
};
struct Booster {
  BoosterHandle h = nullptr;
  ~Booster() {
    if (h) XGBoosterFree(h);
  }
};

void to_dmatrix(const FeatureMatrix& m, DMatrix& out) {
  std::vector<size_t> indptr(m.row_ptr.begin(), m.row_ptr.end());
  std::vector<unsigned> indices(m.col.begin(), m.col.end());
  xgb_check(XGDMatrixCreateFromCSREx(indptr.data(), indices.data(), m.val.data(), indptr.size(),
                                     m.val.size(), static_cast<size_t>(m.cols), &out.h),
            "XGDMatrixCreateFromCSREx");
}

// L2-normalised dense rows (all-zero rows stay zero).
std::vector<float> unit_rows(const FeatureMatrix& m) {
  auto d = m.dense();
  for (int64_t r = 0; r < m.rows; ++r) {
    float* row = d.data() + r * m.cols;
    double s = 0;
    for (int64_t c = 0; c < m.cols; ++c) s += double(row[c]) * row[c];
    if (s > 0) {
      const float inv = static_cast<float>(1.0 / std::sqrt(s));
      for (int64_t c = 0; c < m.cols; ++c) row[c] *= inv;
    }
  }
  return d;
}

// Multinomial (softmax) logistic regression by L-BFGS. The objective is liblinear's with the
// softmax loss, 0.5 ||W||^2 + C sum_i -log p(y_i | x_i), so one C grid serves binary and
// multi-class; the class biases are not penalised, which makes the fitted probabilities sum to
// the class counts over the training rows. Rows are independent and the weight gradient is
// summed per feature column in row order, so the result does not depend on the thread count.
class SoftmaxObjective {
 public:
  SoftmaxObjective(const FeatureMatrix& x, const Target& t, double c)
      : x_(x), y_(t.y), k_(t.classes), d_(x.cols), c_(c), residual_(x.rows * t.classes) {
    // The columns' entries (row, value) in row order: the weight gradient is one column each.
    col_ptr_.assign(d_ + 1, 0);
    for (int32_t j : x.col) ++col_ptr_[j + 1];
    for (int64_t j = 0; j < d_; ++j) col_ptr_[j + 1] += col_ptr_[j];
    entries_.resize(x.col.size());
    std::vector<int64_t> next(col_ptr_.begin(), col_ptr_.end() - 1);
    for (int64_t r = 0; r < x.rows; ++r)
      for (int64_t i = x.row_ptr[r]; i < x.row_ptr[r + 1]; ++i)
        entries_[next[x.col[i]]++] = {r, x.val[i]};
  }

  int64_t size() const { return k_ * (d_ + 1); }  // W (classes x features), then the biases

  // Class probabilities of the rows of m under theta (rows x classes).
  std::vector<double> probabilities(const std::vector<double>& theta,
                                    const FeatureMatrix& m) const {
    std::vector<double> p(static_cast<size_t>(m.rows) * k_);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < m.rows; ++r) softmax_row(theta, m, r, p.data() + r * k_);
    return p;
  }

  // The objective at theta; its gradient into g.
  double evaluate(const std::vector<double>& theta, std::vector<double>& g) {
    std::vector<double> loss(x_.rows);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < x_.rows; ++r) {
      double* p = residual_.data() + r * k_;
      softmax_row(theta, x_, r, p);
      const auto y = static_cast<int64_t>(y_[r]);
      loss[r] = -std::log(std::max(p[y], 1e-300));
      p[y] -= 1.0;  // d loss / d logits
    }
    g.assign(size(), 0.0);
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < d_; ++j)
      for (int64_t e = col_ptr_[j]; e < col_ptr_[j + 1]; ++e) {
        const auto [r, v] = entries_[e];
        for (int64_t k = 0; k < k_; ++k) g[k * d_ + j] += c_ * v * residual_[r * k_ + k];
      }
    double f = 0;
    for (int64_t r = 0; r < x_.rows; ++r) {
      f += c_ * loss[r];
      for (int64_t k = 0; k < k_; ++k) g[k_ * d_ + k] += c_ * residual_[r * k_ + k];
    }
    for (int64_t i = 0; i < k_ * d_; ++i) f += 0.5 * theta[i] * theta[i], g[i] += theta[i];
    return f;
  }

 private:
  void softmax_row(const std::vector<double>& theta, const FeatureMatrix& m, int64_t r,
                   double* p) const {
    double top = -std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < k_; ++k) {
      double z = theta[k_ * d_ + k];
      for (int64_t i = m.row_ptr[r]; i < m.row_ptr[r + 1]; ++i)
        z += theta[k * d_ + m.col[i]] * m.val[i];
      p[k] = z;
      top = std::max(top, z);
    }
    double sum = 0;
    for (int64_t k = 0; k < k_; ++k) sum += p[k] = std::exp(p[k] - top);
    for (int64_t k = 0; k < k_; ++k) p[k] /= sum;
  }

  const FeatureMatrix& x_;
  std::span<const double> y_;
  int64_t k_, d_;
  double c_;
  std::vector<double> residual_;
  std::vector<int64_t> col_ptr_;
  std::vector<std::pair<int64_t, float>> entries_;
};

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// L-BFGS (10 pairs) with a backtracking Armijo line search, from theta = 0; stops when the
// gradient norm falls below tolerance x its initial value, or the objective stops decreasing.
std::vector<double> minimise_softmax(SoftmaxObjective& objective, double tolerance) {
  const int memory = 10, max_iterations = 1000;
  std::vector<double> theta(objective.size(), 0.0), g, next, g_next;
  double f = objective.evaluate(theta, g);
  const double g0 = std::sqrt(dot(g, g));
  std::vector<std::vector<double>> s_hist, y_hist;
  std::vector<double> rho_hist;
  for (int it = 0; it < max_iterations && std::sqrt(dot(g, g)) > tolerance * g0; ++it) {
    // The two-loop recursion: d = -H g.
    std::vector<double> d = g, alpha(s_hist.size());
    for (size_t i = s_hist.size(); i-- > 0;) {
      alpha[i] = rho_hist[i] * dot(s_hist[i], d);
      for (size_t j = 0; j < d.size(); ++j) d[j] -= alpha[i] * y_hist[i][j];
    }
    const double gamma =
        s_hist.empty() ? 1.0 / std::sqrt(dot(g, g))
                       : dot(s_hist.back(), y_hist.back()) / dot(y_hist.back(), y_hist.back());
    for (double& v : d) v *= gamma;
    for (size_t i = 0; i < s_hist.size(); ++i) {
      const double beta = rho_hist[i] * dot(y_hist[i], d);
      for (size_t j = 0; j < d.size(); ++j) d[j] += (alpha[i] - beta) * s_hist[i][j];
    }
    for (double& v : d) v = -v;
    double slope = dot(g, d);
    if (slope >= 0) {  // not a descent direction (curvature lost): restart from steepest descent
      s_hist.clear(), y_hist.clear(), rho_hist.clear();
      d = g;
      for (double& v : d) v = -v / std::sqrt(dot(g, g));
      slope = dot(g, d);
    }
    double step = 1.0, f_next = f;
    next.resize(theta.size());
    for (int tries = 0; tries < 40; ++tries, step *= 0.5) {
      for (size_t j = 0; j < theta.size(); ++j) next[j] = theta[j] + step * d[j];
      f_next = objective.evaluate(next, g_next);
      if (f_next <= f + 1e-4 * step * slope) break;
    }
    if (!(f_next < f)) break;  // no decrease left at double precision
    std::vector<double> s(theta.size()), y(theta.size());
    for (size_t j = 0; j < theta.size(); ++j) s[j] = next[j] - theta[j], y[j] = g_next[j] - g[j];
    const double sy = dot(s, y);
    if (sy > 1e-12 * dot(y, y)) {  // keep the pair only where the curvature is positive
      if (static_cast<int>(s_hist.size()) == memory)
        s_hist.erase(s_hist.begin()), y_hist.erase(y_hist.begin()),
            rho_hist.erase(rho_hist.begin());
      s_hist.push_back(std::move(s)), y_hist.push_back(std::move(y)), rho_hist.push_back(1 / sy);
    }
    const bool converged = f - f_next <= 1e-12 * std::max(1.0, std::abs(f));
    theta.swap(next), g.swap(g_next), f = f_next;
    if (converged) break;
  }
  return theta;
}

}  // namespace

std::vector<double> fit_predict_linear(const FeatureMatrix& train, const Target& t,
                                       const FeatureMatrix& test, const LinearOptions& o) {
  check_target(train, t, test, "linear model");
  STRAND_CHECK(o.C > 0, "linear model: C must be > 0, got {}", o.C);
  if (t.classes > 2) {
    SoftmaxObjective objective(train, t, o.C);
    return objective.probabilities(minimise_softmax(objective, o.eps * 1e-2), test);
  }
  set_print_string_function(quiet);
  auto rows = to_liblinear(train);
  std::vector<double> y(t.y.begin(), t.y.end());
  problem prob{};
  prob.l = static_cast<int>(train.rows);
  prob.n = static_cast<int>(train.cols) + 1;
  prob.y = y.data();
  prob.x = rows.rows.data();
  prob.bias = 1.0;
  parameter param{};
  param.solver_type = t.classes == 0 ? L2R_L2LOSS_SVR : L2R_LR;
  param.eps = o.eps;
  param.C = o.C;
  param.p = 0.0;  // SVR with p = 0 is squared loss: ridge regression
  if (const char* err = check_parameter(&prob, &param)) STRAND_FAIL("liblinear: {}", err);
  std::unique_ptr<model, void (*)(model*)> fitted(::train(&prob, &param),
                                                  [](model* m) { free_and_destroy_model(&m); });
  STRAND_CHECK(fitted != nullptr, "liblinear: training failed");
  auto test_rows = to_liblinear(test);
  const int outputs = t.outputs();
  std::vector<double> out(static_cast<size_t>(test.rows) * outputs, 0.0);
  const int nr_class = get_nr_class(fitted.get());
  std::vector<int> labels(nr_class);
  get_labels(fitted.get(), labels.data());
#pragma omp parallel
  {
    std::vector<double> prob_est(std::max(nr_class, 2));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < test.rows; ++r) {
      if (t.classes == 0) {
        out[r] = predict(fitted.get(), test_rows.rows[r]);
        continue;
      }
      predict_probability(fitted.get(), test_rows.rows[r], prob_est.data());
      for (int c = 0; c < nr_class; ++c) {
        if (outputs == 1) {
          if (labels[c] == 1) out[r] = prob_est[c];
        } else {
          out[r * outputs + labels[c]] = prob_est[c];
        }
      }
    }
  }
  return out;
}

std::vector<double> fit_predict_trees(const FeatureMatrix& train, const Target& t,
                                      const FeatureMatrix& test, const TreeOptions& o) {
  check_target(train, t, test, "gradient-boosted trees");
  STRAND_CHECK(o.rounds >= 1, "trees: rounds must be >= 1, got {}", o.rounds);
  DMatrix dtrain, dtest;
  to_dmatrix(train, dtrain);
  to_dmatrix(test, dtest);
  std::vector<float> y(t.y.begin(), t.y.end());
  xgb_check(XGDMatrixSetFloatInfo(dtrain.h, "label", y.data(), y.size()), "XGDMatrixSetFloatInfo");
  Booster booster;
  xgb_check(XGBoosterCreate(&dtrain.h, 1, &booster.h), "XGBoosterCreate");
  auto set = [&](const char* key, const std::string& value) {
    xgb_check(XGBoosterSetParam(booster.h, key, value.c_str()), "XGBoosterSetParam");
  };
  const int outputs = t.outputs();
  if (t.classes == 0) {
    set("objective", "reg:squarederror");
  } else if (t.classes == 2) {
    set("objective", "binary:logistic");
  } else {
    set("objective", "multi:softprob");
    set("num_class", std::to_string(t.classes));
  }
  set("max_depth", std::to_string(o.max_depth));
  set("eta", std::to_string(o.eta));
  set("subsample", std::to_string(o.subsample));
  set("tree_method", "hist");
  set("seed", std::to_string(o.seed));
  set("nthread", std::to_string(omp_get_max_threads()));
  set("verbosity", "0");
  for (int i = 0; i < o.rounds; ++i)
    xgb_check(XGBoosterUpdateOneIter(booster.h, i, dtrain.h), "XGBoosterUpdateOneIter");
  bst_ulong len = 0;
  const float* pred = nullptr;
  xgb_check(XGBoosterPredict(booster.h, dtest.h, 0, 0, 0, &len, &pred), "XGBoosterPredict");
  STRAND_CHECK(len == static_cast<bst_ulong>(test.rows * outputs),
               "XGBoost returned {} predictions for {} rows x {} outputs", len, test.rows, outputs);
  return std::vector<double>(pred, pred + len);
}

std::vector<double> fit_predict_knn(const FeatureMatrix& train, const Target& t,
                                    const FeatureMatrix& test, const KnnOptions& o) {
  check_target(train, t, test, "k-nearest neighbours");
  const int k = static_cast<int>(std::min<int64_t>(o.k, train.rows));
  STRAND_CHECK(k >= 1, "k-nearest neighbours: k must be >= 1, got {}", o.k);
  const auto a = unit_rows(train), b = unit_rows(test);
  const int outputs = t.outputs();
  std::vector<double> out(static_cast<size_t>(test.rows) * outputs, 0.0);
  const int64_t block = 256;
  std::vector<float> sims(static_cast<size_t>(block) * train.rows);
  for (int64_t r0 = 0; r0 < test.rows; r0 += block) {
    const int64_t nb = std::min(block, test.rows - r0);
    // sims[nb x train] = test_block * train^T (cosine similarity of unit rows).
    const dnnl_status_t st =
        dnnl_sgemm('N', 'T', nb, train.rows, train.cols, 1.0f, b.data() + r0 * test.cols, test.cols,
                   a.data(), train.cols, 0.0f, sims.data(), train.rows);
    STRAND_CHECK(st == dnnl_success, "k-nearest neighbours: oneDNN sgemm status {}",
                 static_cast<int>(st));
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < nb; ++i) {
      const float* s = sims.data() + i * train.rows;
      std::vector<int64_t> idx(train.rows);
      for (int64_t j = 0; j < train.rows; ++j) idx[j] = j;
      // Highest similarity first; ties broken by index so results do not depend on threads.
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t x, int64_t y) {
        return s[x] > s[y] || (s[x] == s[y] && x < y);
      });
      double* row = out.data() + (r0 + i) * outputs;
      for (int j = 0; j < k; ++j) {
        const double y = t.y[idx[j]];
        if (outputs == 1)
          row[0] += y / k;
        else
          row[static_cast<int>(y)] += 1.0 / k;
      }
    }
  }
  return out;
}

std::vector<double> predict_prevalence(const Target& t, int64_t test_rows) {
  STRAND_CHECK(!t.y.empty(), "prevalence: no training rows");
  const int outputs = t.outputs();
  std::vector<double> mean(outputs, 0.0);
  for (double v : t.y) {
    if (outputs == 1)
      mean[0] += v / t.y.size();
    else
      mean[static_cast<int>(v)] += 1.0 / t.y.size();
  }
  std::vector<double> out(static_cast<size_t>(test_rows) * outputs);
  for (int64_t r = 0; r < test_rows; ++r)
    std::copy(mean.begin(), mean.end(), out.begin() + r * outputs);
  return out;
}

}  // namespace strand::rules
