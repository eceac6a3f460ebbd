// The data checks and baseline comparison around `strand train`; see pipeline.h.
#include "train/pipeline.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "data/bed.h"
#include "rules/alignment.h"
#include "rules/baselines.h"
#include "rules/calibration.h"
#include "rules/compare.h"
#include "rules/leakage.h"
#include "rules/report.h"

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
  return why.value("verdict", std::string()) == "aligned" ? "cnn-linear" : "cnn";
}

void write_test_predictions(const std::string& out_dir, const ModelInfo& info,
                            const data::Dataset& dataset, const std::vector<int64_t>& test_rows,
                            const Predictions& test) {
  std::vector<std::string> names;
  names.reserve(test_rows.size());
  for (int64_t row : test_rows) names.push_back(dataset.name(row));
  const rules::TaskKind kind = rules::task_kind_of(data::parse_label_kind(info.kind));
  const bool multi_class = info.kind == "multi-class";
  rules::write_scores(out_dir + "/scores.tsv", names, info.tasks, test.scores);
  // Multi-class: one label column of class names (the model's outputs are the classes).
  rules::write_labels(out_dir + "/labels.tsv", names, kind,
                      multi_class ? std::vector<std::string>{"class"} : info.tasks,
                      multi_class ? info.tasks : std::vector<std::string>{}, test.labels);
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

nlohmann::json calibration_of(const ModelInfo& info, const Predictions& valid,
                              const Predictions& test) {
  if (info.kind == "regression") return nullptr;
  const auto kind =
      info.kind == "multi-class" ? rules::TaskKind::kMultiClass : rules::TaskKind::kBinary;
  return rules::calibrate_on_valid(kind, info.tasks, valid.labels, valid.scores, test.labels,
                                   test.scores);
}

nlohmann::json overfitting_of(const TrainResult& r) {
  std::string s = strand::format(
      "train/valid gap in validation {} (positive: training scores better): {} at the chosen "
      "epoch {} (train {}), {} at the last epoch {}",
      r.monitor, fixed4(r.best_gap), r.best_epoch, fixed4(r.best_train_metric), fixed4(r.last_gap),
      r.epochs);
  return {
      {"monitor", r.monitor},
      {"chosen_epoch",
       {{"epoch", r.best_epoch},
        {"train", r.best_train_metric},
        {"valid", r.best_metric},
        {"gap", r.best_gap}}},
      {"last_epoch", {{"epoch", r.epochs}, {"train", r.last_train_metric}, {"gap", r.last_gap}}},
      {"train_rows",
       "an evenly spaced probe of up to max(|valid|, 1000) training rows, "
       "scored in eval mode each epoch (log.jsonl: train_eval, gap)"},
      {"sentence", s}};
}

}  // namespace strand::train
