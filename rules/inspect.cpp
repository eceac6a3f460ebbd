// Data inspection for `strand check data`; see inspect.h.
#include "rules/inspect.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "rules/features.h"
#include "rules/metrics.h"

namespace strand::rules {
namespace {

const char* kSplitNames[] = {"train", "valid", "test"};

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const auto lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

nlohmann::json distribution(const std::vector<double>& v) {
  if (v.empty()) return nullptr;
  double sum = 0;
  for (double x : v) sum += x;
  return {{"min", quantile(v, 0)},  {"p5", quantile(v, 0.05)},  {"median", quantile(v, 0.5)},
          {"mean", sum / v.size()}, {"p95", quantile(v, 0.95)}, {"max", quantile(v, 1)}};
}

// AUROC of a single feature, direction learned: max(A, 1 - A), as a one-feature model would get.
MetricValue one_feature_auroc(const std::vector<int>& y, const std::vector<double>& x) {
  auto a = roc_auc(y, x);
  if (a.defined) a.value = std::max(a.value, 1 - a.value);
  return a;
}

}  // namespace

InspectInput inspect_input(LabelledSequences all) {
  InspectInput in;
  in.kind = all.kind;
  in.tasks = std::move(all.tasks);
  in.classes = std::move(all.classes);
  in.names = std::move(all.names);
  in.seqs = std::move(all.seqs);
  in.labels = std::move(all.labels);
  in.split = std::move(all.split);
  return in;
}

nlohmann::json inspect_data(const InspectInput& in, const InspectOptions& o) {
  return inspect_data(in, MemorySequences(in.seqs), o);
}

nlohmann::json inspect_data(const InspectInput& in, const SequenceStream& seqs,
                            const InspectOptions& o) {
  const size_t n = static_cast<size_t>(seqs.size()), T = in.tasks.size();
  STRAND_CHECK(n > 0, "check data: no sequences");
  STRAND_CHECK(T > 0, "check data: no label columns");
  STRAND_CHECK(in.labels.size() == n * T, "check data: {} labels for {} sequences x {} tasks",
               in.labels.size(), n, T);
  STRAND_CHECK(in.split.empty() || in.split.size() == n, "check data: {} split labels for {} rows",
               in.split.size(), n);
  nlohmann::json out = {{"n", n}};
  std::vector<std::string> warnings;

  if (!in.split.empty()) {
    std::vector<int64_t> counts(3, 0);
    for (int s : in.split) {
      STRAND_CHECK(s >= 0 && s < 3, "check data: split {} is not 0, 1 or 2", s);
      ++counts[s];
    }
    for (int s = 0; s < 3; ++s) out["splits"][kSplitNames[s]] = counts[s];
  }

  // Duplicates inside each split (or the whole set when there are no splits), and the
  // per-record statistics from the same read.
  std::vector<double> lengths(n), gc(n), nfrac(n);
  LeakageOptions dup = o.duplicates;
  dup.scope = PairScope::kWithinSplit;
  const std::vector<int> one_split(n, 0);
  const auto report = find_duplicates(seqs, in.split.empty() ? one_split : in.split, dup,
                                      [&](int64_t i, std::string_view s) {
                                        lengths[i] = static_cast<double>(s.size());
                                        gc[i] = gc_fraction(s);
                                        nfrac[i] = unknown_fraction(s);
                                      });
  out["length"] = distribution(lengths);
  const bool variable_length = quantile(lengths, 0) != quantile(lengths, 1);
  out["length"]["variable"] = variable_length;
  out["gc"] = distribution(gc);
  const auto with_n = std::count_if(nfrac.begin(), nfrac.end(), [](double f) { return f > 0; });
  const auto mostly_n = std::count_if(nfrac.begin(), nfrac.end(), [](double f) { return f > 0.1; });
  out["n_content"] = {{"mean_fraction", distribution(nfrac)["mean"]},
                      {"sequences_with_n", with_n},
                      {"sequences_over_10_percent_n", mostly_n}};
  if (mostly_n > 0)
    warnings.push_back(strand::format("{} sequences are more than 10% N", mostly_n));

  // Per-task class balance and confounds.
  auto per_task = [&](const std::string& name, const std::vector<int>& y,
                      const std::vector<double>& g, const std::vector<double>& len,
                      nlohmann::json& task) {
    double pos = 0;
    for (int v : y) pos += v;
    const double frac = y.empty() ? 0 : pos / y.size();
    const double minority = std::min(frac, 1 - frac);
    task["n"] = y.size();
    task["positives"] = pos;
    task["prevalence"] = frac;
    std::string balance = "balanced";
    if (y.empty() || pos == 0 || pos == y.size()) {
      balance = "one class";
      warnings.push_back(strand::format("task '{}' has only one class", name));
    } else if (minority < o.imbalance_extreme) {
      balance = "extreme";
    } else if (minority < o.imbalance_warn) {
      balance = "imbalanced";
    }
    task["balance"] = balance;
    if (balance == "balanced") {
      task["trust"] = {"auroc", "auprc", "accuracy", "mcc", "f1"};
    } else {
      task["trust"] = {"auprc (against the prevalence)", "mcc", "balanced_accuracy",
                       "f1 at the F1-optimal threshold"};
      task["distrust"] = {"accuracy", "auroc alone"};
      if (balance != "one class")
        warnings.push_back(strand::format(
            "task '{}' is {} (prevalence {}): trust AUPRC against the prevalence, MCC and "
            "balanced accuracy, not accuracy or AUROC alone",
            name, balance, frac));
    }
    std::vector<double> gp, gn;
    for (size_t i = 0; i < y.size(); ++i) (y[i] ? gp : gn).push_back(g[i]);
    task["gc_mean_positive"] = gp.empty() ? nlohmann::json(nullptr) : distribution(gp)["mean"];
    task["gc_mean_negative"] = gn.empty() ? nlohmann::json(nullptr) : distribution(gn)["mean"];
    const auto gca = one_feature_auroc(y, g);
    put_metric(task, "gc_only_auroc", gca);
    task["gc_confound"] = gca.defined && gca.value >= o.confound_auroc;
    if (task["gc_confound"])
      warnings.push_back(strand::format(
          "task '{}': GC content alone reaches AUROC {} (GC confound): compare models against "
          "the GC-only baseline or match GC between classes",
          name, gca.value));
    if (variable_length) {
      const auto la = one_feature_auroc(y, len);
      put_metric(task, "length_only_auroc", la);
      if (la.defined && la.value >= o.confound_auroc)
        warnings.push_back(strand::format(
            "task '{}': sequence length alone reaches AUROC {} (length confound)", name, la.value));
    }
  };

  if (in.kind == TaskKind::kBinary) {
    for (size_t t = 0; t < T; ++t) {
      std::vector<int> y;
      std::vector<double> g, len;
      for (size_t i = 0; i < n; ++i) {
        const double v = in.labels[i * T + t];
        if (std::isnan(v)) continue;
        STRAND_CHECK(v == 0 || v == 1, "check data: task '{}' label {} is not 0 or 1", in.tasks[t],
                     v);
        y.push_back(static_cast<int>(v));
        g.push_back(gc[i]);
        len.push_back(lengths[i]);
      }
      per_task(in.tasks[t], y, g, len, out["tasks"][in.tasks[t]]);
      if (!in.split.empty()) {
        for (int s = 0; s < 3; ++s) {
          double c = 0, p = 0;
          for (size_t i = 0; i < n; ++i) {
            const double v = in.labels[i * T + t];
            if (in.split[i] != s || std::isnan(v)) continue;
            c += 1;
            p += v;
          }
          out["tasks"][in.tasks[t]]["prevalence_by_split"][kSplitNames[s]] =
              c > 0 ? nlohmann::json(p / c) : nlohmann::json(nullptr);
          if (c > 0 && (p == 0 || p == c))
            warnings.push_back(
                strand::format("task '{}' has one class only in the {} split: "
                               "AUROC and AUPRC are undefined there",
                               in.tasks[t], kSplitNames[s]));
        }
      }
    }
  } else if (in.kind == TaskKind::kMultiClass) {
    const size_t C = in.classes.size();
    std::vector<double> counts(C, 0);
    for (size_t i = 0; i < n; ++i) {
      const double v = in.labels[i];
      STRAND_CHECK(!std::isnan(v) && v >= 0 && v < C, "check data: class {} out of range", v);
      counts[static_cast<size_t>(v)] += 1;
    }
    for (size_t c = 0; c < C; ++c) {
      std::vector<int> y(n);
      for (size_t i = 0; i < n; ++i) y[i] = in.labels[i] == static_cast<double>(c);
      per_task(in.classes[c] + " vs rest", y, gc, lengths, out["classes"][in.classes[c]]);
    }
  } else {
    for (size_t t = 0; t < T; ++t) {
      std::vector<double> y, g;
      for (size_t i = 0; i < n; ++i)
        if (!std::isnan(in.labels[i * T + t])) {
          y.push_back(in.labels[i * T + t]);
          g.push_back(gc[i]);
        }
      auto& task = out["tasks"][in.tasks[t]];
      task["values"] = distribution(y);
      const auto r = spearman(y, g);
      put_metric(task, "gc_spearman", r);
      if (r.defined && std::abs(r.value) >= 0.3)
        warnings.push_back(
            strand::format("task '{}': GC content correlates with the target "
                           "(Spearman {}): compare against the GC-only baseline",
                           in.tasks[t], r.value));
    }
  }

  // Label correlation between tasks (multi-label and multi-task regression).
  out["label_correlation"] = nlohmann::json::array();
  if (in.kind != TaskKind::kMultiClass && T > 1) {
    for (size_t a = 0; a < T; ++a)
      for (size_t b = a + 1; b < T; ++b) {
        std::vector<double> x, y;
        for (size_t i = 0; i < n; ++i) {
          const double u = in.labels[i * T + a], v = in.labels[i * T + b];
          if (std::isnan(u) || std::isnan(v)) continue;
          x.push_back(u);
          y.push_back(v);
        }
        nlohmann::json pair = {{"a", in.tasks[a]}, {"b", in.tasks[b]}};
        const auto r = x.size() > 1 ? pearson(x, y) : MetricValue::undefined("too few rows");
        put_metric(pair, "pearson", r);
        out["label_correlation"].push_back(pair);
        if (r.defined && std::abs(r.value) >= o.correlation_warn)
          warnings.push_back(
              strand::format("tasks '{}' and '{}' have nearly the same labels "
                             "(r = {})",
                             in.tasks[a], in.tasks[b], r.value));
      }
  }

  out["duplicates_within_split"] = {{"exact", report.exact},
                                    {"reverse_complement", report.reverse_complement},
                                    {"near_duplicate", report.near_duplicate}};
  const int64_t dups = report.exact + report.reverse_complement + report.near_duplicate;
  if (dups > 0)
    warnings.push_back(strand::format(
        "{} duplicate pairs within splits ({} exact, {} reverse complement, {} near): they "
        "over-weight those sequences and can inflate validation scores",
        dups, report.exact, report.reverse_complement, report.near_duplicate));
  out["warnings"] = warnings;
  out["verdict"] = warnings.empty() ? "ok" : "warn";
  return out;
}

}  // namespace strand::rules
