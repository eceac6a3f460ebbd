// Entry point of the `strand` program: builds the CLI11 command tree and maps errors to exit codes.
#include <iostream>

#include "apps/commands.h"
#include "kernels/error.h"
#include "kernels/version.h"

int main(int argc, char** argv) {
  CLI::App app{"strand: deep learning for genomic sequences, with the ten rules built in"};
  app.require_subcommand(1);
  app.set_version_flag("--version",
                       std::string(strand::version()) + " (" + strand::git_commit() + ")");
  strand::apps::add_info_command(app);
  strand::apps::add_rules_commands(app);
  strand::apps::add_train_commands(app);
  strand::apps::add_privacy_commands(app);
  strand::apps::add_export_command(app);
  strand::apps::add_audit_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const strand::Error& e) {
    std::cerr << "strand: " << e.message() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "strand: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
