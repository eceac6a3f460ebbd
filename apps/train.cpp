// `strand train` (the trainer on FASTA + labels, BED + genome, or with no data the built-in
// simulated dataset), `strand simulate`, `strand eval` and `strand predict`.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>

#include "apps/commands.h"
#include "core/error.h"
#include "core/version.h"
#include "data/meme.h"
#include "data/sequence_source.h"
#include "data/simulate.h"
#include "data/splits.h"
#include "layers/gpu_math.h"
#include "report/report.h"
#include "rules/headline.h"
#include "rules/io.h"
#include "rules/privacy_record.h"
#include "rules/report.h"
#include "runtime/autograd.h"
#include "runtime/comm.h"
#include "runtime/file_io.h"
#include "train/checksum.h"
#include "train/cross_validation.h"
#include "train/ensemble.h"
#include "train/evaluate.h"
#include "train/learning_curve.h"
#include "train/permutation.h"
#include "train/pipeline.h"
#include "train/run_directory.h"
#include "train/trainer.h"
#include "train/tune.h"

namespace strand::apps {
namespace {

using DataArgs = train::RunData;

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

using train::load_dataset;

void add_data_options(CLI::App* cmd, DataArgs& a) {
  cmd->add_option("--fasta", a.fasta, "Sequences (FASTA, equal lengths; needs --labels)");
  cmd->add_option("--labels", a.labels, "Labels TSV: name, task columns, optional split column");
  cmd->add_option("--bed", a.bed, "BED intervals with target columns (needs --genome)");
  cmd->add_option("--genome", a.genome, "Indexed reference FASTA for --bed windows");
  cmd->add_option("--window", a.window, "Width of the windows centred on --bed intervals")
      ->check(non_negative());
  cmd->add_option("--task", a.task,
                  "Label kind: auto, binary, multi-label, multi-class, regression");
}

nlohmann::json metric(const nlohmann::json& obj, const std::string& name) {
  return obj.contains(name) ? obj[name] : nlohmann::json();
}

std::string fixed4(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

std::string fmt(const nlohmann::json& v) {
  return v.is_number() ? fixed4(v.get<double>()) : std::string("  -   ");
}

// Rows of "name  valid metrics  test metrics" for the panel kind (eval: one panel, prefix "").
void print_table(const nlohmann::json& valid, const nlohmann::json& test,
                 const std::string& first = "v.", const std::string& second = "t.") {
  const std::string kind = valid.value("kind", "");
  if (kind == "multiclass") {
    std::printf("  %-12s %10s %12s\n", "", first.empty() ? "" : "valid",
                test.is_object() ? "test" : "");
    for (const char* m : {"accuracy", "macro_auroc"})
      std::printf("  %-12s %10s %12s\n", m, fmt(metric(valid, m)).c_str(),
                  test.is_object() ? fmt(metric(test, m)).c_str() : "");
    return;
  }
  const bool regression = kind == "regression";
  const char* m1 = regression ? "pearson" : "auroc";
  const char* m2 = regression ? "mse" : "auprc";
  const bool both = test.is_object();
  std::printf("  %-20s %8s %8s   %8s %8s\n", "task", (first + m1).c_str(), (first + m2).c_str(),
              both ? (second + m1).c_str() : "", both ? (second + m2).c_str() : "");
  auto row = [&](const std::string& name, const nlohmann::json& v, const nlohmann::json& t) {
    std::printf("  %-20s %8s %8s   %8s %8s\n", name.c_str(), fmt(metric(v, m1)).c_str(),
                fmt(metric(v, m2)).c_str(), both ? fmt(metric(t, m1)).c_str() : "",
                both ? fmt(metric(t, m2)).c_str() : "");
  };
  for (const auto& [task, obj] : valid["tasks"].items())
    row(task, obj, test.is_object() ? test["tasks"][task] : nlohmann::json());
  row("mean", valid["macro"], test.is_object() ? test["macro"] : nlohmann::json());
}

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
  std::printf(
      "wrote %s/cv.json and %d fold models (%s/fold-*/model.safetensors; use them as an "
      "ensemble: strand predict --ensemble)\n",
      a.run.out.c_str(), a.run.cv, a.run.out.c_str());
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
  cmd->add_option("--split-method", a->run.data.split_method, "auto, column, chromosome or random");
  cmd->add_option("--test-chroms", a->run.data.test_chroms, "Chromosomes held out as test")
      ->delimiter(',');
  cmd->add_option("--valid-chroms", a->run.data.valid_chroms, "Chromosomes held out as valid")
      ->delimiter(',');
  cmd->add_option("--test-fraction", a->run.data.test_fraction, "Random split: fraction for test");
  cmd->add_option("--valid-fraction", a->run.data.valid_fraction,
                  "Random split: fraction for valid");
  cmd->add_option("--split-seed", a->run.data.split_seed, "Seed of the random split")
      ->check(non_negative());
  auto& c = a->run.config;
  cmd->add_option("--model", c.model,
                  "cnn, cnn-linear, deepsea, basset, basset-groupnorm, danq, cnn-small, or a "
                  "YAML model file (examples/models/*.yaml); default: cnn-linear when the task "
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
  add_gpu_math_options(cmd, c.conv_algo, c.tf32);
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
                  "Rows kept in one fold: duplicates (near-duplicate clusters), chromosome (and "
                  "duplicates) or none")
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
    run_train(*a);
  });
}

struct SimulateArgs {
  std::string out;
  std::string motifs_from;
  std::vector<std::string> motifs;
  data::SimulationConfig config;
  bool suite = false;
  bool json = false;
};

void add_simulate(CLI::App& app) {
  auto a = std::make_shared<SimulateArgs>();
  auto* cmd = app.add_subcommand("simulate", "Write a simulated motif dataset (FASTA + labels)");
  cmd->footer(
      "Examples:\n"
      "  strand simulate --out sim\n"
      "  strand simulate --out sim --sequences 20000 --length 500 --seed 3\n"
      "  strand simulate --suite --out suite     # the aligned/unaligned benchmark suite\n"
      "  strand simulate --out sim --motifs-from "
      "data/motifs/JASPAR_CORE_vertebrates_nonredundant.meme\n"
      "      --motif MA0139.2 --motif GATA1 --motif SPI1   # real JASPAR motifs, one task each\n"
      "Writes DIR/sequences.fa (+ .fai), DIR/labels.tsv (with a split column) and\n"
      "DIR/ground_truth.json (the planted motifs). --suite writes one such directory per task\n"
      "(presence, grammar, aligned_position, aligned_short, orientation, spacing, imbalanced)\n"
      "and "
      "DIR/suite.json, the index.");
  cmd->add_option("--out", a->out, "Output directory")->required();
  cmd->add_option("--sequences", a->config.num_sequences, "Number of sequences")
      ->capture_default_str();
  cmd->add_option("--length", a->config.length, "Bases per sequence")->capture_default_str();
  cmd->add_option("--seed", a->config.seed, "Seed")->capture_default_str()->check(non_negative());
  cmd->add_option("--gc", a->config.gc, "Background GC fraction")->capture_default_str();
  cmd->add_flag("--suite", a->suite,
                "Write the built-in benchmark suite (aligned and unaligned tasks; --seed only)");
  cmd->add_option("--motifs-from", a->motifs_from,
                  "MEME motif file (e.g. data/motifs/JASPAR_CORE_vertebrates_nonredundant.meme) "
                  "to plant motifs from, instead of the built-in ones");
  cmd->add_option("--motif", a->motifs,
                  "With --motifs-from: a motif to plant, by MOTIF identifier or name (repeat); "
                  "each is one task, labelled 1 where it was planted");
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->callback([a] {
    if (a->suite) {
      const auto index = data::write_suite(a->out, a->config.seed);
      if (a->json) {
        std::cout << index.dump(2) << "\n";
        return;
      }
      for (const auto& t : index["suite"])
        std::printf("%-17s %-9s %-11s %5d x %3d bp  %s\n", t["name"].get<std::string>().c_str(),
                    t["aligned"].get<bool>() ? "aligned" : "unaligned",
                    t["label_kind"].get<std::string>().c_str(), t["sequences"].get<int>(),
                    t["length"].get<int>(), t["description"].get<std::string>().c_str());
      std::printf("wrote %s/suite.json and one directory per task\n", a->out.c_str());
      return;
    }
    STRAND_CHECK(a->motifs.empty() == a->motifs_from.empty(),
                 "--motif and --motifs-from go together (a MEME file and the motifs to plant)");
    if (!a->motifs_from.empty()) {
      const auto file = data::read_meme(a->motifs_from);
      a->config.builtin_motifs = false;
      for (const auto& key : a->motifs) {
        const data::Motif& m = data::find_motif(file.motifs, key, a->motifs_from);
        a->config.motifs.push_back(m);
        a->config.tasks.push_back(
            {data::motif_task_name(m), data::MotifRule::Op::kSingle, m.name, "", 0, -1});
      }
    }
    STRAND_CHECK(a->config.num_sequences > 0, "--sequences must be positive, got {}",
                 a->config.num_sequences);
    STRAND_CHECK(a->config.length > 0, "--length must be positive, got {}", a->config.length);
    const auto sim = data::simulate(a->config);
    const auto files = data::write_simulation(sim, a->out);
    nlohmann::json j = {{"fasta", files.fasta},
                        {"labels", files.labels},
                        {"ground_truth", files.ground_truth},
                        {"sequences", sim.records.size()},
                        {"tasks", sim.labels.columns}};
    if (a->json)
      std::cout << j.dump(2) << "\n";
    else
      std::printf("wrote %zu sequences, tasks %s: %s, %s, %s\n", sim.records.size(),
                  j["tasks"].dump().c_str(), files.fasta.c_str(), files.labels.c_str(),
                  files.ground_truth.c_str());
  });
}

struct EvalArgs {
  std::string model;
  DataArgs data;
  std::string split = "all";
  std::string device = "cpu";
  layers::GpuMath gpu;
  int64_t batch_size = 256;
  int replicates = 1000;
  bool rc_average = false;
  bool json = false;
};

void run_eval(const EvalArgs& args) {
  EvalArgs a = args;
  layers::check_gpu_math(a.gpu, a.device);
  const auto loaded = train::load_model(a.model);
  if (a.data.window == 0) a.data.window = loaded.info.length;  // --bed windows fit the model
  auto dataset = load_dataset(a.data, data::parse_label_kind(loaded.info.kind));
  STRAND_CHECK(dataset->length() == loaded.info.length,
               "'{}' has sequences of length {}, but the model takes length {}", dataset->source(),
               dataset->length(), loaded.info.length);
  const auto& cols =
      loaded.info.kind == "multi-class" ? dataset->classes() : dataset->output_names();
  STRAND_CHECK(cols == loaded.info.tasks, "the labels' outputs {} are not the model's {}",
               nlohmann::json(cols).dump(), nlohmann::json(loaded.info.tasks).dump());
  std::vector<int64_t> rows;
  if (a.split == "all") {
    for (int64_t i = 0; i < dataset->size(); ++i) rows.push_back(i);
  } else {
    const data::Split want = data::parse_split(a.split, "--split");
    const auto& declared = dataset->declared_splits();
    STRAND_CHECK(!declared.empty(), "--split {} needs a split column in the labels", a.split);
    for (int64_t i = 0; i < dataset->size(); ++i)
      if (declared[i] == want) rows.push_back(i);
    STRAND_CHECK(!rows.empty(), "no examples in split '{}'", a.split);
  }
  const auto device = runtime::Device::parse(a.device);
  loaded.model->to(device);
  layers::set_gpu_math(*loaded.model, a.gpu);
  const auto p = train::predict_rows(*train::for_prediction(loaded.model, a.rc_average),
                                     loaded.info.kind, dataset, rows, a.batch_size, device);
  nlohmann::json panel = train::panel_of(loaded.info, p, a.replicates);
  if (a.json) {
    std::cout << panel.dump(2) << "\n";
    return;
  }
  std::printf("model %s on %zu examples (%s), loss %.4f\n", loaded.info.describe().c_str(),
              rows.size(), a.split.c_str(), p.loss);
  print_table(panel, nlohmann::json(), "", "");
}

void add_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  a->data.window = 0;  // the model's input length unless --window says otherwise
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained model on labelled sequences");
  cmd->footer(
      "Examples:\n"
      "  strand eval --model run/model.safetensors --fasta seqs.fa --labels labels.tsv --split "
      "test\n"
      "  strand eval --model run/model.safetensors --fasta other.fa --labels other.tsv --json\n"
      "  strand eval --model run/model.safetensors --bed peaks.bed --genome hg38.fa --rc-average");
  cmd->add_option("--model", a->model, "model.safetensors written by strand train")->required();
  add_data_options(cmd, a->data);
  cmd->add_option("--split", a->split, "all, train, valid or test (needs a split column)")
      ->capture_default_str();
  cmd->add_option("--device", a->device, "cpu or cuda")->capture_default_str();
  add_gpu_math_options(cmd, a->gpu.conv_algo, a->gpu.tf32);
  cmd->add_option("--batch-size", a->batch_size, "Examples per batch")->capture_default_str();
  cmd->add_option("--bootstrap", a->replicates, "Bootstrap replicates for intervals");
  cmd->add_flag("--rc-average", a->rc_average,
                "Score each sequence as the mean of both strands' predictions");
  cmd->add_flag("--json", a->json, "Print the metrics panel as JSON");
  cmd->callback([a] { run_eval(*a); });
}

struct PredictArgs {
  std::vector<std::string> ensemble;  // --ensemble: several models, scores averaged
  std::string model, fasta, bed, genome, out, device = "cpu";
  layers::GpuMath gpu;
  int64_t window = 0;  // 0: the model's input length
  int64_t batch_size = 256;
  bool rc_average = false;
  bool json = false;
};

// The sequences to score: FASTA records, or windows centred on BED intervals of a reference.
data::SequenceSource predict_input(const PredictArgs& a, int64_t length) {
  const int64_t window = a.window > 0 ? a.window : length;
  STRAND_CHECK(a.bed.empty() || window == length,
               "--window {} differs from the model's input length {}", window, length);
  return data::open_sequences(a.fasta, a.bed, a.genome, length);
}

void run_predict(const PredictArgs& a) {
  STRAND_CHECK(a.model.empty() != a.ensemble.empty(),
               "give one of --model FILE or --ensemble FILE1,FILE2,...");
  layers::check_gpu_math(a.gpu, a.device);
  const train::Ensemble models =
      train::load_ensemble(a.ensemble.empty() ? std::vector<std::string>{a.model} : a.ensemble);
  const bool ensemble = !a.ensemble.empty();
  const auto device = runtime::Device::parse(a.device);
  const train::ModelInfo& info = models.info;
  const int64_t L = info.length;
  const data::SequenceSource input = predict_input(a, L);
  const auto& names = input.names;
  const int64_t rows = static_cast<int64_t>(names.size());
  std::vector<std::vector<double>> per_member;
  runtime::NoGradGuard no_grad;
  for (const auto& member : models.members) {
    member.model->to(device);
    layers::set_gpu_math(*member.model, a.gpu);
    const auto model = train::for_prediction(member.model, a.rc_average);
    std::vector<double> scores;
    for (int64_t begin = 0; begin < rows; begin += a.batch_size) {
      const int64_t end = std::min(rows, begin + a.batch_size);
      std::vector<uint8_t> codes((end - begin) * L);
      for (int64_t i = begin; i < end; ++i) input.read(i, codes.data() + (i - begin) * L);
      const Tensor x = runtime::from_vector(codes, {end - begin, L}).to(device);
      const auto s = train::scores_of(info.kind, (*model)(x));
      scores.insert(scores.end(), s.begin(), s.end());
    }
    per_member.push_back(std::move(scores));
  }
  const train::EnsembleScores combined = train::combine_scores(per_member);
  const size_t T = info.tasks.size();
  // An ensemble's output: the mean per task, then each task's spread across models ("<task>_sd").
  std::vector<std::string> columns = info.tasks;
  std::vector<double> table = combined.mean;
  if (ensemble) {
    for (const auto& t : info.tasks) columns.push_back(t + "_sd");
    table.clear();
    for (int64_t i = 0; i < rows; ++i) {
      table.insert(table.end(), combined.mean.begin() + i * T, combined.mean.begin() + (i + 1) * T);
      table.insert(table.end(), combined.sd.begin() + i * T, combined.sd.begin() + (i + 1) * T);
    }
  }
  const size_t C = columns.size();
  if (a.json) {
    nlohmann::json j = {{"model", info.to_json()}, {"predictions", nlohmann::json::array()}};
    j["model"].erase("spec");
    if (ensemble)
      j["ensemble"] = {{"models", models.paths},
                       {"combined",
                        "mean of the models' "
                        "scores; _sd: their "
                        "standard deviation"}};
    for (size_t i = 0; i < names.size(); ++i) {
      nlohmann::json row = {{"name", names[i]}};
      for (size_t c = 0; c < C; ++c) row[columns[c]] = table[i * C + c];
      j["predictions"].push_back(row);
    }
    if (!a.out.empty()) rules::write_scores(a.out, names, columns, table);
    std::cout << j.dump(2) << "\n";
    return;
  }
  if (!a.out.empty()) {
    rules::write_scores(a.out, names, columns, table);
    std::fprintf(stderr, "wrote %zu predictions to %s%s\n", names.size(), a.out.c_str(),
                 ensemble
                     ? strand::format(" (mean and sd of {} models)", models.members.size()).c_str()
                     : "");
    return;
  }
  std::printf("name");
  for (const auto& c : columns) std::printf("\t%s", c.c_str());
  std::printf("\n");
  for (size_t i = 0; i < names.size(); ++i) {
    std::printf("%s", names[i].c_str());
    for (size_t c = 0; c < C; ++c) std::printf("\t%.9g", table[i * C + c]);
    std::printf("\n");
  }
}

void add_predict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "Score sequences with a trained model");
  cmd->footer(
      "Examples:\n"
      "  strand predict --model run/model.safetensors --fasta new.fa --out scores.tsv\n"
      "  strand predict --model run/model.safetensors --bed regions.bed --genome hg38.fa "
      "--rc-average\n"
      "  strand predict --ensemble cv/fold-1/model.safetensors,cv/fold-2/model.safetensors "
      "--fasta new.fa\n"
      "Output TSV: name, then one column per task (probabilities) or class (softmax).");
  cmd->add_option("--model", a->model, "model.safetensors written by strand train");
  cmd->add_option("--ensemble", a->ensemble,
                  "Several models (e.g. the folds of strand train --cv): the mean of their "
                  "scores, and each task's spread across them as <task>_sd")
      ->delimiter(',');
  add_sequence_options(cmd, a->fasta, a->bed, a->genome);
  cmd->add_option("--window", a->window, "Window width for --bed (default: the model's length)")
      ->check(non_negative());
  cmd->add_option("--out", a->out, "Scores TSV (default: standard output)");
  cmd->add_option("--device", a->device, "cpu or cuda")->capture_default_str();
  add_gpu_math_options(cmd, a->gpu.conv_algo, a->gpu.tf32);
  cmd->add_option("--batch-size", a->batch_size, "Examples per batch")->capture_default_str();
  cmd->add_flag("--rc-average", a->rc_average,
                "Score each sequence as the mean of both strands' predictions");
  cmd->add_flag("--json", a->json, "Print the predictions as JSON");
  cmd->callback([a] { run_predict(*a); });
}

struct TuneArgs {
  DataArgs data;
  train::TrainConfig config;
  train::TuneOptions options;
  std::string out = "strand-tune";
  std::string space;  // search-space file (YAML or JSON); empty: the default space
  double max_minutes = 0;
  bool print_space = false;
  bool json = false;
};

void run_tune(TuneArgs& a) {
  const runtime::LaunchInfo launch = runtime::detect_launch();
  std::shared_ptr<runtime::Communicator> comm;
  if (launch.distributed())
    comm = runtime::make_communicator(launch, runtime::Device::parse("cpu"), {});
  const bool writer = !comm || comm->rank() == 0;
  a.options.out_dir = a.out;
  a.options.max_seconds = a.max_minutes * 60;
  const auto body = [&] {
    if (train::use_simulated_data(a.data, a.out, comm.get(), writer) && writer && !a.json)
      std::printf("no data given: using the built-in simulated dataset (%s/data)\n", a.out.c_str());
    auto dataset = load_dataset(a.data, data::parse_label_kind(a.data.task));
    data::SplitDataset splits(dataset, train::split_options(a.data));
    nlohmann::json data_checks, why;
    const rules::LabelledSequences all = rules::load_source(source_of(a.data), false);
    if (writer) data_checks = train::check_run_data(all, a.data.bed, false, !a.json);
    const std::string default_model = train::default_model_for(all, why);
    const train::SearchSpace space = a.space.empty()
                                         ? train::SearchSpace::default_space(default_model)
                                         : train::SearchSpace::from_file(a.space);
    if (writer && !a.json)
      std::printf(
          "tuning %d trials over %s (%s; %s), successive halving over epochs %s, eta %d%s\n",
          a.options.trials, a.space.empty() ? "the default space" : a.space.c_str(),
          splits.summary().c_str(),
          comm ? strand::format("{} ranks", comm->size()).c_str() : "1 process",
          nlohmann::json(train::rung_epochs(a.options)).dump().c_str(), a.options.eta,
          a.max_minutes > 0 ? strand::format(", at most {} min", a.max_minutes).c_str() : "");
    nlohmann::json result =
        train::tune(splits, a.config, space, a.options, comm, [&](const std::string& line) {
          if (!a.json) std::printf("  %s\n", line.c_str());
        });
    if (!writer) return;
    result["data_checks"] = data_checks;
    result["space"] = space.to_json();
    if (result["test"].is_object()) {
      result["headline"] = rules::headline_of(result["test"]);
      result["headline"]["split"] = "test";
    }
    runtime::write_json_file(a.out + "/tune.json", result);
    if (a.json) {
      std::cout << result.dump(2) << "\n";
      return;
    }
    std::printf("%-5s %-5s %-6s %-9s %s\n", "rank", "trial", "epochs", "valid", "config");
    for (const auto& t : result["trials"])
      std::printf("%-5d %-5d %-6lld %-9s %s\n", t["rank"].get<int>(), t["id"].get<int>(),
                  static_cast<long long>(t["epochs"].get<int64_t>()), fmt(t["valid"]).c_str(),
                  t["config"].dump().c_str());
    std::printf("%s\n", result["sentence"].get<std::string>().c_str());
    if (result.contains("headline"))
      std::printf("chosen model on test (opened once): %s\n",
                  result["headline"]["sentence"].get<std::string>().c_str());
    if (result["privacy"].is_object())
      std::printf("privacy: %s\n", result["privacy"]["sentence"].get<std::string>().c_str());
    std::printf(
        "wrote %s/tune.json, %s/tune_log.jsonl (every trial; the test lock), "
        "%s/trials/<id>/\n",
        a.out.c_str(), a.out.c_str(), a.out.c_str());
  };
  train::with_run_directory(writer ? a.out : "", body);
}

void add_tune(CLI::App& app) {
  auto a = std::make_shared<TuneArgs>();
  auto* cmd = app.add_subcommand(
      "tune", "Search hyper-parameters (Rule 6): random search + successive halving, valid only");
  cmd->footer(
      "Examples:\n"
      "  strand tune                                    # built-in simulated data, default space\n"
      "  strand tune --fasta seqs.fa --labels labels.tsv --space space.yaml --trials 12\n"
      "  mpirun -n 4 strand tune --fasta seqs.fa --labels labels.tsv   # trials over 4 ranks\n"
      "  strand tune --print-space > space.yaml         # the default space, to edit\n"
      "Search-space keys: model (zoo names, YAML model files, cnn-variant), optimizer, lr,\n"
      "batch_size, weight_decay, and for cnn-variant depth, kernel, filters, dropout. A value is\n"
      "fixed, a list of choices or {uniform|log_uniform|int_uniform: [lo, hi]}.\n"
      "Test stays sealed through the search and opens once for the chosen model. Rerun the same\n"
      "command to resume a killed search (DIR/tune_log.jsonl is append-only).");
  add_data_options(cmd, a->data);
  cmd->add_option("--split-method", a->data.split_method, "auto, column, chromosome or random");
  cmd->add_option("--space", a->space, "Search-space file (YAML or JSON); default: built in");
  cmd->add_flag("--print-space", a->print_space, "Print the default search space and exit");
  cmd->add_option("--trials", a->options.trials, "Random configurations")->capture_default_str();
  cmd->add_option("--min-epochs", a->options.min_epochs, "Epochs of the first rung")
      ->capture_default_str();
  cmd->add_option("--max-epochs", a->options.max_epochs, "Epochs of the last rung")
      ->capture_default_str();
  cmd->add_option("--eta", a->options.eta, "Keep the best 1/eta at each rung")
      ->capture_default_str();
  cmd->add_option("--max-minutes", a->max_minutes,
                  "Time budget: no rung job starts after this (0: none)");
  cmd->add_option("--seed", a->options.seed, "Seed of the sampled configurations")
      ->capture_default_str();
  cmd->add_option("--device", a->config.device, "cpu or cuda")->capture_default_str();
  cmd->add_flag("--dp", a->config.dp.enabled,
                "DP-SGD for every trial; the search's total privacy cost is accounted");
  cmd->add_option("--noise-multiplier", a->config.dp.noise_multiplier,
                  "--dp: noise multiplier of every trial (needed: fixes each trial's cost)");
  cmd->add_option("--max-grad-norm", a->config.dp.max_grad_norm, "--dp: clipping norm")
      ->capture_default_str();
  cmd->add_option("--delta", a->config.dp.delta, "--dp: delta (default 1/(10 N) rounded down)");
  cmd->add_option("--bootstrap", a->options.bootstrap, "Bootstrap replicates of the final panels");
  cmd->add_option("--out", a->out, "Output directory")->capture_default_str();
  cmd->add_flag("--json", a->json, "Print tune.json");
  cmd->callback([a] {
    if (a->print_space) {
      std::printf("%s", train::SearchSpace::default_text("cnn").c_str());
      return;
    }
    run_tune(*a);
  });
}

}  // namespace

void add_train_commands(CLI::App& app) {
  add_train(app);
  add_tune(app);
  add_simulate(app);
  add_eval(app);
  add_predict(app);
}

}  // namespace strand::apps
