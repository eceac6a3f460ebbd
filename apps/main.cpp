// Entry point of the `strand` program: builds the CLI11 command tree and maps errors to exit codes.
#include <filesystem>
#include <iostream>

#include "apps/commands.h"
#include "core/error.h"
#include "core/omp_wait.h"
#include "core/suggest.h"
#include "core/version.h"
#include "runtime/file_io.h"
#include "runtime/launch.h"

namespace {

// The subcommand the user reached ("strand check splits ..." -> splits), and its full name.
const CLI::App* deepest(const CLI::App& app, std::string& path) {
  const CLI::App* at = &app;
  path = "strand";
  while (!at->get_subcommands().empty()) {
    at = at->get_subcommands().front();
    path += " " + at->get_name();
  }
  return at;
}

// CLI11's error in one line; for an argument it did not expect (an unknown flag, or an unknown
// subcommand, which CLI11 reports as a missing one), the closest valid flag or subcommand.
std::string explain(const CLI::App& app, const CLI::ParseError& e) {
  std::string path;
  const CLI::App* at = deepest(app, path);
  std::vector<std::string> flags, subcommands;
  for (const CLI::Option* opt : at->get_options()) {
    for (const auto& name : opt->get_lnames()) flags.push_back("--" + name);
    for (const auto& name : opt->get_snames()) flags.push_back("-" + name);
  }
  for (const CLI::App* sub : at->get_subcommands([](const CLI::App*) { return true; }))
    subcommands.push_back(sub->get_name());
  for (std::string arg : at->remaining()) {
    if (arg.rfind("-", 0) == 0) {
      arg = arg.substr(0, arg.find('='));
      return strand::format("{}: unknown option '{}'{} (see {} --help)", path, arg,
                            strand::did_you_mean(arg, flags), path);
    }
    if (!subcommands.empty())
      return strand::format("{}: unknown command '{}'{} (see {} --help)", path, arg,
                            strand::did_you_mean(arg, subcommands), path);
  }
  return strand::format("{}: {} (see {} --help)", path, e.what(), path);
}

std::string recorded_command_line;

}  // namespace

namespace strand::apps {

void set_command_line(int argc, const char* const* argv) {
  recorded_command_line.clear();
  for (int i = 0; i < argc; ++i) {
    std::string arg = i == 0 ? "strand" : argv[i];
    if (arg.empty() || arg.find_first_of(" \t'\"$`\\*?;&|<>()") != std::string::npos) {
      std::string quoted = "'";
      for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      arg = quoted + "'";
    }
    recorded_command_line += (i ? " " : "") + arg;
  }
}

const std::string& command_line() { return recorded_command_line; }

}  // namespace strand::apps

int main(int argc, char** argv) {
  strand::choose_omp_wait_policy(argv);
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
  strand::apps::add_interpret_commands(app);
  strand::apps::add_report_command(app);
  strand::apps::add_score_variants_command(app);
  strand::apps::set_command_line(argc, argv);
  try {
    app.parse(argc, argv);
    strand::runtime::flush_stdout();  // a full disk or closed pipe must not exit 0
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << explain(app, e) << "\n";
    return e.get_exit_code();
  } catch (const strand::Error& e) {
    std::cerr << "strand: " << e.message() << std::endl;
    strand::runtime::fail_job_under_recovery();  // so mpirun --enable-recovery exits non-zero
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    // "'out/run': cannot create directories: Not a directory", not libstdc++'s "filesystem error:
    // cannot create directories: Not a directory [out/run]".
    std::string what = e.what();
    const std::string prefix = "filesystem error: ";
    if (what.rfind(prefix, 0) == 0) what.erase(0, prefix.size());
    if (const auto bracket = what.find(" ["); bracket != std::string::npos) what.erase(bracket);
    std::string where = "'" + e.path1().string() + "'";
    if (!e.path2().empty()) where += " -> '" + e.path2().string() + "'";
    std::cerr << "strand: " << (e.path1().empty() ? what : where + ": " + what) << std::endl;
    strand::runtime::fail_job_under_recovery();
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "strand: " << e.what() << std::endl;
    strand::runtime::fail_job_under_recovery();
    return 1;
  }
  return 0;
}
