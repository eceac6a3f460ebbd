// Train/valid/test assignment (split column, chromosome hold-out, seeded random) and
// SplitDataset, which keeps the test split sealed: training and model selection see only train
// and valid; test examples are reachable only through an explicit, logged unseal_test().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset.h"
#include "data/split_name.h"

namespace strand::data {

enum class SplitMethod {
  kAuto,        // the labels' split column when there is one, else kRandom
  kColumn,      // the labels' split column (an error when there is none)
  kChromosome,  // test_chromosomes -> test, valid_chromosomes -> valid, the rest -> train
  kRandom,      // seeded: test_fraction -> test, valid_fraction -> valid, the rest -> train
};

struct SplitOptions {
  SplitMethod method = SplitMethod::kAuto;
  std::vector<std::string> test_chromosomes;   // kChromosome, e.g. {"chr8", "chr9"}
  std::vector<std::string> valid_chromosomes;  // kChromosome; may be empty (see valid_fraction)
  double test_fraction = 0.1;                  // kRandom
  // kRandom, and whenever a method leaves valid empty: this seeded fraction of train becomes
  // valid.
  double valid_fraction = 0.1;
  uint64_t seed = 0;
};

// One split per example of the dataset, by the method in options. Assignment by fraction sorts
// examples by a seeded hash of their name, so it depends only on the seed and the names (not on
// file order) and gives exact counts.
std::vector<Split> assign_splits(const Dataset& dataset, const SplitOptions& options);

// The method's name as SplitDataset::summary() gives it: auto resolves to column (the dataset has
// a split column) or random.
std::string resolved_method_name(const Dataset& dataset, SplitMethod method);

// Moves round(fraction * |train|) seeded examples of train to valid.
void carve_valid_from_train(const Dataset& dataset, std::vector<Split>& splits, double fraction,
                            uint64_t seed);
// The same by name (names[i] is example i's): the rules' loaders use it so `strand baseline`
// and the checks carve exactly the trainer's valid rows.
void carve_valid_from_train(const std::vector<std::string>& names, std::vector<Split>& splits,
                            double fraction, uint64_t seed);

class SplitDataset {
 public:
  // Assigns splits and checks none is empty (an error naming the empty split and the method).
  SplitDataset(std::shared_ptr<const Dataset> dataset, const SplitOptions& options = {});
  // The same from an assignment already made (assign_splits' answer, one split per example), so
  // the trainer and the data checks share one; method names the scheme in summary().
  SplitDataset(std::shared_ptr<const Dataset> dataset, const std::vector<Split>& assignment,
               std::string method);
  // Explicit rows (e.g. a cross-validation fold: the other folds train, the held-out fold is a
  // sealed "test"); every list non-empty, no row in two lists. method names the scheme in
  // summary(); test_name, when given, is what the test rows are called when opened (a fold's
  // held-out rows are not the run's test split).
  static SplitDataset from_rows(std::shared_ptr<const Dataset> dataset, std::vector<int64_t> train,
                                std::vector<int64_t> valid, std::vector<int64_t> test,
                                std::string method, std::string test_name = "");

  const Dataset& dataset() const { return *dataset_; }
  std::shared_ptr<const Dataset> shared_dataset() const { return dataset_; }
  const std::vector<int64_t>& train() const { return train_; }
  const std::vector<int64_t>& valid() const { return valid_; }
  // How many test examples exist (counting does not unseal).
  int64_t test_size() const { return static_cast<int64_t>(test_.size()); }

  // The test examples, for the final evaluation only. Logs the reason to stderr (and keeps it),
  // so a report can say when and why the test split was opened.
  const std::vector<int64_t>& unseal_test(std::string_view reason);
  bool test_unsealed() const { return !unseal_reason_.empty(); }
  const std::string& unseal_reason() const { return unseal_reason_; }

  // The same train/valid/test rows over another dataset of the same examples (e.g. with
  // permuted labels); its test split is sealed.
  SplitDataset with_dataset(std::shared_ptr<const Dataset> other) const;

  // The same valid and (sealed) test rows with other training rows (e.g. a subset of train for a
  // learning curve); they must not be valid or test rows.
  SplitDataset with_train_rows(std::vector<int64_t> train, std::string method) const;

  // "train 800, valid 100, test 100 (sealed), method chromosome"
  std::string summary() const;

 private:
  SplitDataset() = default;
  std::shared_ptr<const Dataset> dataset_;
  std::vector<int64_t> train_, valid_, test_;
  std::string method_;
  std::string test_name_;  // empty: the test split
  std::string unseal_reason_;
};

}  // namespace strand::data
