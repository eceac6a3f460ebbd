// Labels as a TSV file with a header: a `name` column matching FASTA record names, one or more
// label columns, and an optional `split` column (train/valid/test).
//
//   name     ctcf  gata    |  name   cell_type  |  name  expression  split
//   seq1     1     0       |  seq1   liver      |  seq1  2.31        train
//
// Kinds: binary (one 0/1 column), multi-label (several 0/1 columns, one task each), multi-class
// (one column of class names; values become class indices in sorted class order), regression
// (numeric columns). kAuto infers: all values 0/1 -> binary or multi-label; all numeric ->
// regression; one non-numeric column -> multi-class. Force multi-class for integer class ids.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/split_name.h"

namespace strand::data {

enum class LabelKind { kAuto, kBinary, kMultiLabel, kMultiClass, kRegression };

std::string_view label_kind_name(LabelKind k);
// "auto", "binary", "multi-label", "multi-class" or "regression".
LabelKind parse_label_kind(std::string_view text);

struct LabelTable {
  std::string path;
  LabelKind kind = LabelKind::kAuto;  // never kAuto after read_labels
  std::vector<std::string> names;     // one per row, unique
  std::vector<std::string> columns;   // label column names (tasks), header order
  std::vector<std::string> classes;   // multi-class only: class names; value = index here
  std::vector<float> values;          // [rows, columns] row-major
  std::vector<Split> splits;          // one per row when the file has a split column, else empty

  int64_t num_rows() const { return static_cast<int64_t>(names.size()); }
  int64_t num_columns() const { return static_cast<int64_t>(columns.size()); }
  bool has_split() const { return !splits.empty(); }
  const float* row(int64_t i) const { return values.data() + i * num_columns(); }
  // Row of a name, or -1.
  int64_t find(std::string_view name) const;

  std::unordered_map<std::string, int64_t> row_of;
};

// Reads and validates a labels file (plain or gzip). Missing labels (an empty field, NA, NaN, N/A,
// null, none; any case) are allowed for binary and multi-label tasks: they are stored as NaN, and
// the loss (train::loss_for) and the metric panels skip them per task, as in DeepSEA-style
// multi-task data where not every task is measured on every sequence. Errors name the file, line
// and column: a missing or repeated `name` column, repeated column names, no label column, rows
// with the wrong number of fields, duplicate names, non-numeric or infinite labels, missing labels
// of a multi-class or regression task, 0/1 columns holding other values under a forced
// binary/multi-label kind, split values other than train/valid/test, a file without rows.
LabelTable read_labels(const std::string& path, LabelKind kind = LabelKind::kAuto);

// Checks that labels and sequences name the same set: labels for names not among the sequences,
// and sequences with no label, each raise an error saying how many and naming the first few.
void check_label_coverage(const LabelTable& labels, const std::vector<std::string>& sequence_names,
                          std::string_view sequences_path);

// The first few items of a list, for error messages: "a, b, c and 17 more".
std::string first_few(const std::vector<std::string>& items, size_t count = 5);

}  // namespace strand::data
