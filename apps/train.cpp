// `strand train`: the trainer on FASTA + labels, BED + genome, or with no data the built-in
// simulated dataset. The run itself is train::run_training (train/pipeline); this file parses the
// flags and prints the outcome.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "apps/commands.h"
#include "apps/tables.h"
#include "core/error.h"
#include "report/report.h"
#include "runtime/comm.h"
#include "runtime/file_io.h"
#include "train/pipeline.h"

namespace strand::apps {
namespace {

struct TrainArgs {
  train::RunOptions run;
  std::string config_file;  // --config: a JSON TrainConfig; command-line flags win over it
  bool json = false;
  bool report = false;  // --report: DIR/report.html at the end
  // Data parallel (under mpirun / srun / RANK+WORLD_SIZE; ignored in a single process).
  double bucket_mb = 25;
  bool zero1 = false;
  std::string grad_compression = "none";
  double comm_timeout_s = 300;
};

// The training config of --config FILE (train::config_from_json: an unknown key names the closest
// valid one) with the flags given on the command line applied over it.
train::TrainConfig config_with_file(const CLI::App& cmd, const std::string& path,
                                    const train::TrainConfig& flags) {
  const nlohmann::json file = runtime::read_json_file(path, "config file");
  nlohmann::json merged;
  try {
    merged = train::to_json(train::config_from_json(file));
  } catch (const Error& e) {
    STRAND_FAIL("config file '{}': {}", path, e.message());
  }
  const nlohmann::json given = train::to_json(flags);
  for (const auto& [key, value] : given.items()) {
    std::string flag = "--" + key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (key == "reverse_complement") flag = "--rc-augment";
    if (key == "progress") flag = "--no-progress";
    const CLI::Option* opt = cmd.get_option_no_throw(flag);
    if (opt != nullptr && opt->count() > 0) merged[key] = value;
  }
  return train::config_from_json(merged);
}

// The communicator of a data-parallel launch (mpirun, srun, RANK/WORLD_SIZE), or null for one
// process. Under NCCL each rank trains on the GPU of its local rank.
std::shared_ptr<runtime::Communicator> data_parallel_comm(TrainArgs& a) {
  const runtime::LaunchInfo launch = runtime::detect_launch();
  STRAND_CHECK(a.grad_compression == "none" || a.grad_compression == "bf16",
               "--grad-compression must be none or bf16, got '{}'", a.grad_compression);
  STRAND_CHECK(a.bucket_mb > 0, "--bucket-mb must be positive, got {}", a.bucket_mb);
  STRAND_CHECK(a.comm_timeout_s > 0, "--comm-timeout must be positive, got {}", a.comm_timeout_s);
  if (!launch.distributed()) return nullptr;
  runtime::CommOptions o;
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(a.comm_timeout_s * 1000));
  auto comm = runtime::make_communicator(launch, runtime::Device::parse(a.run.config.device), o);
  a.run.config.device = comm->device().str();
  return comm;
}

// --cv K: the folds instead of one run (DIR/cv.json and DIR/fold-<k>/model.safetensors).
void print_cross_validation(const TrainArgs& a, const nlohmann::json& cv) {
  std::printf("%s\n", cv["sentence"].get<std::string>().c_str());
  std::printf("pooled out-of-fold predictions (%s rows): %s\n", cv["rows"].dump().c_str(),
              cv["headline"]["sentence"].get<std::string>().c_str());
  print_table(cv["pooled"], nlohmann::json(), "", "");
  std::printf("tuning: %s\n", cv["tuning"].get<std::string>().c_str());
  for (const auto& f : cv["per_fold"])
    if (f.contains("tuning") && f["tuning"].value("ran", false))
      std::printf("  fold %d chose lr %s, batch %s\n", f["fold"].get<int>(),
                  f["tuning"]["chosen"]["lr"].dump().c_str(),
                  f["tuning"]["chosen"]["batch_size"].dump().c_str());
  // Rule 9 per fold: each fold model carries a calibration fitted on its inner validation rows.
  int calibrated = 0, recommended = 0;
  std::string ece;
  for (const auto& f : cv["per_fold"]) {
    if (!f.contains("calibration")) continue;
    const auto& c = f["calibration"];
    ++calibrated, recommended += c["recommended"].get<bool>();
    ece += strand::format("{}{} -> {}", ece.empty() ? "" : ", ", fmt(c["held_out_ece_before"]),
                          fmt(c["held_out_ece_after"]));
  }
  if (calibrated > 0)
    std::printf(
        "calibration: recommended (on each fold's inner validation rows) in %d of %d folds; "
        "held-out ECE before -> after: %s; strand predict --ensemble ... --calibrated applies "
        "each fold's\n",
        recommended, calibrated, ece.c_str());
  std::printf(
      "wrote %s/cv.json, %d fold models (%s/fold-*/model.safetensors; use them as an "
      "ensemble: strand predict --ensemble) and the pooled out-of-fold predictions "
      "(%s/scores.tsv, labels.tsv; strand compare pairs them with strand baseline --cv's)\n",
      a.run.out.c_str(), a.run.cv, a.run.out.c_str(), a.run.out.c_str());
}

// --learning-curve: DIR/learning_curve.json, the validation score at each training fraction.
void print_learning_curve(const TrainArgs& a, const nlohmann::json& curve) {
  std::printf("%s\nwrote %s/learning_curve.json\n", curve["sentence"].get<std::string>().c_str(),
              a.run.out.c_str());
}

void run_train(TrainArgs& a) {
  auto& o = a.run;
  o.parallel.comm = data_parallel_comm(a);
  o.parallel.reducer = {.bucket_mb = a.bucket_mb, .bf16_compression = a.grad_compression == "bf16"};
  o.parallel.zero1 = a.zero1;
  if (!a.json) o.note = [](const std::string& line) { std::printf("%s\n", line.c_str()); };
  o.command = command_line();
  const train::RunReport outcome = train::run_training(o);
  if (outcome.metrics.is_null()) return;  // ranks other than 0 report nothing
  if (a.report) {
    report::write_report({.run_dir = o.out}, o.out + "/report.html");
    if (!a.json) std::printf("wrote %s/report.html\n", o.out.c_str());
  }
  if (a.json) {
    std::cout << outcome.metrics.dump(2) << "\n";
    return;
  }
  if (o.cv > 0) return print_cross_validation(a, outcome.metrics);
  if (o.learning_curve) return print_learning_curve(a, outcome.metrics);
  const nlohmann::json& metrics = outcome.metrics;
  const train::TrainResult& r = outcome.result;
  const auto& a_out = a.run.out;
  const nlohmann::json& info = metrics["model"];
  std::printf("model %s, %s, %lld outputs; %s\n", info["name"].get<std::string>().c_str(),
              info["kind"].get<std::string>().c_str(),
              static_cast<long long>(info["outputs"].get<int64_t>()),
              metrics["splits"].get<std::string>().c_str());
  if (metrics["default_tuning"].is_object())
    std::printf("%s\n", metrics["default_tuning"]
                            .value("sentence", metrics["default_tuning"].value("reason", ""))
                            .c_str());
  std::printf("trained %lld epochs (%lld steps) at %.0f samples/s in %.1f s; %s\n",
              static_cast<long long>(r.epochs), static_cast<long long>(r.steps),
              r.samples_per_second, metrics["seconds"].get<double>(), r.stop_reason.c_str());
  std::printf("chosen checkpoint: epoch %lld by validation %s %.4f; test unsealed for the %s\n",
              static_cast<long long>(r.best_epoch), r.monitor.c_str(), r.best_metric,
              outcome.test_reason.c_str());
  if (r.dp) {
    std::printf(
        "DP-SGD: epsilon %.3f at delta %.1e spent (%s accountant; noise multiplier %.3f, "
        "clipping norm %g, sampling rate %.4g, %lld steps)%s\n",
        r.epsilon, r.delta, a.run.config.dp.accountant.c_str(), r.noise_multiplier,
        a.run.config.dp.max_grad_norm, r.sampling_rate, static_cast<long long>(r.steps),
        r.dp_guaranteed ? ""
                        : "; shuffled fixed-size batches: NOT covered by the guarantee, "
                          "which assumes Poisson sampling");
  }
  std::printf("headline (%s): %s\n", metrics["headline"]["split"].get<std::string>().c_str(),
              metrics["headline"]["sentence"].get<std::string>().c_str());
  print_table(metrics["valid"], metrics["test"]);
  std::printf("%s\n", metrics["overfitting"]["sentence"].get<std::string>().c_str());
  if (metrics.contains("permutation"))
    std::printf("permutation test: %s\n",
                metrics["permutation"]["sentence"].get<std::string>().c_str());
  if (metrics.contains("calibration") && metrics["calibration"].is_object()) {
    const auto& c = metrics["calibration"];
    std::printf("calibration (%s, fitted on %zu valid rows): test ECE %s before, %s after\n",
                c["method"].get<std::string>().c_str(), static_cast<size_t>(outcome.valid_rows),
                fmt(c["test"]["before"]["ece"]).c_str(), fmt(c["test"]["after"]["ece"]).c_str());
    const auto& v = c["valid_cross_fitted"];
    std::printf(
        "  on valid alone (each fifth calibrated by a fit on the rest) log loss %s -> %s: %s\n",
        fmt(v["log_loss_before"]).c_str(), fmt(v["log_loss_after"]).c_str(),
        !c["recommended"].get<bool>() ? "not recommended, keep the raw scores"
        : !c["stored"].get<bool>()    ? "recommended, but not stored (fitted without DP noise)"
                                      : "recommended: strand predict --calibrated applies it");
  }
  if (metrics.contains("baseline") && metrics["baseline"].contains("error")) {
    std::printf("baseline comparison failed: %s\n",
                metrics["baseline"]["error"].get<std::string>().c_str());
  } else if (metrics.contains("baseline")) {
    const auto& b = metrics["baseline"];
    std::printf(
        "strongest baseline on valid: %s (valid %s); against it on test (A = model, B = "
        "baseline): %s\n",
        b["name"].get<std::string>().c_str(),
        fmt(b["candidates"][b["name"].get<std::string>()]).c_str(),
        b["summary"]["sentence"].get<std::string>().c_str());
    std::printf("verdict: %s\n", b["verdict"].get<std::string>().c_str());
  }
  if (metrics["data_checks"]["leakage"]["verdict"] == "fail")
    std::printf("warning: the splits share sequences (Rule 1): %s\n",
                metrics["data_checks"]["leakage"]["sentence"].get<std::string>().c_str());
  for (const auto& w : metrics["data_checks"]["small_data"])
    std::printf("warning: %s\n", w.get<std::string>().c_str());
  std::printf("wrote %s/model.safetensors, %s/log.jsonl, %s/metrics.json%s\n", a_out.c_str(),
              a_out.c_str(), a_out.c_str(), outcome.simulated ? " (data in DIR/data)" : "");
}

void add_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto* cmd =
      app.add_subcommand("train", "Train a model (no arguments: the built-in simulated task)");
  cmd->footer(
      "Examples:\n"
      "  strand train                                   # simulated data, default CNN\n"
      "  strand train --fasta seqs.fa --labels labels.tsv --model deepsea --epochs 10 --out run1\n"
      "  strand train --bed peaks.bed --genome hg38.fa --window 600 --model basset --device cuda\n"
      "  strand train --fasta seqs.fa --labels labels.tsv --model examples/models/deepsea.yaml\n"
      "  strand train --fasta seqs.fa --labels labels.tsv --config train.json --epochs 3\n"
      "Writes DIR/model.safetensors (best epoch), DIR/checkpoint.safetensors (last epoch, for\n"
      "--resume), DIR/log.jsonl and DIR/metrics.json ({\"valid\", \"test\"} of the chosen model).");
  add_data_options(cmd, a->run.data);
  auto& c = a->run.config;
  cmd->add_option("--model", c.model,
                  "cnn, cnn-aligned, deepsea, basset, basset-groupnorm, danq, cnn-small, or a "
                  "YAML model file (examples/models/*.yaml); default: cnn-aligned when the task "
                  "looks aligned (strand check data's diagnosis), else cnn")
      ->capture_default_str();
  cmd->add_option("--epochs", c.epochs, "Training epochs")->capture_default_str();
  cmd->add_option("--max-steps", c.max_steps, "Stop after this many steps (0: use --epochs)");
  cmd->add_option("--batch-size", c.batch_size, "Examples per step")->capture_default_str();
  cmd->add_option("--lr", c.lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--optimizer", c.optimizer, "adam, adamw or sgd")->capture_default_str();
  cmd->add_option("--weight-decay", c.weight_decay, "Weight decay");
  cmd->add_option("--momentum", c.momentum, "SGD momentum");
  cmd->add_option("--schedule", c.schedule, "constant, step or cosine")->capture_default_str();
  cmd->add_option("--warmup-steps", c.warmup_steps, "Linear warm-up steps");
  cmd->add_option("--step-epochs", c.step_epochs, "step schedule: epochs between decays");
  cmd->add_option("--gamma", c.gamma, "step schedule: decay factor");
  cmd->add_option("--clip-norm", c.clip_norm, "Clip the global gradient norm (0: off)");
  cmd->add_option("--monitor", c.monitor,
                  "Validation metric choosing the best epoch: auto, loss, auroc, auprc, "
                  "accuracy, macro_auroc, pearson, ...");
  cmd->add_option("--patience", c.patience, "Early stop after this many epochs without improving");
  cmd->add_option("--seed", c.seed, "Seed of initialisation, dropout and shuffling")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_flag("--rc-augment", c.reverse_complement, "Reverse-complement augmentation");
  cmd->add_flag("--rc-average", c.rc_average,
                "Validate and test on the mean of both strands' predictions");
  cmd->add_flag("--sensitive", c.sensitive,
                "Mark the data sensitive (Rule 10): `strand export` then refuses a model trained "
                "without DP unless overridden");
  cmd->add_option("--device", c.device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--precision", c.precision,
                  "fp32, or bf16 (CUDA, or CPUs with AVX512-BF16/AMX: bf16 matmuls/convolutions, "
                  "fp32 weights)")
      ->capture_default_str();
  add_gpu_math_options(cmd, c.conv_algo, c.tf32, c.rnn_algo);
  cmd->add_option("--log-every", c.log_every, "Steps between step records in log.jsonl");
  cmd->add_flag("!--no-progress", c.progress, "No progress bar");
  cmd->add_flag("--dp", c.dp.enabled,
                "Differentially private training (DP-SGD: per-example clipping, Gaussian noise)");
  cmd->add_option("--target-epsilon", c.dp.target_epsilon,
                  "--dp: the epsilon to reach (the noise multiplier is found for it)");
  cmd->add_option("--noise-multiplier", c.dp.noise_multiplier,
                  "--dp: noise std over the clipping norm (instead of --target-epsilon)");
  cmd->add_option("--max-grad-norm", c.dp.max_grad_norm, "--dp: per-example clipping norm C")
      ->capture_default_str();
  cmd->add_option("--delta", c.dp.delta, "--dp: delta (default 1/(10 N) rounded down)");
  cmd->add_option("--sampling", c.dp.sampling,
                  "--dp: poisson (covered by the guarantee) or shuffle (not covered)")
      ->capture_default_str();
  cmd->add_option("--accountant", c.dp.accountant, "--dp: rdp or pld")->capture_default_str();
  cmd->add_option("--out", a->run.out, "Output directory")->capture_default_str();
  cmd->add_option("--resume", a->run.resume, "Continue from a checkpoint.safetensors");
  cmd->add_option("--config", a->config_file,
                  "Training config JSON (TrainConfig keys: model, epochs, batch_size, "
                  "lr, ...); flags given here win over it");
  cmd->add_option("--bootstrap", a->run.replicates,
                  "Bootstrap replicates for metrics.json intervals");
  cmd->add_flag("!--no-tune", a->run.default_tune,
                "Skip the default tuning (a small search over lr and batch size of the default "
                "model, run when --model is not given and train holds at most 1M bases)");
  cmd->add_flag("!--no-baseline", a->run.baseline,
                "Skip the baselines and the comparison with the strongest (on valid) on test");
  cmd->add_flag("--json", a->json, "Print metrics.json");
  cmd->add_option("--permutations", a->run.permutations,
                  "Label-permutation test (Rule 7): retrain N times on shuffled training labels "
                  "and give the p-value of the real validation score");
  cmd->add_flag("--report", a->report,
                "Write DIR/report.html, the ten-rules report of the run (strand report)");
  cmd->add_option("--cv", a->run.cv,
                  "K-fold cross-validation on train + valid (stratified by label, grouped by "
                  "--cv-group; test untouched) instead of one run: DIR/cv.json, fold models");
  cmd->add_option("--cv-group", a->run.cv_group,
                  "Rows kept in one fold: auto (chromosome for --bed, else duplicates), "
                  "duplicates (near-duplicate clusters), chromosome (and duplicates) or none")
      ->capture_default_str();
  cmd->add_flag("--learning-curve", a->run.learning_curve,
                "Rule 7: train on nested, stratified fractions of train (--curve-fractions), "
                "score each on valid, say whether more data would help; DIR/learning_curve.json "
                "instead of one run");
  cmd->add_option("--curve-fractions", a->run.curve_fractions,
                  "Fractions of train for --learning-curve")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_flag("--strict", a->run.strict,
                "Refuse to train when the splits share exact or near-duplicate sequences (Rule "
                "1; without it, a warning)");
  cmd->add_option("--bucket-mb", a->bucket_mb,
                  "Data parallel: gradient all-reduce bucket size in MiB")
      ->capture_default_str();
  cmd->add_flag("--zero1", a->zero1,
                "Data parallel: shard the optimiser state across ranks (ZeRO-1)");
  cmd->add_option("--grad-compression", a->grad_compression,
                  "Data parallel: none or bf16 (all-reduce gradients in bf16)")
      ->capture_default_str();
  cmd->add_option("--comm-timeout", a->comm_timeout_s,
                  "Data parallel: seconds any collective may take before the run fails")
      ->capture_default_str();
  cmd->callback([a, cmd] {
    auto& config = a->run.config;
    if (!a->config_file.empty()) config = config_with_file(*cmd, a->config_file, config);
    // A config file states its own choices; otherwise a default changes only where no flag was
    // given (the TrainConfig key "batch_size" is the flag --batch-size).
    auto given = [&](const std::string& key) {
      std::string flag = "--" + key;
      std::replace(flag.begin(), flag.end(), '_', '-');
      return !a->config_file.empty() || cmd->count(flag) > 0;
    };
    const auto notes = train::apply_run_defaults(config, given);
    if (!a->json && runtime::detect_launch().rank == 0)
      for (const auto& n : notes) std::printf("%s\n", n.c_str());
    a->run.choose_model = cmd->count("--model") == 0 && a->config_file.empty() &&
                          !config.dp.enabled && a->run.resume.empty();
    a->run.default_tune = a->run.default_tune && !given("lr") && !given("batch_size");
    run_train(*a);
  });
}

}  // namespace

void add_train_commands(CLI::App& app) {
  add_train(app);
  add_tune_command(app);
  add_simulate_command(app);
  add_eval_command(app);
  add_predict_command(app);
}

}  // namespace strand::apps
