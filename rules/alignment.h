// Rule 5, does position matter? Diagnoses whether a labelled task looks aligned (the label depends
// on where a pattern sits) or unaligned (a pattern anywhere) by fitting the same baselines on a
// position-specific representation (flattened one-hot) and on k-mer spectra, and comparing them
// on validation rows (never test); recommends a representation and a model head.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "rules/inspect.h"

namespace strand::rules {

struct AlignmentOptions {
  double margin = 0.05;       // position-specific must beat k-mers by this much (AUROC)
  double informative = 0.6;   // below this best AUROC neither representation carries signal
  double holdout = 0.2;       // without a valid split: this seeded fraction of train scores
  int64_t max_train = 20000;  // seeded subsample of training rows, to keep the check quick
  uint64_t seed = 1;
  int kmax = 4;  // k-mer spectrum k = 1..kmax
  int tree_rounds = 100;
};

// Returns {"verdict": "aligned" | "unaligned" | "no clear difference" | "no simple signal" |
// "not applicable", "positional_auroc", "kmer_auroc", "margin", "scores": {baseline: valid
// AUROC}, "representation", "head", "reason"}. Positional = the better of L2 logistic regression
// and boosted trees on flattened one-hot; k-mer = the better of the two on k-mer spectra; AUROC =
// mean over tasks (macro AUROC for multi-class). "not applicable": regression, sequences of
// different lengths, or too few rows.
nlohmann::json diagnose_alignment(const InspectInput& input, const AlignmentOptions& options = {});
// The same with the sequences read from `seqs` (input.seqs is not used) and `length` their common
// length (0: they differ): only the rows the baselines fit and score are held.
nlohmann::json diagnose_alignment(const InspectInput& input, const SequenceStream& seqs,
                                  int64_t length, const AlignmentOptions& options = {});

}  // namespace strand::rules
