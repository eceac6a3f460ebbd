// The data checks and baseline comparison around `strand train`; see pipeline.h.
#include "train/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "core/version.h"
#include "data/bed.h"
#include "data/simulate.h"
#include "data/simulation_files.h"
#include "layers/gpu_math.h"
#include "rules/alignment.h"
#include "rules/baselines.h"
#include "rules/calibration.h"
#include "rules/compare.h"
#include "rules/headline.h"
#include "rules/leakage.h"
#include "rules/privacy_record.h"
#include "rules/report.h"
#include "runtime/autograd.h"
#include "train/checksum.h"
#include "train/cross_validation.h"
#include "train/learning_curve.h"
#include "train/permutation.h"
#include "train/run_directory.h"
#include "train/tune.h"

namespace strand::train {
namespace {

const char* kSplitNames[] = {"train", "valid", "test"};

std::string fixed4(double v) { return rules::fixed(v, 4); }

// The headline number of each side of a comparison: accuracy (multi-class), mean AUROC
// (binary) or mean Pearson (regression); NaN when undefined.
std::pair<double, double> headline(const nlohmann::json& c, std::string& metric) {
  auto num = [](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : std::nan(""); };
  if (c.at("kind") == "multiclass") {
    metric = "accuracy";
    return {num(c["accuracy"]["a"]), num(c["accuracy"]["b"])};
  }
  metric = c.at("kind") == "binary" ? "mean AUROC" : "mean Pearson";
  const char* key = c.at("kind") == "binary" ? "auroc" : "pearson";
  double a = 0, b = 0;
  int n = 0;
  for (const auto& [_, t] : c["tasks"].items()) {
    a += num(t[key]["a"]), b += num(t[key]["b"]), ++n;
  }
  return {n ? a / n : std::nan(""), n ? b / n : std::nan("")};
}

}  // namespace

std::string SplitLeakage::sentence() const {
  std::string s = strand::format(
      "{} exact, {} reverse-complement and {} near-duplicate (identity >= 0.85) pairs across "
      "splits",
      exact, reverse_complement, near_duplicate);
  if (overlapping_intervals > 0)
    s += strand::format(", {} overlapping intervals", overlapping_intervals);
  return s;
}

nlohmann::json SplitLeakage::to_json() const {
  return {{"exact", exact},
          {"reverse_complement", reverse_complement},
          {"near_duplicate", near_duplicate},
          {"overlapping_intervals", overlapping_intervals},
          {"verdict", leak() ? "fail" : "pass"},
          {"sentence", sentence()},
          {"check", "strand check splits (same detector and defaults)"}};
}

SplitLeakage check_split_leakage(const rules::LabelledSequences& all, const std::string& bed_path) {
  STRAND_CHECK(all.split.size() == all.seqs.size(), "split check: {} splits for {} sequences",
               all.split.size(), all.seqs.size());
  const auto report = rules::find_duplicates(all.seqs, all.split, rules::LeakageOptions{});
  SplitLeakage out;
  out.exact = report.exact;
  out.reverse_complement = report.reverse_complement;
  out.near_duplicate = report.near_duplicate;
  if (!bed_path.empty()) {
    const auto bed = data::read_bed(bed_path);
    STRAND_CHECK(bed.intervals.size() == all.split.size(), "'{}': {} intervals but {} examples",
                 bed_path, bed.intervals.size(), all.split.size());
    std::vector<rules::GenomicInterval> intervals;
    for (size_t i = 0; i < all.split.size(); ++i)
      intervals.push_back(
          {bed.intervals[i].chrom, bed.intervals[i].start, bed.intervals[i].end, all.split[i]});
    out.overlapping_intervals = static_cast<int64_t>(rules::cross_split_overlaps(intervals).size());
  }
  return out;
}

std::vector<std::string> small_split_warnings(const rules::LabelledSequences& all,
                                              int64_t min_per_class) {
  std::vector<std::string> out;
  const size_t T = all.tasks.size();
  for (int s : {1, 2}) {
    // The smallest count of any class (or rows, for regression) in split s, and which it is.
    int64_t rows = 0, smallest = -1;
    std::string which;
    std::map<std::string, int64_t> counts;
    for (size_t i = 0; i < all.split.size(); ++i) {
      if (all.split[i] != s) continue;
      ++rows;
      for (size_t t = 0; t < T; ++t) {
        const double v = all.labels[i * T + t];
        if (std::isnan(v)) continue;
        if (all.kind == rules::TaskKind::kMultiClass)
          ++counts["class " + all.classes[static_cast<size_t>(v)]];
        else if (all.kind == rules::TaskKind::kBinary)
          ++counts[strand::format("{} of '{}'", v > 0.5 ? "positives" : "negatives", all.tasks[t])];
      }
    }
    if (all.kind == rules::TaskKind::kMultiClass)
      for (const auto& c : all.classes) counts.try_emplace("class " + c, 0);
    if (all.kind == rules::TaskKind::kBinary)
      for (const auto& t : all.tasks) {
        counts.try_emplace(strand::format("positives of '{}'", t), 0);
        counts.try_emplace(strand::format("negatives of '{}'", t), 0);
      }
    if (all.kind == rules::TaskKind::kRegression) counts["rows"] = rows;
    for (const auto& [name, n] : counts)
      if (smallest < 0 || n < smallest) smallest = n, which = name;
    if (smallest >= 0 && smallest < min_per_class)
      out.push_back(strand::format(
          "the {} split has {} examples and only {} {} (fewer than {}): too few to rank models "
          "or epochs reliably; its scores are noisy (use more data, or cross-validation)",
          kSplitNames[s], rows, smallest, which, min_per_class));
  }
  return out;
}

nlohmann::json check_run_data(const rules::LabelledSequences& all, const std::string& bed_path,
                              bool strict, bool warn) {
  const SplitLeakage leakage = check_split_leakage(all, bed_path);
  STRAND_CHECK(!strict || !leakage.leak(),
               "--strict: the run's splits share sequences: {}; remove them (strand check splits "
               "--dedup-out DIR writes de-duplicated splits) or train without --strict",
               leakage.sentence());
  const auto small = small_split_warnings(all);
  if (warn) {
    if (leakage.leak())
      std::fprintf(stderr,
                   "strand train: warning: Rule 1: %s; test scores will be inflated (strand "
                   "check splits lists them; --strict refuses)\n",
                   leakage.sentence().c_str());
    for (const auto& w : small) std::fprintf(stderr, "strand train: warning: %s\n", w.c_str());
  }
  return {{"leakage", leakage.to_json()}, {"small_data", small}};
}

std::string default_model_for(const rules::LabelledSequences& all, nlohmann::json& why) {
  why = rules::diagnose_alignment(rules::inspect_input(all));
  return why.value("verdict", std::string()) == "aligned" ? "cnn-aligned" : "cnn";
}

nlohmann::json compare_with_strongest_baseline(const rules::LabelledSequences& all,
                                               const BaselineComparisonOptions& o,
                                               const ModelInfo& info, const data::Dataset& dataset,
                                               const std::vector<int64_t>& test_rows,
                                               const Predictions& model_test) {
  const rules::BaselineProblem p = rules::baseline_problem(all);
  rules::BaselineConfig config;  // which stays empty: every baseline that applies
  config.panel.bootstrap.replicates = o.replicates;
  config.panel.bootstrap.seed = o.seed;
  config.sensitive = o.sensitive;
  const auto results = rules::run_baselines(p, config);
  const rules::BaselineResult* strongest = rules::strongest_on_valid(results);
  STRAND_CHECK(strongest != nullptr,
               "no baseline has a validation score to rank by (valid has {} rows)",
               p.valid.seqs.size());
  const rules::BaselineResult& baseline = *strongest;
  nlohmann::json candidates = nlohmann::json::object();
  for (const auto& r : results) candidates[r.name] = r.metrics["valid_metric"];
  STRAND_CHECK(baseline.score_columns == info.tasks,
               "the baseline scores columns {} but the model outputs {}", baseline.score_columns,
               info.tasks);

  // The model's test scores in the baseline's row order (both come from the same split).
  std::map<std::string, int64_t> position;
  for (size_t i = 0; i < test_rows.size(); ++i) position[dataset.name(test_rows[i])] = i;
  STRAND_CHECK(position.size() == p.test.names.size(),
               "the baseline's test split ({} sequences) differs from the model's ({})",
               p.test.names.size(), position.size());
  const int64_t columns = model_test.outputs;
  std::vector<double> model_scores;
  model_scores.reserve(p.test.names.size() * columns);
  for (const std::string& name : p.test.names) {
    const auto it = position.find(name);
    STRAND_CHECK(it != position.end(), "test sequence '{}' is not in the model's test split", name);
    for (int64_t c = 0; c < columns; ++c)
      model_scores.push_back(model_test.scores[it->second * columns + c]);
  }
  rules::CompareOptions compare;
  compare.bootstrap.replicates = o.replicates;
  compare.bootstrap.seed = o.seed;
  const nlohmann::json comparison = rules::compare_runs(
      p.kind, baseline.score_columns, p.test.labels, model_scores, baseline.test_scores, compare);
  const nlohmann::json summary = rules::summarize_comparison(comparison);

  // The plain verdict: does the baseline win?
  std::string metric;
  const auto [model_value, baseline_value] = headline(comparison, metric);
  std::string verdict;
  if (summary["b_better"].get<int>() > 0)
    verdict = strand::format(
        "the baseline {} is significantly better than the model on test ({} {} vs {}): "
        "the deep model does not beat a simple model here",
        baseline.name, metric, fixed4(baseline_value), fixed4(model_value));
  else if (baseline_value > model_value)
    verdict = strand::format(
        "the baseline {} scores higher than the model on test ({} {} vs {}), not "
        "significantly",
        baseline.name, metric, fixed4(baseline_value), fixed4(model_value));
  else
    verdict = strand::format(
        "the model is at least as good as the strongest baseline {} on test "
        "({} {} vs {}){}",
        baseline.name, metric, fixed4(model_value), fixed4(baseline_value),
        summary["a_better"].get<int>() > 0 ? ", significantly better" : "");

  if (!o.out_dir.empty()) {
    const std::string dir = o.out_dir + "/baselines/" + baseline.name;
    std::filesystem::create_directories(dir);
    rules::write_json(dir + "/metrics.json", baseline.metrics);
    rules::write_scores(dir + "/scores.tsv", p.test.names, baseline.score_columns,
                        baseline.test_scores);
  }
  return {{"name", baseline.name},
          {"chosen_by", "validation (mean AUROC; macro AUROC for multi-class; -MSE regression)"},
          {"candidates", candidates},
          {"test", baseline.metrics},
          {"comparison", comparison},
          {"summary", summary},
          {"baseline_wins", baseline_value > model_value},
          {"verdict", verdict}};
}

nlohmann::json overfitting_of(const TrainResult& r) {
  std::string s = strand::format(
      "train/valid gap in validation {} (positive: training scores better): {} at the chosen "
      "epoch {} (train {}), {} at the last epoch {}",
      r.monitor, fixed4(r.best_gap), r.best_epoch, fixed4(r.best_train_metric), fixed4(r.last_gap),
      r.epochs);
  return {{"monitor", r.monitor},
          {"chosen_epoch",
           {{"epoch", r.best_epoch},
            {"train", r.best_train_metric},
            {"valid", r.best_metric},
            {"gap", r.best_gap}}},
          {"last_epoch",
           {{"epoch", r.epochs},
            {"train", r.last_train_metric},
            {"valid", r.last_metric},
            {"gap", r.last_gap}}},
          {"train_rows",
           "an evenly spaced probe of up to max(|valid|, 1000) training rows, "
           "scored in eval mode each epoch (log.jsonl: train_eval, gap)"},
          {"sentence", s}};
}

RunDataset load_run_data(const data::DataSource& source, bool decode) {
  RunDataset out;
  out.dataset = data::load_dataset(source);
  const data::SplitOptions options = data::split_options(source);
  const std::vector<data::Split> assignment = data::assign_splits(*out.dataset, options);
  out.splits = std::make_shared<data::SplitDataset>(
      out.dataset, assignment, data::resolved_method_name(*out.dataset, options.method));
  if (decode) out.rows = rules::decode_dataset(*out.dataset, assignment);
  return out;
}

bool use_simulated_data(data::DataSource& d, const std::string& out, runtime::Communicator* comm,
                        bool writer) {
  if (!d.fasta.empty() || !d.bed.empty()) return false;
  STRAND_CHECK(d.labels.empty(), "--labels needs --fasta");
  std::string paths;
  if (writer) {
    const auto files = data::write_simulation(data::simulate(), out + "/data");
    paths = files.fasta + "\n" + files.labels;
  }
  if (comm) paths = runtime::all_gather_strings(*comm, paths)[0];
  d.fasta = paths.substr(0, paths.find('\n'));
  d.labels = paths.substr(paths.find('\n') + 1);
  return true;
}

std::vector<std::string> apply_run_defaults(TrainConfig& c,
                                            const std::function<bool(const std::string&)>& given) {
  std::vector<std::string> notes;
  // DP noise grows with the parameter count and shrinks with the batch: unless the user chose,
  // DP trains the small position-invariant CNN with larger batches for longer.
  if (c.dp.enabled) {
    std::string changed;
    auto dp_default = [&](const char* key, auto& field, auto value) {
      if (given(key)) return;
      field = value;
      std::string flag = std::string("--") + key;
      std::replace(flag.begin(), flag.end(), '_', '-');
      changed += strand::format("{}{} {}", changed.empty() ? "" : ", ", flag, value);
    };
    dp_default("model", c.model, std::string("cnn-small"));
    dp_default("batch_size", c.batch_size, int64_t{128});
    dp_default("lr", c.lr, 0.01);
    dp_default("epochs", c.epochs, int64_t{30});
    dp_default("patience", c.patience, int64_t{0});
    if (!changed.empty())
      notes.push_back("--dp: private-training defaults " + changed +
                      " (give the flags to override)");
  }
  // DeepSEA (no normalisation, a 925-unit dense layer over ~50k inputs) collapses to constant
  // outputs under Adam at the default 3e-3 (measured: validation AUROC exactly 0.5 after 3
  // epochs on the built-in task; 3e-4 learned, 0.70 after 3 epochs).
  if (c.model == "deepsea" && !given("lr") && !c.dp.enabled) {
    c.lr = 3e-4;
    notes.push_back("--model deepsea: default --lr 0.0003 (Adam at 0.003 collapses it)");
  }
  return notes;
}

nlohmann::json default_tuning(data::SplitDataset& splits, TrainConfig& config,
                              const std::string& out_dir, const DefaultTuning& t) {
  const int64_t bases = static_cast<int64_t>(splits.train().size()) * splits.dataset().length();
  if (bases > t.max_bases)
    return {{"ran", false},
            {"reason", strand::format("train holds {} bases, above the default tuning's limit of "
                                      "{}: the default learning rate and batch size are kept "
                                      "(strand tune searches on any size)",
                                      bases, t.max_bases)}};
  if (config.epochs < t.min_run_epochs)
    return {{"ran", false},
            {"reason", strand::format("the run trains at most {} epochs, fewer than {}: the "
                                      "search's epochs would cost more than they could gain "
                                      "(the default learning rate and batch size are kept)",
                                      config.epochs, t.min_run_epochs)}};
  const auto start = std::chrono::steady_clock::now();
  // The default model stays; the search picks its learning rate (around the default 3e-3) and
  // batch size, the settings a fixed default most often gets wrong for a new dataset.
  const SearchSpace space = SearchSpace::parse(
      strand::format("model: [{}]\nlr: [0.001, 0.003, 0.006]\nbatch_size: [32, 64]\n",
                     config.model),
      "strand train's default tuning");
  std::filesystem::remove_all(out_dir);  // a fresh search each run: it is cheap
  TuneOptions o;
  o.trials = t.trials, o.min_epochs = t.min_epochs, o.max_epochs = t.max_epochs, o.eta = t.eta;
  o.seed = config.seed, o.open_test = false, o.out_dir = out_dir, o.bootstrap = 0;
  const nlohmann::json r = tune(splits, config, space, o);
  const nlohmann::json& chosen = r["chosen"];
  config.lr = chosen["config"]["lr"].get<double>();
  config.batch_size = chosen["config"]["batch_size"].get<int64_t>();
  int64_t epochs = 0;
  for (const auto& trial : r["trials"]) epochs += trial["epochs"].get<int64_t>();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {{"ran", true},
          {"trials", r["trials"].size()},
          {"epochs", epochs},
          {"seconds", seconds},
          {"chosen", {{"lr", config.lr}, {"batch_size", config.batch_size}}},
          {"search", out_dir},
          {"sentence",
           strand::format("default tuning: {} trials of {} (lr 0.001, 0.003 or 0.006, batch 32 "
                          "or 64; asynchronous successive halving over {} and {} epochs, "
                          "validation only, test sealed) chose lr {} and batch {} in {} s ({} "
                          "epochs in all; --no-tune skips it)",
                          r["trials"].size(), config.model, t.min_epochs, t.max_epochs, config.lr,
                          config.batch_size, rules::fixed(seconds, 1), epochs)}};
}

namespace {

RunReport train_and_evaluate(RunOptions& a, bool writer,
                             std::chrono::steady_clock::time_point start) {
  const auto& comm = a.parallel.comm;
  auto note = [&](const std::string& line) {
    if (a.note && writer) a.note(line);
  };
  STRAND_CHECK(!comm || a.permutations == 0,
               "--permutations runs in one process (not under mpirun or srun)");
  STRAND_CHECK(a.permutations >= 0, "--permutations must be >= 0, got {}", a.permutations);
  RunReport report;
  STRAND_CHECK(a.cv == 0 || a.cv >= 2, "--cv needs at least 2 folds, got {}", a.cv);
  STRAND_CHECK(a.cv == 0 || (!comm && a.resume.empty() && a.permutations == 0),
               "--cv runs in one process, without --resume or --permutations");
  STRAND_CHECK(!a.learning_curve || (!comm && a.resume.empty() && a.permutations == 0 && a.cv == 0),
               "--learning-curve runs in one process, without --resume, --permutations or --cv");
  if (use_simulated_data(a.data, a.out, comm.get(), writer)) {
    report.simulated = true;
    note(strand::format("no data given: training on the built-in simulated dataset ({})",
                        a.out + "/data"));
  }
  // The rows and splits the trainer reads; the writer also gets them as text for the data checks
  // and the baselines.
  const RunDataset loaded = load_run_data(a.data, writer);
  const auto& dataset = loaded.dataset;
  const auto& splits = loaded.splits;
  const rules::LabelledSequences& all = loaded.rows;

  // Rule 1 on the run's own splits before training (leakage), and splits too small to rank by.
  nlohmann::json data_checks;
  if (writer) {
    data_checks = check_run_data(all, a.data.bed, a.strict, true);
    if (a.choose_model && !comm) {  // one process: the default model follows the data
      nlohmann::json why;
      a.config.model = default_model_for(all, why);
      data_checks["default_model"] = {{"model", a.config.model}, {"alignment", why}};
      note(strand::format("default model: {} (the task looks {}: {})", a.config.model,
                          why.value("verdict", std::string("?")),
                          why.value("reason", std::string())));
    }
  }

  if (a.cv > 0) {  // the folds instead of one run
    CrossValidationOptions o;
    o.folds = a.cv;
    o.seed = a.config.seed;
    o.group_by = a.cv_group;
    o.bootstrap = a.replicates;
    o.out_dir = a.out;
    // The default model's tuning runs inside each fold, on that fold's training part only, so
    // the held-out estimate is of the whole procedure `strand train` runs (nested; no leakage).
    FoldTuner tune;
    if (a.choose_model && a.default_tune)
      tune = [](data::SplitDataset& fold, TrainConfig& c, const std::string& dir) {
        return default_tuning(fold, c, dir);
      };
    note(strand::format("{}-fold cross-validation on train + valid ({} rows; test untouched{})...",
                        a.cv, splits->train().size() + splits->valid().size(),
                        tune ? "; the default tuning runs inside each fold" : ""));
    report.metrics = cross_validate(
        *splits, a.config, o,
        [&](int k, double v) { note(strand::format("  fold {}: held-out {}", k, fixed4(v))); },
        tune);
    report.metrics["model"] = a.config.model;
    report.metrics["data_checks"] = data_checks;
    rules::write_json(a.out + "/cv.json", report.metrics);
    return report;
  }
  if (a.learning_curve) {  // one model per training fraction instead of one run
    LearningCurveOptions o;
    o.fractions = a.curve_fractions;
    o.seed = a.config.seed;
    note(strand::format(
        "learning curve: {} models on {} of the {} training rows, scored on "
        "valid...",
        o.fractions.size(), nlohmann::json(o.fractions).dump(), splits->train().size()));
    report.metrics = learning_curve(*splits, a.config, o, [&](int i, double v) {
      note(strand::format("  {}: validation {}", o.fractions[i - 1], fixed4(v)));
    });
    report.metrics["model"] = a.config.model;
    rules::write_json(a.out + "/learning_curve.json", report.metrics);
    return report;
  }

  nlohmann::json tuning;
  if (a.choose_model && a.default_tune && !comm && a.resume.empty()) {
    note(
        "default tuning: a small search over the learning rate and batch size (--no-tune "
        "skips it)...");
    tuning = default_tuning(*splits, a.config, a.out + "/default-tuning");
  }

  RunMetadata run;
  for (const std::string& f : {a.data.fasta, a.data.labels, a.data.bed, a.data.genome})
    if (!f.empty()) run.data[f] = file_crc32(f);
  Trainer trainer(splits, a.config, a.out, run);
  if (comm) trainer.distribute(a.parallel);
  if (!a.resume.empty()) trainer.resume(a.resume);
  const TrainResult r = trainer.fit();
  report.result = r;
  STRAND_CHECK(r.best_epoch > 0, "training produced no usable model: {}", r.stop_reason);
  if (!writer) return report;  // rank 0 evaluates the chosen model and reports
  if (r.diverged) std::fprintf(stderr, "strand train: %s\n", r.stop_reason.c_str());

  // Final metrics of the chosen checkpoint: validation, then the sealed test split once.
  const auto best = load_model(trainer.model_path());
  const auto device = runtime::Device::parse(a.config.device);
  best.model->to(device);
  layers::set_gpu_math(*best.model, {a.config.conv_algo, a.config.tf32, a.config.rnn_algo});
  const auto predictor = for_prediction(best.model, a.config.rc_average);
  const int64_t eval_batch = std::max<int64_t>(256, a.config.batch_size);
  nlohmann::json metrics;
  const Predictions valid =
      predict_rows(*predictor, best.info.kind, dataset, splits->valid(), eval_batch, device);
  report.valid_rows = static_cast<int64_t>(splits->valid().size());
  metrics["valid"] = panel_of(best.info, valid, a.replicates);
  metrics["overfitting"] = overfitting_of(r);
  if (a.permutations > 0) {
    note(strand::format("label-permutation test: {} runs on shuffled training labels...",
                        a.permutations));
    metrics["permutation"] =
        permutation_test(*splits, a.config, a.permutations, r.best_metric).to_json();
  }
  const std::string reason = strand::format(
      "final evaluation of the chosen checkpoint (epoch {}, validation {} {}) after training",
      r.best_epoch, r.monitor, fixed4(r.best_metric));
  report.test_reason = reason;
  if (splits->test_size() > 0) {
    const auto& test_rows = splits->unseal_test(reason);
    const Predictions test =
        predict_rows(*predictor, best.info.kind, dataset, test_rows, eval_batch, device);
    metrics["test"] = panel_of(best.info, test, a.replicates);
    write_predictions(a.out, best.info, *dataset, test_rows, test);
    metrics["calibration"] = calibration_of(best.info, valid, test, trainer.model_path(), r.dp);
    metrics["test_unsealed"] = reason;
    if (a.baseline) {
      note("fitting the baselines on the same splits...");
      try {
        metrics["baseline"] = compare_with_strongest_baseline(
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
  // Rule 9: the number the summary leads with, chosen by the data's balance.
  metrics["headline"] =
      rules::headline_of(metrics["test"].is_object() ? metrics["test"] : metrics["valid"]);
  metrics["headline"]["split"] = metrics["test"].is_object() ? "test" : "valid";
  metrics["model"] = best.info.to_json();
  metrics["strand"] = {{"version", version()}, {"commit", git_commit()}};
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
        {"zero1", a.parallel.zero1},
        {"grad_compression", a.parallel.reducer.bf16_compression ? "bf16" : "none"},
        {"comm_hidden_fraction", r.comm.hidden_fraction()},
        {"comm_exposed_seconds", r.comm.exposed_seconds}};
  }
  metrics["seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics["splits"] = splits->summary();
  metrics["data_checks"] = data_checks;
  metrics["default_tuning"] = tuning;
  // The checkpoint's privacy record (sensitive mark, and the DP guarantee when DP was used).
  metrics["privacy"] = rules::read_privacy_record(best.metadata).to_json();
  if (r.dp) {
    metrics["privacy"]["guaranteed"] = r.dp_guaranteed;
    // The chosen checkpoint carries the epsilon spent up to its epoch; the run spent this much.
    metrics["privacy"]["run_epsilon"] = r.epsilon;
  }
  rules::write_json(a.out + "/metrics.json", metrics);
  report.metrics = std::move(metrics);
  return report;
}

}  // namespace

RunReport run_training(RunOptions o) {
  // Before any data is read: a CUDA-only choice on a CPU run is a mistake in the command.
  layers::check_gpu_math({o.config.conv_algo, o.config.tf32, o.config.rnn_algo}, o.config.device);
  const auto start = std::chrono::steady_clock::now();
  const auto& comm = o.parallel.comm;
  const bool writer = !comm || comm->rank() == 0;
  RunReport report;
  try {
    with_run_directory(
        writer ? o.out : "", [&] { report = train_and_evaluate(o, writer, start); }, o.command);
  } catch (const Error& e) {
    // A lost rank: fail this communicator for good so nothing waits on it at exit.
    if (comm) comm->abort(e.message());
    throw;
  }
  return report;
}

}  // namespace strand::train
