// Stratified, grouped K-fold cross-validation; see cross_validation.h.
#include "train/cross_validation.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>

#include "core/error.h"
#include "data/encoding.h"
#include "data/random.h"
#include "layers/gpu_math.h"
#include "rules/baselines.h"
#include "rules/headline.h"
#include "rules/io.h"
#include "rules/leakage.h"
#include "rules/report.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace strand::train {
namespace {

// Union-find over row positions.
struct Groups {
  std::vector<int64_t> parent;
  explicit Groups(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  int64_t find(int64_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  }
  void join(int64_t a, int64_t b) { parent[find(a)] = find(b); }
};

// The metrics summarised over folds, by panel kind: [json pointer, name].
std::vector<std::pair<std::string, std::string>> fold_metrics(const std::string& kind) {
  if (kind == "multi-class") return {{"/accuracy", "accuracy"}, {"/macro_auroc", "macro_auroc"}};
  if (kind == "regression") return {{"/macro/pearson", "pearson"}, {"/macro/mse", "mse"}};
  return {{"/macro/auroc", "auroc"}, {"/macro/auprc", "auprc"}};
}

double number_at(const nlohmann::json& panel, const std::string& pointer) {
  const nlohmann::json::json_pointer p(pointer);
  return panel.contains(p) && panel.at(p).is_number() ? panel.at(p).get<double>() : std::nan("");
}

// {mean, sd, folds_defined, values} of per-fold values (NaN: undefined in that fold).
nlohmann::json mean_and_sd(const std::vector<double>& v) {
  double mean = 0, sd = 0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) mean += x, ++n;
  mean = n ? mean / n : std::nan("");
  for (double x : v)
    if (std::isfinite(x)) sd += (x - mean) * (x - mean);
  sd = n > 1 ? std::sqrt(sd / (n - 1)) : std::nan("");
  nlohmann::json vals = nlohmann::json::array();
  for (double x : v) vals.push_back(std::isfinite(x) ? nlohmann::json(x) : nlohmann::json());
  return {{"mean", n ? nlohmann::json(mean) : nlohmann::json()},
          {"sd", n > 1 ? nlohmann::json(sd) : nlohmann::json()},
          {"folds_defined", n},
          {"values", vals}};
}

// Rows ids of all (no splits), and the same as one split of a baseline problem.
rules::LabelledSequences subset(const rules::LabelledSequences& all,
                                const std::vector<int64_t>& ids) {
  rules::LabelledSequences out;
  out.kind = all.kind, out.tasks = all.tasks, out.classes = all.classes;
  const size_t T = all.tasks.size();
  for (int64_t i : ids) {
    out.names.push_back(all.names[i]);
    out.seqs.push_back(all.seqs[i]);
    out.labels.insert(out.labels.end(), all.labels.begin() + i * T,
                      all.labels.begin() + (i + 1) * T);
    if (!all.chroms.empty()) out.chroms.push_back(all.chroms[i]);
  }
  return out;
}

rules::SplitData split_data(const rules::LabelledSequences& all, const std::vector<int64_t>& ids) {
  rules::LabelledSequences s = subset(all, ids);
  return {std::move(s.names), std::move(s.seqs), std::move(s.labels)};
}

// A baseline's pooled out-of-fold predictions (the rows of p.test) in DIR/scores.tsv and
// DIR/labels.tsv, as a run writes its test predictions, so `strand compare` pairs them with a
// model's cross-validation by name.
void write_pooled_predictions(const std::string& dir, const rules::BaselineProblem& p,
                              const std::vector<double>& scores) {
  std::filesystem::create_directories(dir);
  const bool multi_class = p.kind == rules::TaskKind::kMultiClass;
  rules::write_scores(dir + "/scores.tsv", p.test.names, multi_class ? p.classes : p.tasks, scores);
  rules::write_labels(dir + "/labels.tsv", p.test.names, p.kind, p.tasks,
                      multi_class ? p.classes : std::vector<std::string>{}, p.test.labels);
}

}  // namespace

std::string mean_sd_text(const nlohmann::json& m) {
  auto f = [](const nlohmann::json& x) {
    return x.is_number() ? rules::fixed(x.get<double>(), 4) : std::string("-");
  };
  return f(m["mean"]) + " +/- " + f(m["sd"]);
}

std::string resolved_group_by(const rules::LabelledSequences& rows, const std::string& group_by) {
  if (group_by != "auto") return group_by;
  return rows.chroms.empty() ? "duplicates" : "chromosome";
}

std::vector<int64_t> cv_groups(const rules::LabelledSequences& rows, const std::string& group_by) {
  STRAND_CHECK(group_by == "auto" || group_by == "duplicates" || group_by == "chromosome" ||
                   group_by == "none",
               "--cv-group must be auto, duplicates, chromosome or none, got '{}'", group_by);
  const std::string by = resolved_group_by(rows, group_by);
  const size_t n = rows.seqs.size();
  STRAND_CHECK(by != "chromosome" || rows.chroms.size() == n,
               "--cv-group chromosome needs genome intervals (--bed input): FASTA records have no "
               "chromosomes");
  Groups g(n);
  if (by != "none") {
    rules::LeakageOptions o;
    o.scope = rules::PairScope::kWithinSplit;
    const std::vector<int> one_split(n, 0);
    for (const auto& pair : rules::find_duplicates(rows.seqs, one_split, o).pairs)
      g.join(pair.a, pair.b);
  }
  if (by == "chromosome") {
    std::map<std::string, int64_t> first;
    for (size_t i = 0; i < n; ++i) {
      const auto [it, added] = first.emplace(rows.chroms[i], i);
      if (!added) g.join(static_cast<int64_t>(i), it->second);
    }
  }
  std::vector<int64_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = g.find(static_cast<int64_t>(i));
  return out;
}

namespace {

// Strata from row-major labels (n x T; multi-class: the class index).
template <typename Label>
std::vector<int> strata_of(rules::TaskKind kind, size_t T, const std::vector<Label>& labels) {
  const size_t n = T ? labels.size() / T : 0;
  std::vector<int> out(n, 0);
  if (kind == rules::TaskKind::kRegression) return out;
  if (kind == rules::TaskKind::kMultiClass) {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<int>(labels[i]);
    return out;
  }
  // Binary / multi-label: stratify by the rarest task, whose folds would otherwise lack positives.
  std::vector<int64_t> positives(T, 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t t = 0; t < T; ++t) positives[t] += labels[i * T + t] > 0.5;
  const size_t rare = std::min_element(positives.begin(), positives.end()) - positives.begin();
  for (size_t i = 0; i < n; ++i) {
    const double v = labels[i * T + rare];
    out[i] = std::isnan(v) ? 2 : v > 0.5 ? 1 : 0;
  }
  return out;
}

}  // namespace

std::vector<int> cv_strata(const rules::LabelledSequences& rows) {
  return strata_of(rows.kind, rows.tasks.size(), rows.labels);
}

std::vector<int> cv_strata(const data::Dataset& dataset, const std::vector<int64_t>& rows) {
  const int64_t T = dataset.num_outputs();
  std::vector<float> labels;
  labels.reserve(rows.size() * T);
  for (int64_t r : rows) labels.insert(labels.end(), dataset.labels(r), dataset.labels(r) + T);
  return strata_of(rules::task_kind_of(dataset.kind()), static_cast<size_t>(T), labels);
}

void check_fold_count(const rules::LabelledSequences& rows, const std::vector<int64_t>& groups,
                      int folds) {
  STRAND_CHECK(folds >= 2, "--cv needs at least 2 folds, got {}", folds);
  std::map<std::string, int64_t> counts;  // what each held-out fold needs one of
  const size_t T = rows.tasks.size();
  for (size_t i = 0; i < rows.seqs.size(); ++i) {
    const double* y = rows.labels.data() + i * T;
    if (rows.kind == rules::TaskKind::kRegression) {
      ++counts["rows"];
    } else if (rows.kind == rules::TaskKind::kMultiClass) {
      ++counts["class '" + rows.classes[static_cast<size_t>(y[0])] + "'"];
    } else {
      for (size_t t = 0; t < T; ++t) {
        if (std::isnan(y[t])) continue;
        const std::string task = "of '" + rows.tasks[t] + "'";
        ++counts[(y[t] > 0.5 ? "positives " : "negatives ") + task];
        counts.try_emplace((y[t] > 0.5 ? "negatives " : "positives ") + task, 0);
      }
    }
  }
  const auto smallest =
      std::min_element(counts.begin(), counts.end(),
                       [](const auto& a, const auto& b) { return a.second < b.second; });
  STRAND_CHECK(smallest != counts.end(), "--cv: no labelled rows in train + valid");
  STRAND_CHECK(smallest->second >= folds,
               "--cv {} exceeds the smallest class count: {} has {} examples in train + valid "
               "(every held-out fold needs at least one); use --cv {} or fewer",
               folds, smallest->first, smallest->second, std::max<int64_t>(smallest->second, 2));
  const int64_t distinct =
      static_cast<int64_t>(std::set<int64_t>(groups.begin(), groups.end()).size());
  STRAND_CHECK(distinct >= folds,
               "--cv {} exceeds the number of groups that must stay in one fold ({}; see "
               "--cv-group)",
               folds, distinct);
}

std::vector<int> assign_folds(const std::vector<int>& strata, const std::vector<int64_t>& groups,
                              int folds, uint64_t seed) {
  STRAND_CHECK(strata.size() == groups.size(), "assign_folds: {} strata, {} groups", strata.size(),
               groups.size());
  const int S = strata.empty() ? 1 : *std::max_element(strata.begin(), strata.end()) + 1;
  std::map<int64_t, std::vector<size_t>> members;
  for (size_t i = 0; i < groups.size(); ++i) members[groups[i]].push_back(i);
  std::vector<const std::vector<size_t>*> order;
  for (const auto& [_, m] : members) order.push_back(&m);
  std::vector<uint64_t> key(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) key[i] = data::mix64(seed * 0x9e3779b97f4a7c15ULL + i);
  std::sort(order.begin(), order.end(), [&](const auto* a, const auto* b) {
    if (a->size() != b->size()) return a->size() > b->size();
    return key[a->front()] < key[b->front()];
  });
  std::vector<double> total(S, 0);
  for (int s : strata) ++total[s];
  std::vector<std::vector<double>> count(folds, std::vector<double>(S, 0));
  std::vector<int64_t> size(folds, 0);
  std::vector<int> fold(groups.size(), 0);
  for (const auto* m : order) {
    std::vector<double> add(S, 0);
    for (size_t i : *m) ++add[strata[i]];
    int best = 0;
    double best_share = INFINITY;
    for (int f = 0; f < folds; ++f) {
      double share = 0;  // the fullest of the group's strata in fold f after adding it
      for (int s = 0; s < S; ++s)
        if (add[s] > 0) share = std::max(share, (count[f][s] + add[s]) / total[s]);
      if (share < best_share - 1e-12 || (share < best_share + 1e-12 && size[f] < size[best]))
        best = f, best_share = share;
    }
    for (size_t i : *m) fold[i] = best;
    for (int s = 0; s < S; ++s) count[best][s] += add[s];
    size[best] += static_cast<int64_t>(m->size());
  }
  return fold;
}

CvPlan plan_folds(const rules::LabelledSequences& rows, std::vector<int64_t> ids,
                  const CrossValidationOptions& o) {
  STRAND_CHECK(o.inner_valid_fraction > 0 && o.inner_valid_fraction < 0.5,
               "inner validation fraction must be in (0, 0.5), got {}", o.inner_valid_fraction);
  STRAND_CHECK(ids.size() == rows.seqs.size(), "plan_folds: {} ids for {} rows", ids.size(),
               rows.seqs.size());
  CvPlan plan;
  plan.folds = o.folds;
  plan.pool = std::move(ids);
  plan.group_by = resolved_group_by(rows, o.group_by);
  plan.groups = cv_groups(rows, o.group_by);
  check_fold_count(rows, plan.groups, o.folds);
  plan.strata = cv_strata(rows);
  plan.fold_of = assign_folds(plan.strata, plan.groups, o.folds, o.seed);
  plan.inner_folds = static_cast<int>(std::lround(1.0 / o.inner_valid_fraction));
  plan.seed = o.seed;
  return plan;
}

CvPlan plan_folds(const data::SplitDataset& splits, const CrossValidationOptions& o) {
  std::vector<int64_t> pool = splits.train();
  pool.insert(pool.end(), splits.valid().begin(), splits.valid().end());
  std::sort(pool.begin(), pool.end());
  return plan_folds(rules::decode_rows(splits.dataset(), pool), pool, o);
}

CvPlan::FoldRows CvPlan::rows_of(int k) const {
  std::vector<int64_t> rest, rest_groups;
  std::vector<int> rest_strata;
  FoldRows out;
  for (size_t i = 0; i < pool.size(); ++i) {
    if (fold_of[i] == k) {
      out.held.push_back(pool[i]);
    } else {
      rest.push_back(pool[i]);
      rest_strata.push_back(strata[i]);
      rest_groups.push_back(groups[i]);
    }
  }
  // The epoch (and, when tuning, the configuration) is chosen on an inner part of the training
  // folds, so the held-out fold is scored by a model that never saw it, not even for early
  // stopping.
  const std::vector<int> inner = assign_folds(rest_strata, rest_groups, inner_folds, seed + k);
  for (size_t i = 0; i < rest.size(); ++i)
    (inner[i] == 0 ? out.valid : out.train).push_back(rest[i]);
  return out;
}

data::SplitDataset CvPlan::fold(const data::SplitDataset& splits, int k) const {
  FoldRows r = rows_of(k);
  const std::string name = strand::format("cross-validation fold {} of {}", k + 1, folds);
  return data::SplitDataset::from_rows(
      splits.shared_dataset(), std::move(r.train), std::move(r.valid), std::move(r.held), name,
      "the held-out rows of " + name + " (from train + valid; the run's test split stays sealed)");
}

std::string pooled_text(const nlohmann::json& panel) {
  const std::string kind = panel.value("kind", std::string("binary"));
  std::string out;
  for (const auto& [pointer, name] : fold_metrics(kind == "multiclass"   ? "multi-class"
                                                  : kind == "regression" ? "regression"
                                                                         : "binary")) {
    const size_t slash = pointer.rfind('/');
    const nlohmann::json::json_pointer ci(pointer.substr(0, slash) + "/ci" + pointer.substr(slash));
    const double v = number_at(panel, pointer);
    out += strand::format("{}{} {}", out.empty() ? "" : "; ", name,
                          std::isfinite(v) ? rules::fixed(v, 4) : std::string("-"));
    if (panel.contains(ci) && panel.at(ci).is_array())
      out += strand::format(" [{}, {}]", rules::fixed(panel.at(ci)[0].get<double>(), 4),
                            rules::fixed(panel.at(ci)[1].get<double>(), 4));
  }
  return out;
}

nlohmann::json cross_validate(const data::SplitDataset& splits, TrainConfig config,
                              const CrossValidationOptions& o,
                              const std::function<void(int, double)>& progress,
                              const FoldTuner& tune) {
  config.progress = false;
  const FoldFitter fit = [&](data::SplitDataset& fold, const std::string& dir,
                             nlohmann::json& record) {
    TrainConfig c = config;
    if (tune) record["tuning"] = tune(fold, c, dir + "/tuning");
    Trainer trainer(std::shared_ptr<const data::SplitDataset>(&fold, [](const auto*) {}), c, dir);
    const TrainResult r = trainer.fit();
    STRAND_CHECK(r.best_epoch > 0,
                 "cross-validation fold {}: training produced no usable model: {}",
                 record["fold"].get<int>(), r.stop_reason);
    record["best_epoch"] = r.best_epoch;
    return trainer.model_path();
  };
  nlohmann::json out = cross_validate_with(splits, config, o, fit, progress);
  out["tuning"] = tune ? "nested: each fold tuned its hyper-parameters on its own training part "
                         "(its inner train and valid rows), never on its held-out rows"
                       : "none: every fold trained with the same given hyper-parameters";
  out["final_model"] =
      "no refit: the fold models are the result; score new data with their ensemble "
      "(strand predict --ensemble with the fold models)";
  return out;
}

nlohmann::json cross_validate_with(const data::SplitDataset& splits, const TrainConfig& config,
                                   const CrossValidationOptions& o, const FoldFitter& fit,
                                   const std::function<void(int, double)>& progress) {
  STRAND_CHECK(!o.out_dir.empty(), "cross-validation needs an output directory for fold models");
  const data::Dataset& dataset = splits.dataset();
  const CvPlan plan = plan_folds(splits, o);

  const auto names = fold_metrics(dataset.kind() == data::LabelKind::kMultiClass   ? "multi-class"
                                  : dataset.kind() == data::LabelKind::kRegression ? "regression"
                                                                                   : "binary");
  std::map<std::string, std::vector<double>> values;
  nlohmann::json per_fold = nlohmann::json::array(), models = nlohmann::json::array();
  Predictions pooled;
  std::vector<int64_t> pooled_rows;  // dataset rows of the pooled predictions, in fold order
  ModelInfo info;
  for (int k = 0; k < o.folds; ++k) {
    data::SplitDataset fold_splits = plan.fold(splits, k);
    const std::vector<int64_t>& inner_train = fold_splits.train();
    const std::vector<int64_t>& inner_valid = fold_splits.valid();
    const size_t held_size = static_cast<size_t>(fold_splits.test_size());
    const std::string dir = o.out_dir + "/fold-" + std::to_string(k + 1);
    std::filesystem::create_directories(dir);
    nlohmann::json record = {{"fold", k + 1},
                             {"train", inner_train.size()},
                             {"inner_valid", inner_valid.size()},
                             {"held_out", held_size}};
    const std::string model_path = fit(fold_splits, dir, record);
    // Model selection (epochs, tuning) must not have read the rows it is scored on.
    STRAND_CHECK(!fold_splits.test_unsealed(),
                 "cross-validation fold {}: fitting the fold's model opened its held-out rows "
                 "({}); they may be read only to score the chosen model",
                 k + 1, fold_splits.unseal_reason());
    record["held_out_sealed_while_fitting"] = true;
    const auto best = load_model(model_path);
    info = best.info;
    const runtime::Device device = runtime::Device::parse(config.device);
    best.model->to(device);  // load_model gives a CPU model
    layers::set_gpu_math(*best.model, {config.conv_algo, config.tf32, config.rnn_algo});
    const auto& held_rows = fold_splits.unseal_test(
        strand::format("cross-validation: scoring held-out fold {} once", k + 1));
    const auto predictor = for_prediction(best.model, config.rc_average);
    const int64_t batch = std::max<int64_t>(256, config.batch_size);
    const Predictions p = predict_rows(*predictor, best.info.kind, fold_splits.shared_dataset(),
                                       held_rows, batch, device);
    const nlohmann::json panel = panel_of(best.info, p, 0);
    // Each fold model carries a calibration fitted on its inner validation rows, so `predict
    // --ensemble ... --calibrated` works on the folds.
    const Predictions inner = predict_rows(*predictor, best.info.kind, fold_splits.shared_dataset(),
                                           inner_valid, batch, device);
    const nlohmann::json calibration =
        calibration_of(best.info, inner, p, model_path, config.dp.enabled);
    if (calibration.is_object())
      record["calibration"] = {{"method", calibration["method"]},
                               {"recommended", calibration["recommended"]},
                               {"held_out_ece_before", calibration["test"]["before"]["ece"]},
                               {"held_out_ece_after", calibration["test"]["after"]["ece"]}};
    nlohmann::json m = nlohmann::json::object();
    for (const auto& [pointer, metric] : names) {
      const double v = number_at(panel, pointer);
      m[metric] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
      values[metric].push_back(v);
    }
    record["metrics"] = m;
    record["model"] = model_path;
    per_fold.push_back(record);
    models.push_back(model_path);
    pooled_rows.insert(pooled_rows.end(), held_rows.begin(), held_rows.end());
    pooled.rows += p.rows;
    pooled.outputs = p.outputs;
    pooled.scores.insert(pooled.scores.end(), p.scores.begin(), p.scores.end());
    pooled.labels.insert(pooled.labels.end(), p.labels.begin(), p.labels.end());
    pooled.loss += p.loss * static_cast<double>(p.rows);
    if (progress) progress(k + 1, values[names[0].second].back());
  }
  pooled.loss /= std::max<int64_t>(1, pooled.rows);
  write_predictions(o.out_dir, info, dataset, pooled_rows, pooled);

  nlohmann::json summary = nlohmann::json::object();
  std::string sentence = strand::format(
      "{}-fold cross-validation (stratified, grouped by {}):", o.folds, plan.group_by);
  for (const auto& [_, name] : names) {
    summary[name] = mean_and_sd(values[name]);
    sentence += strand::format(" {} {} over {} folds;", name, mean_sd_text(summary[name]),
                               summary[name]["folds_defined"].get<int>());
  }
  const nlohmann::json pooled_panel = panel_of(info, pooled, o.bootstrap);
  sentence += strand::format(" pooled out-of-fold ({} rows, 95% bootstrap CI): {};", pooled.rows,
                             pooled_text(pooled_panel));
  sentence += " the test split was not read";
  return {{"folds", o.folds},
          {"group_by", plan.group_by},
          {"groups", std::set<int64_t>(plan.groups.begin(), plan.groups.end()).size()},
          {"rows", plan.pool.size()},
          {"stratified_by", dataset.kind() == data::LabelKind::kMultiClass ? "class"
                            : dataset.kind() == data::LabelKind::kRegression
                                ? "nothing (regression)"
                                : "the label of the task with the fewest positives"},
          {"epoch_selection", strand::format("an inner {} of each fold's training rows",
                                             rules::fixed(1.0 / plan.inner_folds, 2))},
          {"per_fold", per_fold},
          {"summary", summary},
          {"pooled", pooled_panel},
          {"pooled_summary", pooled_text(pooled_panel)},
          {"headline", rules::headline_of(pooled_panel)},
          {"models", models},
          {"predictions",
           "scores.tsv and labels.tsv: the pooled out-of-fold predictions (strand "
           "compare pairs them with another run's by name)"},
          {"test", "untouched (train + valid rows only; the test split stays sealed)"},
          {"sentence", sentence}};
}

nlohmann::json cross_validate_baselines(const rules::LabelledSequences& all,
                                        const rules::BaselineConfig& config,
                                        const CrossValidationOptions& o,
                                        const std::function<void(int)>& progress) {
  STRAND_CHECK(all.split.size() == all.seqs.size(),
               "baseline cross-validation needs the rows' splits (train + valid are folded)");
  // The pool: train + valid rows of `all` (test is never read), by their index in `all`.
  std::vector<int64_t> ids;
  for (size_t i = 0; i < all.split.size(); ++i)
    if (all.split[i] != 2) ids.push_back(static_cast<int64_t>(i));
  rules::LabelledSequences pool = subset(all, ids);
  const CvPlan plan = plan_folds(pool, ids, o);
  const auto names = fold_metrics(all.kind == rules::TaskKind::kMultiClass   ? "multi-class"
                                  : all.kind == rules::TaskKind::kRegression ? "regression"
                                                                             : "binary");
  std::map<std::string, std::map<std::string, std::vector<double>>> values;  // baseline, metric
  std::map<std::string, std::vector<double>> valid;
  std::map<std::string, std::vector<double>> pooled_scores;  // baseline: held-out rows x columns
  std::vector<std::string> score_columns;
  rules::BaselineProblem pooled;  // its test: every fold's held-out rows, in fold order
  for (int k = 0; k < o.folds; ++k) {
    const CvPlan::FoldRows f = plan.rows_of(k);
    rules::BaselineProblem problem;
    problem.kind = all.kind, problem.tasks = all.tasks, problem.classes = all.classes;
    problem.train = split_data(all, f.train);
    problem.valid = split_data(all, f.valid);
    problem.test = split_data(all, f.held);
    for (auto& r : rules::run_baselines(problem, config)) {
      for (const auto& [pointer, metric] : names)
        values[r.name][metric].push_back(number_at(r.metrics, pointer));
      valid[r.name].push_back(r.metrics.value("valid_metric", std::nan("")));
      auto& scores = pooled_scores[r.name];
      scores.insert(scores.end(), r.test_scores.begin(), r.test_scores.end());
    }
    pooled.test.names.insert(pooled.test.names.end(), problem.test.names.begin(),
                             problem.test.names.end());
    pooled.test.labels.insert(pooled.test.labels.end(), problem.test.labels.begin(),
                              problem.test.labels.end());
    if (progress) progress(k + 1);
  }
  pooled.kind = all.kind, pooled.tasks = all.tasks, pooled.classes = all.classes;
  if (!o.out_dir.empty())
    for (const auto& [baseline, scores] : pooled_scores)
      write_pooled_predictions(o.out_dir + "/" + baseline, pooled, scores);
  nlohmann::json out = nlohmann::json::object(), pooled_panels = nlohmann::json::object();
  std::string sentence = strand::format(
      "{}-fold cross-validation of the baselines (stratified, grouped by {}; each fold's C and "
      "rounds chosen inside its training folds; the test split was not read):",
      o.folds, plan.group_by);
  for (const auto& [baseline, metrics] : values) {
    nlohmann::json b = {{"valid_metric", mean_and_sd(valid[baseline])}};
    for (const auto& [metric, v] : metrics) b[metric] = mean_and_sd(v);
    out[baseline] = b;
    pooled_panels[baseline] = rules::score_panel(pooled, pooled_scores[baseline], config.panel);
    sentence +=
        strand::format(" {} {} {} (pooled {});", baseline, names[0].second,
                       mean_sd_text(b[names[0].second]), pooled_text(pooled_panels[baseline]));
  }
  return {{"folds", o.folds},
          {"group_by", plan.group_by},
          {"rows", plan.pool.size()},
          {"baselines", out},
          {"pooled", pooled_panels},
          {"predictions", o.out_dir.empty()
                              ? nlohmann::json()
                              : nlohmann::json("<baseline>/scores.tsv and labels.tsv: each "
                                               "baseline's pooled out-of-fold predictions")},
          {"test", "untouched (train + valid rows only; the test split stays sealed)"},
          {"sentence", sentence}};
}

}  // namespace strand::train
