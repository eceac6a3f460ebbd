// Metric panels with bootstrap confidence intervals; layout documented in panel.h.
#include "rules/panel.h"

#include <cmath>

#include "core/error.h"

namespace strand::rules {
namespace {

// One binary task's data with the sort order computed once for the point estimate and every
// bootstrap replicate.
struct BinaryTask {
  std::vector<int> y;
  std::vector<double> s, base;  // base weight: 1 where the label exists, 0 where it is missing
  std::vector<int64_t> order;
};

BinaryTask make_binary_task(std::span<const double> labels, std::span<const double> scores,
                            size_t n, size_t tasks, size_t t, const std::string& name) {
  BinaryTask task;
  task.y.resize(n);
  task.s.resize(n);
  task.base.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const double l = labels[i * tasks + t];
    const double s = scores[i * tasks + t];
    if (std::isnan(l)) {
      task.y[i] = 0;
      task.s[i] = std::isnan(s) ? 0.0 : s;
      task.base[i] = 0.0;
      continue;
    }
    STRAND_CHECK(l == 0.0 || l == 1.0, "task '{}': label {} at row {} is not 0 or 1", name, l, i);
    STRAND_CHECK(!std::isnan(s), "task '{}': score at row {} is NaN", name, i);
    task.y[i] = static_cast<int>(l);
    task.s[i] = s;
    task.base[i] = 1.0;
  }
  task.order = order_by_score_descending(task.s);
  return task;
}

NamedValues binary_metrics(const BinaryTask& t, std::span<const double> w, double threshold,
                           int bins, std::vector<ReliabilityBin>* curve) {
  double n = 0, pos = 0;
  for (size_t i = 0; i < t.y.size(); ++i) {
    n += w[i];
    pos += t.y[i] * w[i];
  }
  const auto c = confusion_at(t.y, t.s, threshold, w);
  const auto opt = f1_optimal(t.y, t.s, t.order, w);
  return {
      {"prevalence", n > 0 ? MetricValue::of(pos / n) : MetricValue::undefined("no samples")},
      {"auroc", roc_auc_sorted(t.y, t.s, t.order, w)},
      {"auprc", average_precision_sorted(t.y, t.s, t.order, w)},
      {"mcc", matthews(c)},
      {"f1", f1(c)},
      {"precision", precision(c)},
      {"recall", recall(c)},
      {"balanced_accuracy", balanced_accuracy(c)},
      {"brier", brier(t.y, t.s, w)},
      {"ece", expected_calibration_error(t.y, t.s, bins, w, curve)},
      {"f1_opt", opt.f1},
      {"f1_opt_threshold", opt.threshold},
      {"precision_at_f1_opt", opt.precision},
      {"recall_at_f1_opt", opt.recall},
  };
}

std::vector<double> times(std::span<const double> a, std::span<const double> b) {
  std::vector<double> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = a[i] * b[i];
  return out;
}

void put_interval(nlohmann::json& obj, const std::string& name, const Interval& ci) {
  if (ci.defined) {
    obj["ci"][name] = {ci.lo, ci.hi};
  } else {
    obj["ci"][name] = nullptr;
    obj["ci_undefined"][name] = ci.reason;
  }
}

// Means of the defined per-task values, metric by metric.
NamedValues macro_of(const std::vector<NamedValues>& per_task) {
  NamedValues out;
  if (per_task.empty()) return out;
  for (size_t m = 0; m < per_task[0].size(); ++m) {
    double sum = 0;
    int k = 0;
    for (const auto& task : per_task)
      if (task[m].second.defined) {
        sum += task[m].second.value;
        ++k;
      }
    out.emplace_back(per_task[0][m].first, k ? MetricValue::of(sum / k)
                                             : MetricValue::undefined("undefined for every task"));
  }
  return out;
}

// The object a replicate group name ("tasks.<task>", "macro", "micro") refers to.
nlohmann::json& group_object(nlohmann::json& out, const std::string& group) {
  if (group.empty()) return out;
  if (group.rfind("tasks.", 0) == 0) return out["tasks"][group.substr(6)];
  return out[group];
}

nlohmann::json bootstrap_json(const BootstrapOptions& b) {
  return {{"replicates", b.replicates}, {"seed", b.seed}, {"level", b.level}, {"unit", "name"}};
}

// Runs the replicate function, writes each group's intervals (replicate names are
// "group/metric") and records how the bootstrap was done.
void attach_intervals(nlohmann::json& out, int64_t n, const ReplicateFn& fn,
                      const BootstrapOptions& options) {
  if (options.replicates > 0)
    for (const auto& [key, ci] : bootstrap_intervals(n, fn, options)) {
      const auto slash = key.rfind('/');
      put_interval(group_object(out, key.substr(0, slash)), key.substr(slash + 1), ci);
    }
  out["bootstrap"] = bootstrap_json(options);
}

}  // namespace

const std::vector<std::string>& binary_metric_names() {
  static const std::vector<std::string> names = {"prevalence",
                                                 "auroc",
                                                 "auprc",
                                                 "mcc",
                                                 "f1",
                                                 "precision",
                                                 "recall",
                                                 "balanced_accuracy",
                                                 "brier",
                                                 "ece",
                                                 "f1_opt",
                                                 "f1_opt_threshold",
                                                 "precision_at_f1_opt",
                                                 "recall_at_f1_opt"};
  return names;
}

void put_metric(nlohmann::json& obj, const std::string& name, const MetricValue& value) {
  if (value.defined) {
    obj[name] = value.value;
  } else {
    obj[name] = nullptr;
    obj["undefined"][name] = value.reason;
  }
}

nlohmann::json binary_panel(const std::vector<std::string>& tasks, std::span<const double> labels,
                            std::span<const double> scores, const PanelOptions& options) {
  STRAND_CHECK(!tasks.empty(), "binary_panel: no tasks");
  STRAND_CHECK(labels.size() == scores.size(), "binary_panel: {} labels but {} scores",
               labels.size(), scores.size());
  STRAND_CHECK(labels.size() % tasks.size() == 0,
               "binary_panel: {} values is not a multiple of {} tasks", labels.size(),
               tasks.size());
  const size_t T = tasks.size(), n = labels.size() / T;
  STRAND_CHECK(n > 0, "binary_panel: no samples");
  std::vector<BinaryTask> data;
  for (size_t t = 0; t < T; ++t)
    data.push_back(make_binary_task(labels, scores, n, T, t, tasks[t]));
  // Micro averaging pools every (row, task) pair into one binary problem, as sklearn's ravel.
  BinaryTask pooled;
  if (T > 1) {
    for (const auto& d : data) {
      pooled.y.insert(pooled.y.end(), d.y.begin(), d.y.end());
      pooled.s.insert(pooled.s.end(), d.s.begin(), d.s.end());
      pooled.base.insert(pooled.base.end(), d.base.begin(), d.base.end());
    }
    pooled.order = order_by_score_descending(pooled.s);
  }

  nlohmann::json out = {{"kind", "binary"},
                        {"n", n},
                        {"threshold", options.threshold},
                        {"ece_bins", options.ece_bins},
                        {"tasks", nlohmann::json::object()}};
  std::vector<NamedValues> per_task;
  for (size_t t = 0; t < T; ++t) {
    std::vector<ReliabilityBin> curve;
    auto values =
        binary_metrics(data[t], data[t].base, options.threshold, options.ece_bins, &curve);
    auto& obj = out["tasks"][tasks[t]];
    double count = 0, pos = 0;
    for (size_t i = 0; i < n; ++i) {
      count += data[t].base[i];
      pos += data[t].base[i] * data[t].y[i];
    }
    obj["n"] = count;
    obj["positives"] = pos;
    for (const auto& [name, v] : values) put_metric(obj, name, v);
    obj["reliability"] = nlohmann::json::array();
    for (const auto& b : curve)
      obj["reliability"].push_back({{"lo", b.lo},
                                    {"hi", b.hi},
                                    {"count", b.count},
                                    {"mean_score", b.mean_score},
                                    {"fraction_positive", b.fraction_positive}});
    per_task.push_back(std::move(values));
  }
  out["macro"] = nlohmann::json::object();
  for (const auto& [name, v] : macro_of(per_task)) put_metric(out["macro"], name, v);
  if (T > 1) {
    out["micro"] = nlohmann::json::object();
    for (const auto& [name, v] :
         binary_metrics(pooled, pooled.base, options.threshold, options.ece_bins, nullptr))
      put_metric(out["micro"], name, v);
  }

  const int bins = options.ece_bins;
  const double thr = options.threshold;
  ReplicateFn fn = [&](std::span<const double> counts) {
    NamedValues all;
    std::vector<NamedValues> reps;
    for (size_t t = 0; t < T; ++t) {
      auto v = binary_metrics(data[t], times(counts, data[t].base), thr, bins, nullptr);
      for (const auto& [name, mv] : v) all.emplace_back("tasks." + tasks[t] + "/" + name, mv);
      reps.push_back(std::move(v));
    }
    for (const auto& [name, mv] : macro_of(reps)) all.emplace_back("macro/" + name, mv);
    if (T > 1) {
      std::vector<double> pc(pooled.y.size());
      for (size_t t = 0; t < T; ++t)
        for (size_t i = 0; i < n; ++i) pc[t * n + i] = counts[i] * pooled.base[t * n + i];
      for (const auto& [name, mv] : binary_metrics(pooled, pc, thr, bins, nullptr))
        all.emplace_back("micro/" + name, mv);
    }
    return all;
  };
  attach_intervals(out, static_cast<int64_t>(n), fn, options.bootstrap);
  return out;
}

nlohmann::json multiclass_panel(const std::vector<std::string>& classes, std::span<const int> y,
                                std::span<const double> probs, const PanelOptions& options) {
  const int C = static_cast<int>(classes.size());
  STRAND_CHECK(C >= 2, "multiclass_panel: need at least 2 classes, got {}", C);
  STRAND_CHECK(!y.empty(), "multiclass_panel: no samples");
  auto metrics = [&](std::span<const double> w) -> NamedValues {
    return {{"accuracy", multiclass_accuracy(y, probs, C, w)},
            {"balanced_accuracy", multiclass_balanced_accuracy(y, probs, C, w)},
            {"mcc", multiclass_matthews(y, probs, C, w)},
            {"macro_auroc", multiclass_macro_auroc(y, probs, C, w)},
            {"log_loss", multiclass_log_loss(y, probs, C, w)}};
  };
  nlohmann::json out = {{"kind", "multiclass"}, {"n", y.size()}, {"classes", classes}};
  for (const auto& [name, v] : metrics({})) put_metric(out, name, v);
  std::vector<double> counts(C, 0.0);
  for (int c : y) counts[c] += 1;
  out["class_counts"] = nlohmann::json::object();
  for (int c = 0; c < C; ++c) out["class_counts"][classes[c]] = counts[c];
  ReplicateFn fn = [&](std::span<const double> w) {
    NamedValues all;
    for (auto& [name, v] : metrics(w)) all.emplace_back("/" + name, v);
    return all;
  };
  attach_intervals(out, static_cast<int64_t>(y.size()), fn, options.bootstrap);
  return out;
}

nlohmann::json regression_panel(const std::vector<std::string>& tasks,
                                std::span<const double> labels, std::span<const double> predictions,
                                const PanelOptions& options) {
  STRAND_CHECK(!tasks.empty(), "regression_panel: no tasks");
  STRAND_CHECK(labels.size() == predictions.size(),
               "regression_panel: {} labels but {} predictions", labels.size(), predictions.size());
  const size_t T = tasks.size(), n = labels.size() / T;
  STRAND_CHECK(n > 0 && labels.size() == n * T, "regression_panel: {} values for {} tasks",
               labels.size(), T);
  struct Column {
    std::vector<double> y, p, base;
  };
  std::vector<Column> cols(T);
  for (size_t t = 0; t < T; ++t)
    for (size_t i = 0; i < n; ++i) {
      const double l = labels[i * T + t], p = predictions[i * T + t];
      const bool missing = std::isnan(l);
      STRAND_CHECK(missing || !std::isnan(p), "task '{}': prediction at row {} is NaN", tasks[t],
                   i);
      cols[t].y.push_back(missing ? 0.0 : l);
      cols[t].p.push_back(missing ? 0.0 : p);
      cols[t].base.push_back(missing ? 0.0 : 1.0);
    }
  auto metrics = [](const Column& c, std::span<const double> w) -> NamedValues {
    return {{"pearson", pearson(c.y, c.p, w)},
            {"spearman", spearman(c.y, c.p, w)},
            {"mse", mean_squared_error(c.y, c.p, w)}};
  };
  nlohmann::json out = {{"kind", "regression"}, {"n", n}, {"tasks", nlohmann::json::object()}};
  std::vector<NamedValues> per_task;
  for (size_t t = 0; t < T; ++t) {
    auto v = metrics(cols[t], cols[t].base);
    for (const auto& [name, mv] : v) put_metric(out["tasks"][tasks[t]], name, mv);
    per_task.push_back(std::move(v));
  }
  out["macro"] = nlohmann::json::object();
  for (const auto& [name, v] : macro_of(per_task)) put_metric(out["macro"], name, v);
  ReplicateFn fn = [&](std::span<const double> counts) {
    NamedValues all;
    std::vector<NamedValues> reps;
    for (size_t t = 0; t < T; ++t) {
      auto v = metrics(cols[t], times(counts, cols[t].base));
      for (const auto& [name, mv] : v) all.emplace_back("tasks." + tasks[t] + "/" + name, mv);
      reps.push_back(std::move(v));
    }
    for (const auto& [name, mv] : macro_of(reps)) all.emplace_back("macro/" + name, mv);
    return all;
  };
  attach_intervals(out, static_cast<int64_t>(n), fn, options.bootstrap);
  return out;
}

}  // namespace strand::rules
