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
#include "rules/headline.h"
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

}  // namespace

std::vector<int64_t> cv_groups(const data::Dataset& dataset, const std::vector<int64_t>& rows,
                               const std::string& group_by) {
  STRAND_CHECK(group_by == "duplicates" || group_by == "chromosome" || group_by == "none",
               "--cv-group must be duplicates, chromosome or none, got '{}'", group_by);
  Groups g(rows.size());
  if (group_by != "none") {
    std::vector<std::string> seqs(rows.size());
    std::vector<uint8_t> codes(dataset.length());
    const auto reader = dataset.reader();
    for (size_t i = 0; i < rows.size(); ++i) {
      reader.read(rows[i], codes.data(), nullptr);
      seqs[i] = data::decode_bases(codes.data(), dataset.length());
    }
    rules::LeakageOptions o;
    o.scope = rules::PairScope::kWithinSplit;
    const std::vector<int> one_split(rows.size(), 0);
    for (const auto& pair : rules::find_duplicates(seqs, one_split, o).pairs)
      g.join(pair.a, pair.b);
  }
  if (group_by == "chromosome") {
    std::map<std::string, int64_t> first;
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto [it, added] = first.emplace(dataset.chromosome(rows[i]), i);
      if (!added) g.join(static_cast<int64_t>(i), it->second);
    }
  }
  std::vector<int64_t> out(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) out[i] = g.find(static_cast<int64_t>(i));
  return out;
}

std::vector<int> cv_strata(const data::Dataset& dataset, const std::vector<int64_t>& rows) {
  const int64_t T = dataset.num_outputs();
  std::vector<int> out(rows.size(), 0);
  if (dataset.kind() == data::LabelKind::kRegression) return out;
  if (dataset.kind() == data::LabelKind::kMultiClass) {
    for (size_t i = 0; i < rows.size(); ++i) out[i] = static_cast<int>(dataset.labels(rows[i])[0]);
    return out;
  }
  // Binary / multi-label: stratify by the rarest task, whose folds would otherwise lack positives.
  std::vector<int64_t> positives(T, 0);
  for (int64_t r : rows)
    for (int64_t t = 0; t < T; ++t) positives[t] += dataset.labels(r)[t] > 0.5f;
  const int64_t rare = std::min_element(positives.begin(), positives.end()) - positives.begin();
  for (size_t i = 0; i < rows.size(); ++i) {
    const float v = dataset.labels(rows[i])[rare];
    out[i] = std::isnan(v) ? 2 : v > 0.5f ? 1 : 0;
  }
  return out;
}

void check_fold_count(const data::Dataset& dataset, const std::vector<int64_t>& rows,
                      const std::vector<int64_t>& groups, int folds) {
  STRAND_CHECK(folds >= 2, "--cv needs at least 2 folds, got {}", folds);
  std::map<std::string, int64_t> counts;  // what each held-out fold needs one of
  const int64_t T = dataset.num_outputs();
  for (int64_t r : rows) {
    const float* y = dataset.labels(r);
    if (dataset.kind() == data::LabelKind::kRegression) {
      ++counts["rows"];
    } else if (dataset.kind() == data::LabelKind::kMultiClass) {
      ++counts["class '" + dataset.classes()[static_cast<size_t>(y[0])] + "'"];
    } else {
      for (int64_t t = 0; t < T; ++t) {
        if (std::isnan(y[t])) continue;
        const std::string task = "of '" + dataset.output_names()[t] + "'";
        ++counts[(y[t] > 0.5f ? "positives " : "negatives ") + task];
        counts.try_emplace((y[t] > 0.5f ? "negatives " : "positives ") + task, 0);
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

nlohmann::json cross_validate(const data::SplitDataset& splits, TrainConfig config,
                              const CrossValidationOptions& o,
                              const std::function<void(int, double)>& progress) {
  STRAND_CHECK(!o.out_dir.empty(), "cross-validation needs an output directory for fold models");
  STRAND_CHECK(o.inner_valid_fraction > 0 && o.inner_valid_fraction < 0.5,
               "inner validation fraction must be in (0, 0.5), got {}", o.inner_valid_fraction);
  const data::Dataset& dataset = splits.dataset();
  std::vector<int64_t> pool = splits.train();
  pool.insert(pool.end(), splits.valid().begin(), splits.valid().end());
  std::sort(pool.begin(), pool.end());
  const std::vector<int64_t> groups = cv_groups(dataset, pool, o.group_by);
  check_fold_count(dataset, pool, groups, o.folds);
  const std::vector<int> strata = cv_strata(dataset, pool);
  const std::vector<int> fold = assign_folds(strata, groups, o.folds, o.seed);
  const int inner_folds = static_cast<int>(std::lround(1.0 / o.inner_valid_fraction));
  config.progress = false;

  const auto names = fold_metrics(dataset.kind() == data::LabelKind::kMultiClass   ? "multi-class"
                                  : dataset.kind() == data::LabelKind::kRegression ? "regression"
                                                                                   : "binary");
  std::map<std::string, std::vector<double>> values;
  nlohmann::json per_fold = nlohmann::json::array(), models = nlohmann::json::array();
  Predictions pooled;
  ModelInfo info;
  for (int k = 0; k < o.folds; ++k) {
    std::vector<int64_t> held, rest;
    std::vector<int> rest_strata;
    std::vector<int64_t> rest_groups;
    for (size_t i = 0; i < pool.size(); ++i) {
      if (fold[i] == k) {
        held.push_back(pool[i]);
      } else {
        rest.push_back(pool[i]);
        rest_strata.push_back(strata[i]);
        rest_groups.push_back(groups[i]);
      }
    }
    // The epoch is chosen on an inner part of the training folds, so the held-out fold is scored
    // by a model that never saw it, not even for early stopping.
    const std::vector<int> inner = assign_folds(rest_strata, rest_groups, inner_folds, o.seed + k);
    std::vector<int64_t> inner_train, inner_valid;
    for (size_t i = 0; i < rest.size(); ++i)
      (inner[i] == 0 ? inner_valid : inner_train).push_back(rest[i]);
    auto fold_splits = std::make_shared<data::SplitDataset>(data::SplitDataset::from_rows(
        splits.shared_dataset(), inner_train, inner_valid, held,
        strand::format("cross-validation fold {} of {}", k + 1, o.folds)));
    const std::string dir = o.out_dir + "/fold-" + std::to_string(k + 1);
    std::filesystem::create_directories(dir);
    Trainer trainer(fold_splits, config, dir);
    const TrainResult r = trainer.fit();
    STRAND_CHECK(r.best_epoch > 0,
                 "cross-validation fold {}: training produced no usable model: {}", k + 1,
                 r.stop_reason);
    const auto best = load_model(trainer.model_path());
    info = best.info;
    const auto& held_rows = fold_splits->unseal_test(
        strand::format("cross-validation: scoring held-out fold {} once (train + valid rows; the "
                       "run's test split stays sealed)",
                       k + 1));
    const Predictions p = predict_rows(*for_prediction(best.model, config.rc_average),
                                       best.info.kind, fold_splits->shared_dataset(), held_rows,
                                       std::max<int64_t>(256, config.batch_size),
                                       runtime::Device::parse(config.device));
    const nlohmann::json panel = panel_of(best.info, p, 0);
    nlohmann::json m = nlohmann::json::object();
    for (const auto& [pointer, name] : names) {
      const double v = number_at(panel, pointer);
      m[name] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
      values[name].push_back(v);
    }
    per_fold.push_back({{"fold", k + 1},
                        {"train", inner_train.size()},
                        {"inner_valid", inner_valid.size()},
                        {"held_out", held.size()},
                        {"best_epoch", r.best_epoch},
                        {"metrics", m},
                        {"model", trainer.model_path()}});
    models.push_back(trainer.model_path());
    pooled.rows += p.rows;
    pooled.outputs = p.outputs;
    pooled.scores.insert(pooled.scores.end(), p.scores.begin(), p.scores.end());
    pooled.labels.insert(pooled.labels.end(), p.labels.begin(), p.labels.end());
    pooled.loss += p.loss * static_cast<double>(p.rows);
    if (progress) progress(k + 1, values[names[0].second].back());
  }
  pooled.loss /= std::max<int64_t>(1, pooled.rows);

  nlohmann::json summary = nlohmann::json::object();
  std::string sentence =
      strand::format("{}-fold cross-validation (stratified, grouped by {}):", o.folds, o.group_by);
  for (const auto& [_, name] : names) {
    const auto& v = values[name];
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
    summary[name] = {{"mean", n ? nlohmann::json(mean) : nlohmann::json()},
                     {"sd", n > 1 ? nlohmann::json(sd) : nlohmann::json()},
                     {"folds_defined", n},
                     {"values", vals}};
    sentence += strand::format(" {} {} +/- {} over {} folds;", name, rules::fixed(mean, 4),
                               rules::fixed(sd, 4), n);
  }
  sentence += " the test split was not read";
  const nlohmann::json pooled_panel = panel_of(info, pooled, o.bootstrap);
  return {{"folds", o.folds},
          {"group_by", o.group_by},
          {"groups", std::set<int64_t>(groups.begin(), groups.end()).size()},
          {"rows", pool.size()},
          {"stratified_by", dataset.kind() == data::LabelKind::kMultiClass ? "class"
                            : dataset.kind() == data::LabelKind::kRegression
                                ? "nothing (regression)"
                                : "the label of the task with the fewest positives"},
          {"epoch_selection", strand::format("an inner {} of each fold's training rows",
                                             rules::fixed(1.0 / inner_folds, 2))},
          {"per_fold", per_fold},
          {"summary", summary},
          {"pooled", pooled_panel},
          {"headline", rules::headline_of(pooled_panel)},
          {"models", models},
          {"final_model",
           "no refit: the fold models are the result; score new data with their ensemble "
           "(strand predict --ensemble with the fold models)"},
          {"test", "untouched (train + valid rows only; the test split stays sealed)"},
          {"sentence", sentence}};
}

}  // namespace strand::train
