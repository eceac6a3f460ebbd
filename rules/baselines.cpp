// The `strand baseline` driver: features once per split, one model per task, C chosen on valid.
#include "rules/baselines.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/error.h"
#include "data/random.h"
#include "rules/metrics.h"
#include "rules/privacy_record.h"

namespace strand::rules {
namespace {

struct Features {
  FeatureMatrix train, valid, test;
};

Features extract_all(const FeatureExtractor& fx, const BaselineProblem& p) {
  return {extract_features(fx, p.train.seqs), extract_features(fx, p.valid.seqs),
          extract_features(fx, p.test.seqs)};
}

uint64_t data_hash(uint64_t seed, int64_t j) {
  return data::mix64(seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(j));
}

int outputs_of(const BaselineProblem& p) {
  return p.kind == TaskKind::kMultiClass ? static_cast<int>(p.classes.size()) : 1;
}

int classes_of(const BaselineProblem& p) {
  return p.kind == TaskKind::kMultiClass ? static_cast<int>(p.classes.size())
         : p.kind == TaskKind::kBinary   ? 2
                                         : 0;
}

// Rows of a split with a label for task t, and those labels.
void labelled(const SplitData& s, size_t tasks, size_t t, std::vector<int64_t>& rows,
              std::vector<double>& y) {
  rows.clear();
  y.clear();
  const size_t n = s.seqs.size();
  for (size_t i = 0; i < n; ++i) {
    const double v = s.labels[i * tasks + t];
    if (std::isnan(v)) continue;
    rows.push_back(static_cast<int64_t>(i));
    y.push_back(v);
  }
}

// Higher is better: AUROC (binary), macro AUROC (multi-class), -MSE (regression).
double validation_score(const BaselineProblem& p, std::span<const double> y,
                        std::span<const double> pred) {
  const double bad = -std::numeric_limits<double>::infinity();
  if (p.kind == TaskKind::kRegression) {
    const auto mse = mean_squared_error(y, pred);
    return mse.defined ? -mse.value : bad;
  }
  std::vector<int> yi(y.begin(), y.end());
  const auto v = p.kind == TaskKind::kBinary
                     ? roc_auc(yi, pred)
                     : multiclass_macro_auroc(yi, pred, static_cast<int>(p.classes.size()));
  return v.defined ? v.value : bad;
}

using FitPredict = std::function<std::vector<double>(const FeatureMatrix&, const Target&,
                                                     const FeatureMatrix&, double c)>;

// Mean validation score of C over folds of the training rows (fold of row j: a seeded hash).
double cross_validate(const BaselineProblem& p, const FeatureMatrix& train,
                      std::span<const double> y, const FitPredict& fit, double c, int folds,
                      uint64_t seed) {
  const auto n = static_cast<int64_t>(y.size());
  double total = 0;
  for (int f = 0; f < folds; ++f) {
    std::vector<int64_t> in, out;
    std::vector<double> yin, yout;
    for (int64_t j = 0; j < n; ++j) {
      const bool held = static_cast<int>(data_hash(seed, j) % static_cast<uint64_t>(folds)) == f;
      (held ? out : in).push_back(j);
      (held ? yout : yin).push_back(y[j]);
    }
    if (in.empty() || out.empty()) return -std::numeric_limits<double>::infinity();
    const auto pred =
        fit(select_rows(train, in), Target{yin, classes_of(p)}, select_rows(train, out), c);
    total += validation_score(p, yout, pred);
  }
  return total / folds;
}

struct TaskScores {
  std::vector<double> test, valid;  // rows x outputs; valid rows without a label are NaN
  double valid_metric = std::numeric_limits<double>::quiet_NaN();
};

// Fits one model per task and predicts valid and test. With a C grid, C is chosen by
// cross-validation on train (cv_folds > 1) or on valid; the chosen model's valid scores stay
// beside its test scores so baselines can be ranked on valid.
TaskScores per_task(const BaselineProblem& p, const Features& f, const FitPredict& fit,
                    const std::vector<double>& grid, int cv_folds, uint64_t cv_seed,
                    nlohmann::json& chosen) {
  const size_t T = p.tasks.size();
  const int outputs = outputs_of(p);
  const size_t width = outputs == 1 ? T : static_cast<size_t>(outputs);
  const int64_t n_test = f.test.rows, n_valid = f.valid.rows;
  TaskScores out;
  out.test.assign(static_cast<size_t>(n_test) * width, 0.0);
  out.valid.assign(static_cast<size_t>(n_valid) * width, std::numeric_limits<double>::quiet_NaN());
  double metric_sum = 0;
  int metric_count = 0;
  std::vector<int64_t> rows, vrows;
  std::vector<double> y, vy;
  for (size_t t = 0; t < T; ++t) {
    labelled(p.train, T, t, rows, y);
    STRAND_CHECK(!rows.empty(), "task '{}': no labelled training rows", p.tasks[t]);
    const auto train = select_rows(f.train, rows);
    Target target{y, classes_of(p)};
    labelled(p.valid, T, t, vrows, vy);
    const auto eval = vrows.empty() ? f.test : stack_rows(select_rows(f.valid, vrows), f.test);
    const size_t nv = vrows.size() * outputs;
    const bool cv = grid.size() > 1 && cv_folds > 1;
    const bool tune = grid.size() > 1 && (cv || !vrows.empty());
    std::vector<double> pred;
    double best_c = grid.empty() ? 1.0 : grid.back();
    double best = -std::numeric_limits<double>::infinity();
    if (cv) {
      for (double c : grid) {
        const double s = cross_validate(p, train, y, fit, c, cv_folds, cv_seed);
        if (c == grid.front() || s > best) best = s, best_c = c;
      }
      pred = fit(train, target, eval, best_c);
    } else if (tune) {
      for (double c : grid) {
        auto all = fit(train, target, eval, c);
        const double s = validation_score(p, vy, {all.data(), nv});
        if (pred.empty() || s > best) {
          best = s;
          best_c = c;
          pred = std::move(all);
        }
      }
    } else {
      pred = fit(train, target, eval, best_c);
    }
    if (!grid.empty()) {
      chosen[p.tasks[t]] = {{"C", best_c},
                            {"tuned_on_valid", tune && !cv},
                            {"cross_validated_on_train", cv ? cv_folds : 0}};
      if (cv) chosen[p.tasks[t]]["cv_score"] = best;
    }
    if (!vrows.empty()) {
      const double v = validation_score(p, vy, {pred.data(), nv});
      if (std::isfinite(v)) metric_sum += v, ++metric_count;
    }
    for (size_t i = 0; i < vrows.size(); ++i)
      for (int k = 0; k < outputs; ++k)
        out.valid[vrows[i] * width + (outputs == 1 ? t : k)] = pred[i * outputs + k];
    for (int64_t r = 0; r < n_test; ++r)
      for (int k = 0; k < outputs; ++k)
        out.test[r * width + (outputs == 1 ? t : k)] = pred[nv + r * outputs + k];
  }
  if (metric_count > 0) out.valid_metric = metric_sum / metric_count;
  return out;
}

void check_problem(const BaselineProblem& p) {
  STRAND_CHECK(!p.tasks.empty(), "baseline: no tasks");
  STRAND_CHECK(p.kind != TaskKind::kMultiClass || (p.tasks.size() == 1 && p.classes.size() >= 2),
               "baseline: multi-class needs one label column and at least 2 classes");
  for (const auto* s : {&p.train, &p.valid, &p.test})
    STRAND_CHECK(s->labels.size() == s->seqs.size() * p.tasks.size(),
                 "baseline: {} labels for {} sequences x {} tasks", s->labels.size(),
                 s->seqs.size(), p.tasks.size());
  STRAND_CHECK(!p.train.seqs.empty(), "baseline: the training split is empty");
  STRAND_CHECK(!p.test.seqs.empty(), "baseline: the test split is empty");
}

}  // namespace

nlohmann::json score_panel(const BaselineProblem& p, const std::vector<double>& scores,
                           const PanelOptions& options) {
  if (p.kind == TaskKind::kBinary) return binary_panel(p.tasks, p.test.labels, scores, options);
  if (p.kind == TaskKind::kRegression)
    return regression_panel(p.tasks, p.test.labels, scores, options);
  std::vector<int> y;
  for (double v : p.test.labels) {
    STRAND_CHECK(!std::isnan(v), "multi-class test labels must not be missing");
    y.push_back(static_cast<int>(v));
  }
  return multiclass_panel(p.classes, y, scores, options);
}

std::vector<BaselineSpec> default_baselines() {
  auto spectrum = [](const BaselineConfig& c) -> std::unique_ptr<FeatureExtractor> {
    return std::make_unique<KmerSpectrum>(c.kmin, c.kmax);
  };
  auto onehot = [](const BaselineConfig& c) -> std::unique_ptr<FeatureExtractor> {
    return std::make_unique<OneHotFlat>(c.sequence_length);
  };
  auto dinuc = [](const BaselineConfig& c) -> std::unique_ptr<FeatureExtractor> {
    return std::make_unique<PositionalDinucleotides>(c.sequence_length);
  };
  return {
      {"kmer_logistic", spectrum, ModelKind::kLinear, {}},
      {"kmer_trees", spectrum, ModelKind::kTrees, {}},
      {"kmer_knn",
       [](const BaselineConfig& c) -> std::unique_ptr<FeatureExtractor> {
         return std::make_unique<KmerSpectrum>(1, c.knn_kmax);
       },
       ModelKind::kNeighbours,
       {}},
      // One feature in [0, 1]: weak regularisation so the slope is not shrunk to nothing.
      {"gc_only",
       [](const BaselineConfig&) -> std::unique_ptr<FeatureExtractor> {
         return std::make_unique<GcContent>();
       },
       ModelKind::kLinear,
       {100.0}},
      {"prevalence", nullptr, ModelKind::kPrevalence, {}},
      // Position-specific (aligned, fixed-length input): C by cross-validation on train only.
      {"onehot_logistic", onehot, ModelKind::kLinear, {}, true, 3},
      {"onehot_trees", onehot, ModelKind::kTrees, {}, true, 0},
      {"dinuc_logistic", dinuc, ModelKind::kLinear, {}, true, 3},
      {"dinuc_trees", dinuc, ModelKind::kTrees, {}, true, 0},
  };
}

std::vector<std::string> applicable_baselines(const BaselineConfig& config, int64_t length) {
  std::vector<std::string> out;
  for (const auto& spec : config.specs)
    if (!spec.fixed_length || length > 0) out.push_back(spec.name);
  return out;
}

const BaselineResult* strongest_on_valid(const std::vector<BaselineResult>& results) {
  const BaselineResult* best = nullptr;
  for (const auto& r : results)
    if (std::isfinite(r.valid_metric) && (best == nullptr || r.valid_metric > best->valid_metric))
      best = &r;
  return best;
}

FeatureMatrix select_rows(const FeatureMatrix& m, std::span<const int64_t> keep) {
  FeatureMatrix out;
  out.rows = static_cast<int64_t>(keep.size());
  out.cols = m.cols;
  out.row_ptr.assign(1, 0);
  for (int64_t r : keep) {
    STRAND_CHECK(r >= 0 && r < m.rows, "select_rows: row {} of {}", r, m.rows);
    out.col.insert(out.col.end(), m.col.begin() + m.row_ptr[r], m.col.begin() + m.row_ptr[r + 1]);
    out.val.insert(out.val.end(), m.val.begin() + m.row_ptr[r], m.val.begin() + m.row_ptr[r + 1]);
    out.row_ptr.push_back(static_cast<int64_t>(out.col.size()));
  }
  return out;
}

FeatureMatrix stack_rows(const FeatureMatrix& top, const FeatureMatrix& bottom) {
  STRAND_CHECK(top.cols == bottom.cols, "stack_rows: {} vs {} columns", top.cols, bottom.cols);
  FeatureMatrix out = top;
  out.rows += bottom.rows;
  out.col.insert(out.col.end(), bottom.col.begin(), bottom.col.end());
  out.val.insert(out.val.end(), bottom.val.begin(), bottom.val.end());
  const int64_t base = top.row_ptr.back();
  for (size_t i = 1; i < bottom.row_ptr.size(); ++i)
    out.row_ptr.push_back(base + bottom.row_ptr[i]);
  return out;
}

std::vector<BaselineResult> run_baselines(const BaselineProblem& p, const BaselineConfig& config_in,
                                          const std::function<void(const std::string&)>& progress) {
  check_problem(p);
  std::vector<std::string> all_seqs = p.train.seqs;
  all_seqs.insert(all_seqs.end(), p.valid.seqs.begin(), p.valid.seqs.end());
  all_seqs.insert(all_seqs.end(), p.test.seqs.begin(), p.test.seqs.end());
  BaselineConfig config = config_in;
  config.sequence_length = common_length(all_seqs);
  std::vector<const BaselineSpec*> chosen_specs;
  std::string known;
  for (const auto& spec : config.specs) known += (known.empty() ? "" : ", ") + spec.name;
  if (config.which.empty()) {
    for (const auto& spec : config.specs)
      if (!spec.fixed_length || config.sequence_length > 0) chosen_specs.push_back(&spec);
  } else {
    for (const auto& name : config.which) {
      const auto it = std::find_if(config.specs.begin(), config.specs.end(),
                                   [&](const BaselineSpec& s) { return s.name == name; });
      STRAND_CHECK(it != config.specs.end(), "unknown baseline '{}' (known: {})", name, known);
      STRAND_CHECK(!it->fixed_length || config.sequence_length > 0,
                   "baseline '{}' reads position-specific features and needs sequences of one "
                   "length, but the lengths differ",
                   name);
      chosen_specs.push_back(&*it);
    }
  }
  const std::vector<std::string> columns = p.kind == TaskKind::kMultiClass ? p.classes : p.tasks;
  // Features are extracted once per representation and shared by the baselines that read it.
  std::map<std::string, Features> cache;
  std::vector<BaselineResult> results;
  for (const BaselineSpec* spec : chosen_specs) {
    if (progress) progress(spec->name);
    std::string features = "none";
    Features none;  // the prevalence model reads no features, only the row counts
    const Features* f = &none;
    if (spec->features) {
      const auto fx = spec->features(config);
      features = fx->name();
      auto it = cache.find(features);
      if (it == cache.end()) it = cache.emplace(features, extract_all(*fx, p)).first;
      f = &it->second;
    } else {
      none.train.rows = static_cast<int64_t>(p.train.seqs.size());
      none.valid.rows = static_cast<int64_t>(p.valid.seqs.size());
      none.test.rows = static_cast<int64_t>(p.test.seqs.size());
      for (auto* m : {&none.train, &none.valid, &none.test}) m->row_ptr.assign(m->rows + 1, 0);
    }
    FitPredict fit;
    std::vector<double> grid;
    switch (spec->model) {
      case ModelKind::kLinear:
        grid = spec->c_grid.empty() ? config.c_grid : spec->c_grid;
        fit = [&](const FeatureMatrix& a, const Target& t, const FeatureMatrix& b, double c) {
          LinearOptions o = config.linear;
          o.C = c;
          return fit_predict_linear(a, t, b, o);
        };
        break;
      case ModelKind::kTrees:
        fit = [&](const FeatureMatrix& a, const Target& t, const FeatureMatrix& b, double) {
          return fit_predict_trees(a, t, b, config.trees);
        };
        break;
      case ModelKind::kNeighbours:
        features += " cosine, k = " + std::to_string(config.knn.k);
        fit = [&](const FeatureMatrix& a, const Target& t, const FeatureMatrix& b, double) {
          return fit_predict_knn(a, t, b, config.knn);
        };
        break;
      case ModelKind::kPrevalence:
        fit = [](const FeatureMatrix&, const Target& t, const FeatureMatrix& b, double) {
          return predict_prevalence(t, b.rows);
        };
        break;
    }
    nlohmann::json chosen;
    TaskScores scores = per_task(p, *f, fit, grid, spec->cv_folds, config.cv_seed, chosen);
    BaselineResult r;
    r.name = spec->name;
    r.score_columns = columns;
    r.test_scores = std::move(scores.test);
    r.valid_scores = std::move(scores.valid);
    r.valid_metric = scores.valid_metric;
    r.metrics = score_panel(p, r.test_scores, config.panel);
    r.metrics["baseline"] = spec->name;
    r.metrics["features"] = features;
    if (!chosen.is_null()) r.metrics["chosen"] = chosen;
    if (spec->model == ModelKind::kNeighbours) {
      PrivacyRecord mark;
      mark.sensitive = config.sensitive;
      r.metrics["privacy"] = mark.to_json();
      r.metrics["privacy"]["memorises_training_data"] = true;
      if (config.sensitive) {
        r.metrics["privacy"]["share_refusal"] =
            "k-nearest neighbours keeps every training row's k-mer profile and predicts from "
            "the nearest ones: the fitted model and its scores reveal training data marked "
            "sensitive (Rule 10); do not share it";
      }
    }
    // Mean validation AUROC (macro AUROC for multi-class; -MSE for regression), or null.
    r.metrics["valid_metric"] =
        std::isfinite(r.valid_metric) ? nlohmann::json(r.valid_metric) : nlohmann::json();
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace strand::rules
