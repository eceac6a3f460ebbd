// Split assignment and the sealed-test SplitDataset.
#include "data/split_dataset.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <set>

#include "core/error.h"
#include "data/labels.h"
#include "data/random.h"

namespace strand::data {
namespace {

uint64_t name_hash(std::string_view name, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a, then mixed with the seed
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  return mix64(h ^ mix64(seed));
}

// Examples in `from`, ordered by seeded name hash; the first `count` move to `to`.
void move_fraction(int64_t n, const std::function<std::string_view(int64_t)>& name,
                   std::vector<Split>& splits, Split from, Split to, double fraction,
                   uint64_t seed) {
  STRAND_CHECK(fraction >= 0.0 && fraction < 1.0, "split fraction must be in [0, 1), got {}",
               fraction);
  std::vector<std::pair<uint64_t, int64_t>> order;
  for (int64_t i = 0; i < n; ++i) {
    if (splits[i] == from) order.emplace_back(name_hash(name(i), seed), i);
  }
  std::sort(order.begin(), order.end());
  const auto count = static_cast<size_t>(std::llround(fraction * order.size()));
  for (size_t k = 0; k < count; ++k) splits[order[k].second] = to;
}

void move_fraction(const Dataset& d, std::vector<Split>& splits, Split from, Split to,
                   double fraction, uint64_t seed) {
  move_fraction(
      d.size(), [&](int64_t i) { return std::string_view(d.name(i)); }, splits, from, to, fraction,
      seed);
}

std::string_view method_name(SplitMethod m) {
  switch (m) {
    case SplitMethod::kAuto:
      return "auto";
    case SplitMethod::kColumn:
      return "split column";
    case SplitMethod::kChromosome:
      return "chromosome hold-out";
    case SplitMethod::kRandom:
      return "random";
  }
  return "?";
}

}  // namespace

void carve_valid_from_train(const Dataset& dataset, std::vector<Split>& splits, double fraction,
                            uint64_t seed) {
  // A different stream from the test draw, so valid is not simply "the next names after test".
  move_fraction(dataset, splits, Split::kTrain, Split::kValid, fraction, seed ^ 0x5a17ULL);
}

void carve_valid_from_train(const std::vector<std::string>& names, std::vector<Split>& splits,
                            double fraction, uint64_t seed) {
  STRAND_CHECK(names.size() == splits.size(), "carve_valid_from_train: {} names, {} splits",
               names.size(), splits.size());
  move_fraction(
      static_cast<int64_t>(names.size()), [&](int64_t i) { return std::string_view(names[i]); },
      splits, Split::kTrain, Split::kValid, fraction, seed ^ 0x5a17ULL);
}

std::vector<Split> assign_splits(const Dataset& d, const SplitOptions& o) {
  SplitMethod method = o.method;
  if (method == SplitMethod::kAuto) {
    method = d.declared_splits().empty() ? SplitMethod::kRandom : SplitMethod::kColumn;
  }
  std::vector<Split> splits(d.size(), Split::kTrain);
  switch (method) {
    case SplitMethod::kColumn:
      STRAND_CHECK(!d.declared_splits().empty(),
                   "'{}': split method 'column' needs a 'split' column in the labels file",
                   d.source());
      splits = d.declared_splits();
      break;
    case SplitMethod::kChromosome: {
      STRAND_CHECK(!o.test_chromosomes.empty(),
                   "chromosome hold-out needs at least one test chromosome");
      std::set<std::string> present;
      for (int64_t i = 0; i < d.size(); ++i) present.insert(d.chromosome(i));
      auto check_named = [&](const std::vector<std::string>& chroms, std::string_view which) {
        for (const auto& c : chroms) {
          STRAND_CHECK(present.count(c), "{} chromosome '{}' has no examples in '{}' (present: {})",
                       which, c, d.source(),
                       first_few(std::vector<std::string>(present.begin(), present.end()), 8));
        }
      };
      check_named(o.test_chromosomes, "test");
      check_named(o.valid_chromosomes, "valid");
      const std::set<std::string> test(o.test_chromosomes.begin(), o.test_chromosomes.end());
      for (const auto& c : o.valid_chromosomes) {
        STRAND_CHECK(!test.count(c), "chromosome '{}' is named for both test and valid", c);
      }
      const std::set<std::string> valid(o.valid_chromosomes.begin(), o.valid_chromosomes.end());
      for (int64_t i = 0; i < d.size(); ++i) {
        const std::string c = d.chromosome(i);
        splits[i] = test.count(c) ? Split::kTest : valid.count(c) ? Split::kValid : Split::kTrain;
      }
      break;
    }
    case SplitMethod::kRandom:
      move_fraction(d, splits, Split::kTrain, Split::kTest, o.test_fraction, o.seed);
      break;
    case SplitMethod::kAuto:
      break;
  }
  if (std::none_of(splits.begin(), splits.end(), [](Split s) { return s == Split::kValid; })) {
    carve_valid_from_train(d, splits, o.valid_fraction, o.seed);
  }
  return splits;
}

std::string resolved_method_name(const Dataset& dataset, SplitMethod m) {
  if (m == SplitMethod::kAuto)
    m = dataset.declared_splits().empty() ? SplitMethod::kRandom : SplitMethod::kColumn;
  return std::string(method_name(m));
}

namespace {

const Dataset& non_null(const std::shared_ptr<const Dataset>& dataset) {
  STRAND_CHECK(dataset != nullptr, "SplitDataset needs a dataset");
  return *dataset;
}

}  // namespace

SplitDataset::SplitDataset(std::shared_ptr<const Dataset> dataset, const SplitOptions& options)
    : SplitDataset(dataset, assign_splits(non_null(dataset), options),
                   resolved_method_name(non_null(dataset), options.method)) {}

SplitDataset::SplitDataset(std::shared_ptr<const Dataset> dataset, const std::vector<Split>& splits,
                           std::string method)
    : dataset_(std::move(dataset)), method_(std::move(method)) {
  STRAND_CHECK(dataset_ != nullptr, "SplitDataset needs a dataset");
  STRAND_CHECK(static_cast<int64_t>(splits.size()) == dataset_->size(),
               "'{}': {} splits for {} examples", dataset_->source(), splits.size(),
               dataset_->size());
  for (int64_t i = 0; i < dataset_->size(); ++i) {
    (splits[i] == Split::kTrain   ? train_
     : splits[i] == Split::kValid ? valid_
                                  : test_)
        .push_back(i);
  }
  for (auto [list, s] : {std::pair{&train_, Split::kTrain}, std::pair{&valid_, Split::kValid},
                         std::pair{&test_, Split::kTest}}) {
    STRAND_CHECK(!list->empty(),
                 "'{}': the {} split is empty ({} examples, method {}; train {}, valid {}, test "
                 "{}); every split needs examples",
                 dataset_->source(), split_name(s), dataset_->size(), method_, train_.size(),
                 valid_.size(), test_.size());
  }
}

SplitDataset SplitDataset::from_rows(std::shared_ptr<const Dataset> dataset,
                                     std::vector<int64_t> train, std::vector<int64_t> valid,
                                     std::vector<int64_t> test, std::string method,
                                     std::string test_name) {
  STRAND_CHECK(dataset != nullptr, "SplitDataset needs a dataset");
  std::vector<uint8_t> seen(dataset->size(), 0);
  for (auto [list, s] : {std::pair{&train, Split::kTrain}, std::pair{&valid, Split::kValid},
                         std::pair{&test, Split::kTest}}) {
    STRAND_CHECK(!list->empty(), "'{}': the {} split of '{}' is empty", dataset->source(),
                 split_name(s), method);
    for (int64_t i : *list) {
      STRAND_CHECK(i >= 0 && i < dataset->size(), "'{}': row {} is out of range (size {})",
                   dataset->source(), i, dataset->size());
      STRAND_CHECK(!seen[i], "'{}': row {} is in two splits of '{}'", dataset->source(), i, method);
      seen[i] = 1;
    }
  }
  SplitDataset out;
  out.dataset_ = std::move(dataset);
  out.train_ = std::move(train), out.valid_ = std::move(valid), out.test_ = std::move(test);
  out.method_ = std::move(method);
  out.test_name_ = std::move(test_name);
  return out;
}

const std::vector<int64_t>& SplitDataset::unseal_test(std::string_view reason) {
  STRAND_CHECK(!reason.empty(), "unseal_test needs a reason (it is logged and reported)");
  if (unseal_reason_.empty()) {
    if (test_name_.empty())
      std::cerr << "strand: test split of '" << dataset_->source() << "' unsealed (" << test_.size()
                << " examples): " << reason << "\n";
    else
      std::cerr << "strand: " << test_name_ << " opened (" << test_.size() << " examples of '"
                << dataset_->source() << "'): " << reason << "\n";
    unseal_reason_ = std::string(reason);
  }
  return test_;
}

SplitDataset SplitDataset::with_dataset(std::shared_ptr<const Dataset> other) const {
  STRAND_CHECK(other != nullptr && other->size() == dataset_->size(),
               "with_dataset: the other dataset must have the same {} examples", dataset_->size());
  SplitDataset out = *this;
  out.dataset_ = std::move(other);
  out.unseal_reason_.clear();
  return out;
}

SplitDataset SplitDataset::with_train_rows(std::vector<int64_t> train, std::string method) const {
  std::vector<uint8_t> held(dataset_->size(), 0);
  for (int64_t i : valid_) held[i] = 1;
  for (int64_t i : test_) held[i] = 1;
  STRAND_CHECK(!train.empty(), "'{}': the train split of '{}' is empty", dataset_->source(),
               method);
  for (int64_t i : train)
    STRAND_CHECK(i >= 0 && i < dataset_->size() && !held[i],
                 "'{}': row {} cannot train in '{}' (out of range, valid or test)",
                 dataset_->source(), i, method);
  SplitDataset out = *this;
  out.train_ = std::move(train);
  out.method_ = std::move(method);
  out.unseal_reason_.clear();
  return out;
}

std::string SplitDataset::summary() const {
  return format("train {}, valid {}, test {} ({}), method {}", train_.size(), valid_.size(),
                test_.size(), test_unsealed() ? "unsealed" : "sealed", method_);
}

}  // namespace strand::data
