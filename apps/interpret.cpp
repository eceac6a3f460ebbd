// `strand interpret ...`: Rule 8, looking inside a trained model (interpret/ holds the methods).
// Each method is one subcommand, added by its own add_interpret_* function.
#include <algorithm>

#include "apps/commands.h"
#include "core/error.h"
#include "core/suggest.h"

namespace strand::apps {

std::vector<int64_t> task_columns(const std::vector<std::string>& wanted,
                                  const std::vector<std::string>& names) {
  std::vector<int64_t> columns;
  for (const auto& t : wanted) {
    const auto it = std::find(names.begin(), names.end(), t);
    STRAND_CHECK(it != names.end(), "--task '{}' is not an output of the model{} (its tasks: {})",
                 t, did_you_mean(t, names), names);
    columns.push_back(it - names.begin());
  }
  if (columns.empty()) {
    for (size_t t = 0; t < names.size(); ++t) columns.push_back(static_cast<int64_t>(t));
  }
  return columns;
}

void add_interpret_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "interpret", "Look inside a trained model: mutagenesis, attributions and motifs (Rule 8)");
  cmd->require_subcommand(1);
  add_interpret_ism(*cmd);
  add_interpret_filters(*cmd);
  add_interpret_motifs(*cmd);
  add_interpret_attributions(*cmd);
}

}  // namespace strand::apps
