// Traditional models over feature matrices; see models.h.
#include "rules/models.h"

#include <dnnl.h>
#include <linear.h>
#include <omp.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
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

}  // namespace

std::vector<double> fit_predict_linear(const FeatureMatrix& train, const Target& t,
                                       const FeatureMatrix& test, const LinearOptions& o) {
  check_target(train, t, test, "linear model");
  STRAND_CHECK(o.C > 0, "linear model: C must be > 0, got {}", o.C);
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
