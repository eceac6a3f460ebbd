// `strand info`: what this build contains (version, commit, CUDA, MPI).
#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/commands.h"

namespace strand::apps {

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print what this build of strand contains");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Machine-readable output");
  cmd->callback([json] {
    nlohmann::json out = {{"version", STRAND_VERSION},
                          {"commit", STRAND_GIT_COMMIT},
                          {"cuda", STRAND_WITH_CUDA == 1},
                          {"mpi", STRAND_WITH_MPI == 1}};
    if (*json) {
      std::cout << out.dump() << "\n";
      return;
    }
    std::cout << "strand " << STRAND_VERSION << " (" << STRAND_GIT_COMMIT << ")\n"
              << "  CUDA backend: " << (STRAND_WITH_CUDA ? "built" : "not built") << "\n"
              << "  MPI:          " << (STRAND_WITH_MPI ? "built" : "not built") << "\n";
  });
}

}  // namespace strand::apps
