// `strand interpret ...`: Rule 8, looking inside a trained model (interpret/ holds the methods).
// Each method is one subcommand, added by its own add_interpret_* function.
#include "apps/commands.h"

namespace strand::apps {

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
