// The metrics tables train, eval and tune print: one row per task (AUROC/AUPRC, or Pearson/MSE
// for regression; accuracy and macro AUROC for multi-class) from a metrics panel's JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace strand::apps {

// "0.1234", or "  -   " for a missing (non-numeric) value.
std::string fmt(const nlohmann::json& v);

// Rows of "name  valid metrics  test metrics" for the panel kind (eval: one panel, prefix "").
void print_table(const nlohmann::json& valid, const nlohmann::json& test,
                 const std::string& first = "v.", const std::string& second = "t.");

}  // namespace strand::apps
