// The subcommands of the `strand` program: each file in apps/ defines one add_*_command, and
// main.cpp lists them. A command reports bad input by throwing strand::Error; main turns that into
// a one-line reason and a non-zero exit.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace strand::data {
struct DataSource;
}

namespace strand::apps {

// For seeds, windows and sizes: CLI11 would wrap "-1" into a huge unsigned seed.
inline CLI::Validator non_negative() {
  return CLI::Validator(
      [](std::string& s) { return s.rfind('-', 0) == 0 ? "must not be negative, got " + s : ""; },
      "NON-NEGATIVE");
}

// The command line as the user typed it (main records it), quoted where needed so it can be
// pasted back into a shell: run.json keeps it and the report shows it.
void set_command_line(int argc, const char* const* argv);
const std::string& command_line();

// The unlabelled sequences a trained model reads (data::open_sequences): --fasta, or --bed with
// --genome. Shared by predict and the interpret commands.
inline void add_sequence_options(CLI::App* cmd, std::string& fasta, std::string& bed,
                                 std::string& genome) {
  cmd->add_option("--fasta", fasta, "Sequences of the model's input length");
  cmd->add_option("--bed", bed, "BED intervals (windows centred on them; needs --genome)");
  cmd->add_option("--genome", genome, "Indexed reference FASTA for --bed windows");
}

// The one set of labelled-data flags (apps/data_options.cpp), shared by train, eval, tune, check
// splits|data|all and baseline: --fasta with --labels, or --bed with --genome and --window;
// --task (the label kind); with splits also --split-method, --test-chroms, --valid-chroms,
// --test-fraction, --valid-fraction, --split-seed. The older spellings --reference (for
// --genome) and --kind (for --task) still work, hidden, with a one-line deprecation note.
void add_data_options(CLI::App* cmd, data::DataSource& source, bool splits = true);
// --task alone (metrics, compare: labels without sequences), with its --kind alias.
CLI::Option* add_task_option(CLI::App* cmd, std::string& task);
// CUDA arithmetic (layers/gpu_math.h) for train, eval and predict; an error on a CPU run.
inline void add_gpu_math_options(CLI::App* cmd, std::string& conv_algo, bool& tf32,
                                 std::string& rnn_algo) {
  cmd->add_option("--conv-algo", conv_algo,
                  "CUDA conv1d: auto (custom and cuDNN timed per shape, the faster kept), custom "
                  "(strand's implicit GEMM) or cudnn")
      ->capture_default_str();
  cmd->add_flag("--tf32", tf32,
                "CUDA: fp32 convolutions and matrix products on TF32 tensor cores (~1e-3 "
                "relative error)");
  cmd->add_option("--rnn-algo", rnn_algo,
                  "CUDA LSTM/GRU: auto (strand's recurrence, cuDNN where it fails its first-use "
                  "check), custom, cluster, persistent, step-gemm, cudnn, cudnn-persist-static or "
                  "cudnn-persist-small-h")
      ->capture_default_str();
}

void add_info_command(CLI::App& app);
void add_rules_commands(CLI::App& app);  // check splits|data, metrics, baseline, compare
void add_train_commands(CLI::App& app);  // train, tune, simulate, eval, predict (in that order)
void add_tune_command(CLI::App& app);
void add_simulate_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_privacy_commands(CLI::App& app);  // privacy epsilon|sigma
void add_export_command(CLI::App& app);
void add_audit_commands(CLI::App& app);      // audit membership
void add_interpret_commands(CLI::App& app);  // interpret <method>
void add_report_command(CLI::App& app);
void add_interpret_ism(CLI::App& interpret);
void add_score_variants_command(CLI::App& app);
void add_interpret_filters(CLI::App& interpret);
void add_interpret_motifs(CLI::App& interpret);
void add_interpret_attributions(CLI::App& interpret);

}  // namespace strand::apps
