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
#include "data/sequence_source.h"
#include "data/simulate.h"
#include "data/splits.h"
#include "rules/io.h"
#include "rules/privacy_record.h"
#include "rules/report.h"
#include "runtime/autograd.h"
#include "runtime/comm.h"
#include "runtime/file_io.h"
#include "train/checksum.h"
#include "train/evaluate.h"
#include "train/permutation.h"
#include "train/pipeline.h"
#include "train/run_directory.h"
#include "train/trainer.h"

namespace strand::apps {
namespace {

struct DataArgs {
  std::string fasta, labels, bed, genome;
  int64_t window = 1000;
  std::string task = "auto";
  std::string split_method = "auto";
  std::vector<std::string> test_chroms, valid_chroms;
  double test_fraction = 0.1, valid_fraction = 0.1;
  uint64_t split_seed = 0;
};

struct TrainArgs {
  DataArgs data;
  train::TrainConfig config;
  std::string out = "strand-run";
  std::string resume;
  std::string config_file;  // --config: a JSON TrainConfig; command-line flags win over it
  int replicates = 1000;
  bool baseline = true;  // fit the baselines, compare with the strongest on valid (rule 2)
  bool json = false;
  bool strict = false;        // Rule 1: refuse to train when the splits share sequences
  int permutations = 0;       // Rule 7: label-permutation test with this many shuffled runs
  bool choose_model = false;  // no --model: the default model follows the data (Rule 5)
  // Data parallel (under mpirun / srun / RANK+WORLD_SIZE; ignored in a single process).
  double bucket_mb = 25;
  bool zero1 = false;
  std::string grad_compression = "none";
  double comm_timeout_s = 300;
};

data::SplitMethod split_method(const std::string& s) {
  if (s == "auto") return data::SplitMethod::kAuto;
  if (s == "column") return data::SplitMethod::kColumn;
  if (s == "chromosome") return data::SplitMethod::kChromosome;
  if (s == "random") return data::SplitMethod::kRandom;
  STRAND_FAIL("unknown split method '{}' (auto, column, chromosome, random)", s);
}

std::shared_ptr<data::Dataset> load_dataset(const DataArgs& a, data::LabelKind kind) {
  if (!a.bed.empty()) {
    STRAND_CHECK(a.fasta.empty(),
                 "give either --fasta with --labels or --bed with --genome, not both");
    STRAND_CHECK(!a.genome.empty(), "--bed needs --genome (an indexed reference FASTA)");
    return std::make_shared<data::Dataset>(data::Dataset::from_bed(a.bed, a.genome, a.window));
  }
  STRAND_CHECK(!a.fasta.empty(), "no data: give --fasta with --labels, or --bed with --genome");
  STRAND_CHECK(!a.labels.empty(), "--fasta needs --labels (a TSV: name, task columns, split)");
  data::FastaDatasetOptions o;
  o.kind = kind;
  return std::make_shared<data::Dataset>(data::Dataset::from_fasta(a.fasta, a.labels, o));
}

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

// The trainer's inputs and split rules as the rules' loaders take them.
rules::DatasetSource source_of(const DataArgs& d) {
  rules::DatasetSource s;
  s.fasta = d.fasta, s.labels = d.labels, s.bed = d.bed, s.reference = d.genome;
  s.window = d.window, s.kind = d.task, s.split_method = d.split_method;
  s.test_chromosomes = d.test_chroms, s.valid_chromosomes = d.valid_chroms;
  s.test_fraction = d.test_fraction, s.valid_fraction = d.valid_fraction;
  s.split_seed = d.split_seed;
  return s;
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
  auto comm = runtime::make_communicator(launch, runtime::Device::parse(a.config.device), o);
  a.config.device = comm->device().str();
  return comm;
}

void train_and_report(TrainArgs& a, const std::shared_ptr<runtime::Communicator>& comm, bool writer,
                      std::chrono::steady_clock::time_point start);

void run_train(TrainArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  const auto comm = data_parallel_comm(a);
  const bool writer = !comm || comm->rank() == 0;
  try {
    train::with_run_directory(writer ? a.out : "",
                              [&] { train_and_report(a, comm, writer, start); });
  } catch (const Error& e) {
    // A lost rank: fail this communicator for good so nothing waits on it at exit.
    if (comm) comm->abort(e.message());
    throw;
  }
}

void train_and_report(TrainArgs& a, const std::shared_ptr<runtime::Communicator>& comm, bool writer,
                      std::chrono::steady_clock::time_point start) {
  STRAND_CHECK(!comm || a.permutations == 0,
               "--permutations runs in one process (not under mpirun or srun)");
  STRAND_CHECK(a.permutations >= 0, "--permutations must be >= 0, got {}", a.permutations);
  bool simulated = false;
  if (a.data.fasta.empty() && a.data.bed.empty()) {
    // No data: the built-in simulated dataset (data::simulate's defaults), written beside the run
    // by rank 0; the other ranks read the same files.
    STRAND_CHECK(a.data.labels.empty(), "--labels needs --fasta");
    std::string paths;
    if (writer) {
      const auto files = data::write_simulation(data::simulate(), a.out + "/data");
      paths = files.fasta + "\n" + files.labels;
    }
    if (comm) paths = runtime::all_gather_strings(*comm, paths)[0];
    a.data.fasta = paths.substr(0, paths.find('\n'));
    a.data.labels = paths.substr(paths.find('\n') + 1);
    simulated = true;
    if (!a.json && writer)
      std::printf("no data given: training on the built-in simulated dataset (%s)\n",
                  (a.out + "/data").c_str());
  }
  auto dataset = load_dataset(a.data, data::parse_label_kind(a.data.task));
  data::SplitOptions so;
  so.method = split_method(a.data.split_method);
  so.test_chromosomes = a.data.test_chroms;
  so.valid_chromosomes = a.data.valid_chroms;
  so.test_fraction = a.data.test_fraction;
  so.valid_fraction = a.data.valid_fraction;
  so.seed = a.data.split_seed;
  auto splits = std::make_shared<data::SplitDataset>(dataset, so);

  // Rule 1 on the run's own splits before training (leakage), and splits too small to rank by.
  rules::LabelledSequences all;
  nlohmann::json data_checks;
  if (writer) {
    all = rules::load_source(source_of(a.data), false);
    data_checks = train::check_run_data(all, a.data.bed, a.strict, true);
    if (a.choose_model && !comm) {  // one process: the default model follows the data
      nlohmann::json why;
      a.config.model = train::default_model_for(all, why);
      data_checks["default_model"] = {{"model", a.config.model}, {"alignment", why}};
      if (!a.json)
        std::printf("default model: %s (the task looks %s: %s)\n", a.config.model.c_str(),
                    why.value("verdict", std::string("?")).c_str(),
                    why.value("reason", std::string()).c_str());
    }
  }

  train::RunMetadata run;
  for (const std::string& f : {a.data.fasta, a.data.labels, a.data.bed, a.data.genome})
    if (!f.empty()) run.data[f] = train::file_crc32(f);
  train::Trainer trainer(splits, a.config, a.out, run);
  if (comm) {
    trainer.distribute(
        {.comm = comm,
         .reducer = {.bucket_mb = a.bucket_mb, .bf16_compression = a.grad_compression == "bf16"},
         .zero1 = a.zero1});
  }
  if (!a.resume.empty()) trainer.resume(a.resume);
  const train::TrainResult r = trainer.fit();
  STRAND_CHECK(r.best_epoch > 0, "training produced no usable model: {}", r.stop_reason);
  if (!writer) return;  // rank 0 evaluates the chosen model and reports
  if (r.diverged) std::fprintf(stderr, "strand train: %s\n", r.stop_reason.c_str());

  // Final metrics of the chosen checkpoint: validation, then the sealed test split once.
  const auto best = train::load_model(trainer.model_path());
  const auto device = runtime::Device::parse(a.config.device);
  best.model->to(device);
  const auto predictor = train::for_prediction(best.model, a.config.rc_average);
  const int64_t eval_batch = std::max<int64_t>(256, a.config.batch_size);
  nlohmann::json metrics;
  const train::Predictions valid =
      train::predict_rows(*predictor, best.info.kind, dataset, splits->valid(), eval_batch, device);
  metrics["valid"] = train::panel_of(best.info, valid, a.replicates);
  metrics["overfitting"] = train::overfitting_of(r);
  if (a.permutations > 0) {
    if (!a.json)
      std::printf("label-permutation test: %d runs on shuffled training labels...\n",
                  a.permutations);
    metrics["permutation"] =
        train::permutation_test(*splits, a.config, a.permutations, r.best_metric).to_json();
  }
  const std::string reason = strand::format(
      "final evaluation of the chosen checkpoint (epoch {}, validation {} {}) after training",
      r.best_epoch, r.monitor, fixed4(r.best_metric));
  if (splits->test_size() > 0) {
    const auto& test_rows = splits->unseal_test(reason);
    const train::Predictions test =
        train::predict_rows(*predictor, best.info.kind, dataset, test_rows, eval_batch, device);
    metrics["test"] = train::panel_of(best.info, test, a.replicates);
    metrics["calibration"] = train::calibration_of(best.info, valid, test);
    metrics["test_unsealed"] = reason;
    if (a.baseline) {
      if (!a.json) std::printf("fitting the baselines on the same splits...\n");
      try {
        metrics["baseline"] = train::compare_with_strongest_baseline(
            all, {a.replicates, a.config.seed, a.config.sensitive, a.out}, best.info, *dataset,
            test_rows, test);
      } catch (const Error& e) {  // the trained model and its metrics are kept regardless
        std::fprintf(stderr, "strand train: baseline comparison failed: %s\n", e.message().c_str());
        metrics["baseline"] = {{"error", e.message()}};
      }
    }
  } else {
    metrics["test"] = nullptr;
    metrics["test_unsealed"] = "no test examples";
  }
  metrics["model"] = best.info.to_json();
  metrics["best_epoch"] = r.best_epoch;
  metrics["monitor"] = r.monitor;
  metrics["epochs"] = r.epochs;
  metrics["steps"] = r.steps;
  metrics["stop_reason"] = r.stop_reason;
  metrics["samples_per_s"] = r.samples_per_second;
  if (comm) {
    metrics["data_parallel"] = {
        {"ranks", comm->size()},
        {"backend", std::string(runtime::comm_backend_name(comm->backend()))},
        {"global_batch", a.config.batch_size * comm->size()},
        {"zero1", a.zero1},
        {"grad_compression", a.grad_compression},
        {"comm_hidden_fraction", r.comm.hidden_fraction()},
        {"comm_exposed_seconds", r.comm.exposed_seconds}};
  }
  metrics["seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics["splits"] = splits->summary();
  metrics["data_checks"] = data_checks;
  // The checkpoint's privacy record (sensitive mark, and the DP guarantee when --dp was used).
  metrics["privacy"] = rules::read_privacy_record(best.metadata).to_json();
  if (r.dp) {
    metrics["privacy"]["guaranteed"] = r.dp_guaranteed;
    // The chosen checkpoint carries the epsilon spent up to its epoch; the run spent this much.
    metrics["privacy"]["run_epsilon"] = r.epsilon;
  }
  rules::write_json(a.out + "/metrics.json", metrics);

  if (a.json) {
    std::cout << metrics.dump(2) << "\n";
    return;
  }
  std::printf("model %s, %s, %lld outputs; %s\n", best.info.name.c_str(), best.info.kind.c_str(),
              static_cast<long long>(best.info.outputs), splits->summary().c_str());
  std::printf("trained %lld epochs (%lld steps) at %.0f samples/s in %.1f s; %s\n",
              static_cast<long long>(r.epochs), static_cast<long long>(r.steps),
              r.samples_per_second, metrics["seconds"].get<double>(), r.stop_reason.c_str());
  std::printf("chosen checkpoint: epoch %lld by validation %s %.4f; test unsealed for the %s\n",
              static_cast<long long>(r.best_epoch), r.monitor.c_str(), r.best_metric,
              reason.c_str());
  if (r.dp) {
    std::printf(
        "DP-SGD: epsilon %.3f at delta %.1e spent (%s accountant; noise multiplier %.3f, "
        "clipping norm %g, sampling rate %.4g, %lld steps)%s\n",
        r.epsilon, r.delta, a.config.dp.accountant.c_str(), r.noise_multiplier,
        a.config.dp.max_grad_norm, r.sampling_rate, static_cast<long long>(r.steps),
        r.dp_guaranteed ? ""
                        : "; shuffled fixed-size batches: NOT covered by the guarantee, "
                          "which assumes Poisson sampling");
  }
  print_table(metrics["valid"], metrics["test"]);
  std::printf("%s\n", metrics["overfitting"]["sentence"].get<std::string>().c_str());
  if (metrics.contains("permutation"))
    std::printf("permutation test: %s\n",
                metrics["permutation"]["sentence"].get<std::string>().c_str());
  if (metrics.contains("calibration") && metrics["calibration"].is_object()) {
    const auto& c = metrics["calibration"];
    std::printf("calibration (%s, fitted on %zu valid rows): test ECE %s before, %s after\n",
                c["method"].get<std::string>().c_str(), splits->valid().size(),
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
  if (data_checks["leakage"]["verdict"] == "fail")
    std::printf("warning: the splits share sequences (Rule 1): %s\n",
                data_checks["leakage"]["sentence"].get<std::string>().c_str());
  for (const auto& w : data_checks["small_data"])
    std::printf("warning: %s\n", w.get<std::string>().c_str());
  std::printf("wrote %s/model.safetensors, %s/log.jsonl, %s/metrics.json%s\n", a.out.c_str(),
              a.out.c_str(), a.out.c_str(), simulated ? " (data in DIR/data)" : "");
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
  add_data_options(cmd, a->data);
  cmd->add_option("--split-method", a->data.split_method, "auto, column, chromosome or random");
  cmd->add_option("--test-chroms", a->data.test_chroms, "Chromosomes held out as test")
      ->delimiter(',');
  cmd->add_option("--valid-chroms", a->data.valid_chroms, "Chromosomes held out as valid")
      ->delimiter(',');
  cmd->add_option("--test-fraction", a->data.test_fraction, "Random split: fraction for test");
  cmd->add_option("--valid-fraction", a->data.valid_fraction, "Random split: fraction for valid");
  cmd->add_option("--split-seed", a->data.split_seed, "Seed of the random split")
      ->check(non_negative());
  auto& c = a->config;
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
  cmd->add_option("--out", a->out, "Output directory")->capture_default_str();
  cmd->add_option("--resume", a->resume, "Continue from a checkpoint.safetensors");
  cmd->add_option("--config", a->config_file,
                  "Training config JSON (TrainConfig keys: model, epochs, batch_size, "
                  "lr, ...); flags given here win over it");
  cmd->add_option("--bootstrap", a->replicates, "Bootstrap replicates for metrics.json intervals");
  cmd->add_flag("!--no-baseline", a->baseline,
                "Skip the baselines and the comparison with the strongest (on valid) on test");
  cmd->add_flag("--json", a->json, "Print metrics.json");
  cmd->add_option("--permutations", a->permutations,
                  "Label-permutation test (Rule 7): retrain N times on shuffled training labels "
                  "and give the p-value of the real validation score");
  cmd->add_flag("--strict", a->strict,
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
    if (!a->config_file.empty()) a->config = config_with_file(*cmd, a->config_file, a->config);
    // DP noise grows with the parameter count and shrinks with the batch: unless the user chose,
    // --dp trains the small position-invariant CNN with larger batches for longer (a config file
    // states its own choices).
    if (a->config.dp.enabled && a->config_file.empty()) {
      std::string changed;
      auto dp_default = [&](const char* flag, auto& field, auto value) {
        if (cmd->count(flag) > 0) return;
        field = value;
        changed += strand::format("{}{} {}", changed.empty() ? "" : ", ", flag, value);
      };
      dp_default("--model", a->config.model, std::string("cnn-small"));
      dp_default("--batch-size", a->config.batch_size, int64_t{128});
      dp_default("--lr", a->config.lr, 0.01);
      dp_default("--epochs", a->config.epochs, int64_t{30});
      dp_default("--patience", a->config.patience, int64_t{0});
      if (!changed.empty() && !a->json && runtime::detect_launch().rank == 0)
        std::printf("--dp: private-training defaults %s (give the flags to override)\n",
                    changed.c_str());
    }
    // DeepSEA (no normalisation, a 925-unit dense layer over ~50k inputs) collapses to constant
    // outputs under Adam at the default 3e-3 (measured: validation AUROC exactly 0.5 after 3
    // epochs on the built-in task; 3e-4 learned, 0.70 after 3 epochs).
    if (a->config.model == "deepsea" && cmd->count("--lr") == 0 && a->config_file.empty() &&
        !a->config.dp.enabled) {
      a->config.lr = 3e-4;
      if (!a->json && runtime::detect_launch().rank == 0)
        std::printf("--model deepsea: default --lr 0.0003 (Adam at 0.003 collapses it)\n");
    }
    a->choose_model = cmd->count("--model") == 0 && a->config_file.empty() &&
                      !a->config.dp.enabled && a->resume.empty();
    run_train(*a);
  });
}

struct SimulateArgs {
  std::string out;
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
  int64_t batch_size = 256;
  int replicates = 1000;
  bool rc_average = false;
  bool json = false;
};

void run_eval(const EvalArgs& args) {
  EvalArgs a = args;
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
  cmd->add_option("--batch-size", a->batch_size, "Examples per batch")->capture_default_str();
  cmd->add_option("--bootstrap", a->replicates, "Bootstrap replicates for intervals");
  cmd->add_flag("--rc-average", a->rc_average,
                "Score each sequence as the mean of both strands' predictions");
  cmd->add_flag("--json", a->json, "Print the metrics panel as JSON");
  cmd->callback([a] { run_eval(*a); });
}

struct PredictArgs {
  std::string model, fasta, bed, genome, out, device = "cpu";
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
  const auto loaded = train::load_model(a.model);
  const auto device = runtime::Device::parse(a.device);
  loaded.model->to(device);
  const auto model = train::for_prediction(loaded.model, a.rc_average);
  const int64_t L = loaded.info.length;
  const data::SequenceSource input = predict_input(a, L);
  const auto& names = input.names;
  const int64_t rows = static_cast<int64_t>(names.size());
  std::vector<double> scores;
  runtime::NoGradGuard no_grad;
  for (int64_t begin = 0; begin < rows; begin += a.batch_size) {
    const int64_t end = std::min(rows, begin + a.batch_size);
    std::vector<uint8_t> codes((end - begin) * L);
    for (int64_t i = begin; i < end; ++i) input.read(i, codes.data() + (i - begin) * L);
    const Tensor x = runtime::from_vector(codes, {end - begin, L}).to(device);
    const auto s = train::scores_of(loaded.info.kind, (*model)(x));
    scores.insert(scores.end(), s.begin(), s.end());
  }
  const size_t T = loaded.info.tasks.size();
  if (a.json) {
    nlohmann::json j = {{"model", loaded.info.to_json()}, {"predictions", nlohmann::json::array()}};
    j["model"].erase("spec");
    for (size_t i = 0; i < names.size(); ++i) {
      nlohmann::json row = {{"name", names[i]}};
      for (size_t t = 0; t < T; ++t) row[loaded.info.tasks[t]] = scores[i * T + t];
      j["predictions"].push_back(row);
    }
    if (!a.out.empty()) rules::write_scores(a.out, names, loaded.info.tasks, scores);
    std::cout << j.dump(2) << "\n";
    return;
  }
  if (!a.out.empty()) {
    rules::write_scores(a.out, names, loaded.info.tasks, scores);
    std::fprintf(stderr, "wrote %zu predictions to %s\n", names.size(), a.out.c_str());
    return;
  }
  std::printf("name");
  for (const auto& t : loaded.info.tasks) std::printf("\t%s", t.c_str());
  std::printf("\n");
  for (size_t i = 0; i < names.size(); ++i) {
    std::printf("%s", names[i].c_str());
    for (size_t t = 0; t < T; ++t) std::printf("\t%.9g", scores[i * T + t]);
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
      "Output TSV: name, then one column per task (probabilities) or class (softmax).");
  cmd->add_option("--model", a->model, "model.safetensors written by strand train")->required();
  cmd->add_option("--fasta", a->fasta, "Sequences of the model's input length");
  cmd->add_option("--bed", a->bed,
                  "BED intervals to score (windows centred on them; needs --genome)");
  cmd->add_option("--genome", a->genome, "Indexed reference FASTA for --bed windows");
  cmd->add_option("--window", a->window, "Window width for --bed (default: the model's length)")
      ->check(non_negative());
  cmd->add_option("--out", a->out, "Scores TSV (default: standard output)");
  cmd->add_option("--device", a->device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--batch-size", a->batch_size, "Examples per batch")->capture_default_str();
  cmd->add_flag("--rc-average", a->rc_average,
                "Score each sequence as the mean of both strands' predictions");
  cmd->add_flag("--json", a->json, "Print the predictions as JSON");
  cmd->callback([a] { run_predict(*a); });
}

}  // namespace

void add_train_commands(CLI::App& app) {
  add_train(app);
  add_simulate(app);
  add_eval(app);
  add_predict(app);
}

}  // namespace strand::apps
