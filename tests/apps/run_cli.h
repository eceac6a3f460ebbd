// Runs the built `strand` program (STRAND_CLI_PATH) as a user would and captures its output, for
// the command-line tests of the privacy, export and audit commands.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace strand::apps::cli_test {

struct CliResult {
  int status = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, capturing its output.
inline CliResult run_shell(const std::string& command) {
  CliResult run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return run;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    run.output.append(buffer.data(), n);
  }
  const int status = ::pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// stdout_to: a file for standard output alone (then `output` is stderr). prefix: shell commands
// run first in the same shell (ulimit, trap).
inline CliResult run_strand(const std::string& args, const std::string& dir = ".",
                            const std::string& stdout_to = "", const std::string& prefix = "") {
  return run_shell("cd '" + dir + "' && " + prefix + "'" STRAND_CLI_PATH "' " + args + " 2>&1" +
                   (stdout_to.empty() ? "" : " >'" + stdout_to + "'"));
}

// An empty directory of its own under the system temp dir, for one test's files.
inline std::filesystem::path fresh_dir(const std::string& tag) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("strand_" + tag + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace strand::apps::cli_test
