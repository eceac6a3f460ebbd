// The subcommands of the `strand` program: each file in apps/ defines one add_*_command, and
// main.cpp lists them. A command reports bad input by throwing strand::Error; main turns that into
// a one-line reason and a non-zero exit.
#pragma once

#include <CLI/CLI.hpp>

namespace strand::apps {

void add_info_command(CLI::App& app);
void add_rules_commands(CLI::App& app);    // check splits|data, metrics, baseline, compare
void add_train_commands(CLI::App& app);    // train, simulate, eval, predict
void add_privacy_commands(CLI::App& app);  // privacy epsilon|sigma
void add_export_command(CLI::App& app);
void add_audit_commands(CLI::App& app);  // audit membership

}  // namespace strand::apps
