// The headline metric of a panel; see headline.h.
#include "rules/headline.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "rules/report.h"

namespace strand::rules {
namespace {

double num(const nlohmann::json& obj, const char* key) {
  return obj.contains(key) && obj[key].is_number() ? obj[key].get<double>()
                                                   : std::numeric_limits<double>::quiet_NaN();
}

std::string f(double v) { return std::isnan(v) ? "undefined" : fixed(v, 4); }

}  // namespace

nlohmann::json headline_of(const nlohmann::json& panel, const HeadlineOptions& o) {
  const std::string kind = panel.value("kind", "");
  std::string metric, why, sentence;
  double value = 0, chance = 0;
  if (kind == "multiclass") {
    double smallest = INFINITY, largest = 0, total = 0;
    for (const auto& [_, c] : panel["class_counts"].items()) {
      smallest = std::min(smallest, c.get<double>()), largest = std::max(largest, c.get<double>());
      total += c.get<double>();
    }
    const size_t C = panel["class_counts"].size();
    const bool balanced = smallest > 0 && largest / smallest <= o.balanced_ratio;
    if (balanced) {
      metric = "accuracy", value = num(panel, "accuracy"), chance = total > 0 ? largest / total : 0;
      why = strand::format("classes are balanced (largest / smallest count {} <= {})",
                           fixed(largest / smallest, 2), o.balanced_ratio);
      sentence =
          strand::format("accuracy {} (chance: always the majority class, {}); macro AUROC {}",
                         f(value), f(chance), f(num(panel, "macro_auroc")));
    } else {
      metric = "macro_auroc", value = num(panel, "macro_auroc"), chance = 0.5;
      why = strand::format(
          "classes are imbalanced (largest / smallest count {} > {}): accuracy would reward "
          "predicting the majority class",
          smallest > 0 ? fixed(largest / smallest, 2) : std::string("inf"), o.balanced_ratio);
      sentence = strand::format(
          "macro AUROC {} (chance 0.5); balanced accuracy {} (chance {}); plain accuracy {} is "
          "not the headline: the majority class alone scores {}",
          f(value), f(num(panel, "balanced_accuracy")), f(C ? 1.0 / C : 0),
          f(num(panel, "accuracy")), f(total > 0 ? largest / total : 0));
    }
  } else if (kind == "regression") {
    metric = "pearson", value = num(panel["macro"], "pearson"), chance = 0;
    why = "regression";
    sentence =
        strand::format("Pearson r {} (chance 0); MSE {}", f(value), f(num(panel["macro"], "mse")));
  } else {
    double rarest = INFINITY;
    std::string rarest_task;
    for (const auto& [task, t] : panel["tasks"].items()) {
      const double p = num(t, "prevalence");
      if (!std::isnan(p) && p < rarest) rarest = p, rarest_task = task;
    }
    const double auroc = num(panel["macro"], "auroc"), auprc = num(panel["macro"], "auprc");
    const double prevalence = num(panel["macro"], "prevalence");
    if (rarest < o.rare_prevalence) {
      metric = "auprc", value = auprc, chance = prevalence;
      why = strand::format(
          "positives are rare ({} of '{}' below {}): AUROC is dominated by the many easy "
          "negatives",
          fixed(rarest, 4), rarest_task, o.rare_prevalence);
      sentence = strand::format(
          "AUPRC {} against a chance level of {} (the prevalence; positives are rare, {} in "
          "'{}'); AUROC {} flatters under imbalance",
          f(value), f(chance), fixed(rarest, 4), rarest_task, f(auroc));
    } else {
      metric = "auroc", value = auroc, chance = 0.5;
      why = strand::format("positives are not rare (the rarest task's prevalence {} >= {})",
                           fixed(rarest, 4), o.rare_prevalence);
      sentence = strand::format("AUROC {} (chance 0.5); AUPRC {} against prevalence {}", f(value),
                                f(auprc), f(prevalence));
    }
  }
  return {{"metric", metric},
          {"value", std::isnan(value) ? nlohmann::json() : nlohmann::json(value)},
          {"chance", chance},
          {"why", why},
          {"sentence", sentence}};
}

}  // namespace strand::rules
