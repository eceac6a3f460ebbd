// The one number a summary leads with, worded by the data (Rule 9): AUPRC against its chance
// level (the prevalence) when positives are rare, AUROC otherwise; accuracy only when classes are
// balanced (else macro AUROC and balanced accuracy); Pearson for regression.
#pragma once

#include <nlohmann/json.hpp>

namespace strand::rules {

struct HeadlineOptions {
  double rare_prevalence = 0.10;  // the rarest task's positives below this: lead with AUPRC
  double balanced_ratio = 1.5;    // multi-class: largest / smallest class count at most this
};

// panel: a rules panel (binary_panel, multiclass_panel, regression_panel). Returns {"metric",
// "value", "chance" (what a model without signal scores), "why", "sentence"}.
nlohmann::json headline_of(const nlohmann::json& panel, const HeadlineOptions& options = {});

}  // namespace strand::rules
