// DeLong and paired-bootstrap comparisons of two runs; see compare.h.
#include "rules/compare.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "rules/delong.h"
#include "rules/metrics.h"

namespace strand::rules {
namespace {

std::string verdict(bool defined, double p, double diff, double alpha) {
  if (!defined) return "undefined";
  if (p >= alpha) return "no significant difference";
  return diff > 0 ? "A better" : "B better";
}

// The paired bootstrap of one metric difference (a - b), with its CI and p-value. The verdict
// names the better run: the higher value, or the lower for a loss (lower_is_better).
nlohmann::json paired(int64_t n, const std::function<MetricValue(std::span<const double>, int)>& m,
                      const CompareOptions& o, bool lower_is_better = false) {
  const auto a = m({}, 0), b = m({}, 1);
  nlohmann::json out;
  put_metric(out, "a", a);
  put_metric(out, "b", b);
  if (!a.defined || !b.defined) {
    out["difference"] = nullptr;
    out["verdict"] = "undefined";
    return out;
  }
  out["difference"] = a.value - b.value;
  if (o.bootstrap.replicates == 0) return out;
  ReplicateFn fn = [&](std::span<const double> w) {
    const auto ra = m(w, 0), rb = m(w, 1);
    if (!ra.defined || !rb.defined) return NamedValues{{"d", MetricValue::undefined("resample")}};
    return NamedValues{{"d", MetricValue::of(ra.value - rb.value)}};
  };
  std::map<std::string, int> undefined;
  auto values = bootstrap_values(n, fn, o.bootstrap, &undefined);
  const auto& d = values["d"];
  if (2 * undefined["d"] > o.bootstrap.replicates) {
    out["bootstrap"] = {{"undefined", "undefined in most resamples"}};
    out["verdict"] = "undefined";
    return out;
  }
  const auto ci = percentile_interval(d, o.bootstrap.level);
  const double p = paired_bootstrap_p(d);
  out["bootstrap"] = {{"ci", {ci.lo, ci.hi}}, {"p_value", p}, {"replicates", d.size()}};
  const double gain = a.value - b.value;
  out["verdict"] = verdict(true, p, lower_is_better ? -gain : gain, o.alpha);
  return out;
}

nlohmann::json delong_json(const DelongResult& r, double alpha) {
  if (!r.defined) return {{"undefined", r.reason}, {"verdict", "undefined"}};
  return {{"z", r.z},
          {"p_value", r.p_value},
          {"ci", {r.ci_lo, r.ci_hi}},
          {"verdict", verdict(true, r.p_value, r.difference, alpha)}};
}

}  // namespace

nlohmann::json summarize_comparison(const nlohmann::json& c) {
  // Multi-class: McNemar on accuracy and the paired bootstrap of macro AUROC, one verdict each.
  std::vector<std::pair<std::string, std::string>> verdicts;  // (what it is about, verdict)
  std::string what;
  if (c.at("kind") == "multiclass") {
    verdicts.emplace_back("accuracy", c["accuracy"].value("verdict", std::string("undefined")));
    verdicts.emplace_back("macro AUROC",
                          c["macro_auroc"].value("verdict", std::string("undefined")));
    what = "accuracy by McNemar's exact test, macro AUROC by paired bootstrap";
  } else {
    const bool binary = c.at("kind") == "binary";
    for (const auto& [task, t] : c["tasks"].items())
      verdicts.emplace_back(task, binary ? t["auroc"].value("verdict", std::string("undefined"))
                                         : t["pearson"].value("verdict", std::string("undefined")));
    what = binary ? "AUROC, DeLong" : "Pearson, paired bootstrap";
  }
  int a = 0, b = 0, same = 0, undefined = 0;
  for (const auto& [_, v] : verdicts) {
    if (v == "A better")
      ++a;
    else if (v == "B better")
      ++b;
    else if (v == "undefined")
      ++undefined;
    else
      ++same;
  }
  const size_t n = verdicts.size();
  const std::string unit = c.at("kind") == "multiclass" ? "metric" : "task";
  const double alpha = c.value("alpha", 0.05);
  std::string sentence;
  if (n == 1) {
    // One task: say what happened rather than counting ("on none task").
    const std::string& v = verdicts[0].second;
    sentence = v == "A better"    ? "A is significantly better than B"
               : v == "B better"  ? "B is significantly better than A"
               : v == "undefined" ? "the difference is undefined"
                                  : "no significant difference between A and B";
    sentence += strand::format(" ({}, alpha {})", what, alpha);
  } else {
    auto count = [&](int k) {
      return k == 0 ? std::string("no ") + unit : strand::format("{} of {} {}s", k, n, unit);
    };
    sentence = strand::format("A beats B significantly on {} ({}, alpha {}); B beats A on {}",
                              count(a), what, alpha, count(b));
    if (undefined) sentence += strand::format("; {} undefined", undefined);
  }
  return {{"a_better", a},
          {"b_better", b},
          {"no_significant_difference", same},
          {"undefined", undefined},
          {"sentence", sentence}};
}

McNemarResult mcnemar_test(std::span<const int> correct_a, std::span<const int> correct_b) {
  STRAND_CHECK(correct_a.size() == correct_b.size(), "mcnemar: {} vs {} rows", correct_a.size(),
               correct_b.size());
  McNemarResult r;
  for (size_t i = 0; i < correct_a.size(); ++i) {
    if (correct_a[i] && !correct_b[i]) ++r.a_only;
    if (!correct_a[i] && correct_b[i]) ++r.b_only;
  }
  const int64_t n = r.a_only + r.b_only, k = std::min(r.a_only, r.b_only);
  if (n == 0) return r;
  // Exact: 2 P(X <= k), X ~ Binomial(n, 1/2), summed in log space so large n stays finite.
  double tail = 0;
  for (int64_t j = 0; j <= k; ++j)
    tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(j + 1.0) - std::lgamma(n - j + 1.0) -
                     n * std::log(2.0));
  r.p_value = std::min(1.0, 2 * tail);
  return r;
}

double paired_bootstrap_p(const std::vector<double>& d) {
  if (d.empty()) return 1.0;
  const double le = std::count_if(d.begin(), d.end(), [](double x) { return x <= 0; });
  const double ge = std::count_if(d.begin(), d.end(), [](double x) { return x >= 0; });
  return std::min(1.0, 2.0 * std::min(le, ge) / d.size());
}

nlohmann::json compare_runs(TaskKind kind, const std::vector<std::string>& columns,
                            const std::vector<double>& labels, const std::vector<double>& sa,
                            const std::vector<double>& sb, const CompareOptions& o) {
  STRAND_CHECK(!columns.empty(), "compare: no score columns");
  STRAND_CHECK(sa.size() == sb.size(), "compare: run A has {} scores, run B {}", sa.size(),
               sb.size());
  const size_t C = columns.size(), n = sa.size() / C;
  STRAND_CHECK(sa.size() == n * C, "compare: {} scores for {} columns", sa.size(), C);
  for (size_t i = 0; i < sa.size(); ++i)
    STRAND_CHECK(!std::isnan(sa[i]) && !std::isnan(sb[i]), "compare: score at row {} is NaN",
                 i / C);
  nlohmann::json out = {{"n", n}, {"alpha", o.alpha}};
  out["bootstrap"] = {{"replicates", o.bootstrap.replicates},
                      {"seed", o.bootstrap.seed},
                      {"level", o.bootstrap.level},
                      {"unit", "name"}};

  if (kind == TaskKind::kMultiClass) {
    STRAND_CHECK(labels.size() == n, "compare: {} labels for {} rows", labels.size(), n);
    std::vector<int> y;
    for (double v : labels) {
      STRAND_CHECK(!std::isnan(v) && v >= 0 && v < C, "compare: class label {} out of range", v);
      y.push_back(static_cast<int>(v));
    }
    const int classes = static_cast<int>(C);
    auto metric = [&](auto fn) {
      return [&, fn](std::span<const double> w, int run) {
        return fn(y, run == 0 ? sa : sb, classes, w);
      };
    };
    out["kind"] = "multiclass";
    out["macro_auroc"] = paired(n, metric(multiclass_macro_auroc), o);
    out["accuracy"] = paired(n, metric(multiclass_accuracy), o);
    out["log_loss"] = paired(n, metric(multiclass_log_loss), o, /*lower_is_better=*/true);
    // DeLong per class, one versus rest.
    std::vector<double> ca(n), cb(n);
    std::vector<int> yc(n);
    for (size_t c = 0; c < C; ++c) {
      for (size_t i = 0; i < n; ++i) {
        yc[i] = y[i] == static_cast<int>(c);
        ca[i] = sa[i * C + c];
        cb[i] = sb[i * C + c];
      }
      out["classes"][columns[c]]["delong"] = delong_json(delong_test(yc, ca, cb), o.alpha);
    }
    // Accuracy's paired test: McNemar on which rows each run classifies correctly (argmax).
    std::vector<int> right_a(n), right_b(n);
    auto argmax = [&](const std::vector<double>& s, size_t i) {
      return static_cast<int>(std::max_element(s.begin() + i * C, s.begin() + (i + 1) * C) -
                              (s.begin() + i * C));
    };
    for (size_t i = 0; i < n; ++i) {
      right_a[i] = argmax(sa, i) == y[i];
      right_b[i] = argmax(sb, i) == y[i];
    }
    const McNemarResult mc = mcnemar_test(right_a, right_b);
    out["accuracy"]["mcnemar"] = {
        {"a_only_correct", mc.a_only}, {"b_only_correct", mc.b_only}, {"p_value", mc.p_value}};
    out["accuracy"]["verdict"] =
        verdict(true, mc.p_value, static_cast<double>(mc.a_only - mc.b_only), o.alpha);
    return out;
  }

  STRAND_CHECK(labels.size() == n * C, "compare: {} labels for {} rows x {} tasks", labels.size(),
               n, C);
  out["kind"] = kind == TaskKind::kBinary ? "binary" : "regression";
  out["tasks"] = nlohmann::json::object();
  for (size_t t = 0; t < C; ++t) {
    // Rows with a label for this task; weights carry the resampling counts of those rows.
    std::vector<int64_t> rows;
    for (size_t i = 0; i < n; ++i)
      if (!std::isnan(labels[i * C + t])) rows.push_back(static_cast<int64_t>(i));
    std::vector<double> y(rows.size()), a(rows.size()), b(rows.size());
    for (size_t k = 0; k < rows.size(); ++k) {
      y[k] = labels[rows[k] * C + t];
      a[k] = sa[rows[k] * C + t];
      b[k] = sb[rows[k] * C + t];
    }
    auto& task = out["tasks"][columns[t]];
    task["n"] = rows.size();
    auto sub = [&](std::span<const double> w) {
      std::vector<double> out_w;
      if (w.empty()) return out_w;
      out_w.resize(rows.size());
      for (size_t k = 0; k < rows.size(); ++k) out_w[k] = w[rows[k]];
      return out_w;
    };
    if (kind == TaskKind::kRegression) {
      for (const auto& [name, fn] :
           std::vector<std::pair<std::string,
                                 MetricValue (*)(std::span<const double>, std::span<const double>,
                                                 std::span<const double>)>>{
               {"pearson", pearson}, {"spearman", spearman}, {"mse", mean_squared_error}})
        task[name] = paired(
            static_cast<int64_t>(n),
            [&, fn = fn](std::span<const double> w, int run) {
              const auto ww = sub(w);
              return fn(y, run == 0 ? a : b, ww);
            },
            o, name == "mse");
      continue;
    }
    std::vector<int> yi(y.begin(), y.end());
    for (int v : yi)
      STRAND_CHECK(v == 0 || v == 1, "compare: task '{}' label {} is not 0 or 1", columns[t], v);
    const auto order_a = order_by_score_descending(a), order_b = order_by_score_descending(b);
    const auto dl = delong_test(yi, a, b);
    task["auroc"] = {{"a", nullptr}, {"b", nullptr}};
    if (dl.defined)
      task["auroc"] = {{"a", dl.auc_a}, {"b", dl.auc_b}, {"difference", dl.difference}};
    task["auroc"]["delong"] = delong_json(dl, o.alpha);
    task["auroc"]["verdict"] = task["auroc"]["delong"]["verdict"];
    task["auprc"] = paired(
        static_cast<int64_t>(n),
        [&](std::span<const double> w, int run) {
          const auto ww = sub(w);
          return run == 0 ? average_precision_sorted(yi, a, order_a, ww)
                          : average_precision_sorted(yi, b, order_b, ww);
        },
        o);
  }
  return out;
}

}  // namespace strand::rules
