// Files in and out of the rules subcommands: labelled sequences from a FASTA and a labels TSV
// (data's readers), and the per-sequence score and label TSVs a run directory holds beside its
// metrics.json (scores.tsv: `name` then one column per task, or per class for multi-class).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/data_source.h"
#include "data/labels.h"
#include "data/split_dataset.h"
#include "rules/baselines.h"
#include "rules/sequence_stream.h"

namespace strand::rules {

struct LabelledSequences {
  TaskKind kind = TaskKind::kBinary;
  std::vector<std::string> tasks;    // label columns
  std::vector<std::string> classes;  // multi-class only
  std::vector<std::string> names, seqs;
  std::vector<double> labels;  // rows x tasks (multi-class: class index)
  std::vector<int> split;      // 0 train, 1 valid, 2 test per row; empty without a split column
  std::vector<std::string> chroms;  // genome intervals (BED input) only: each row's chromosome
};

TaskKind task_kind_of(data::LabelKind kind);

// The labels' rows in label-file order, each with its FASTA sequence. Names must match exactly
// (data::check_label_coverage says which do not).
LabelledSequences load_labelled(const std::string& fasta_path, const std::string& labels_path,
                                data::LabelKind kind = data::LabelKind::kAuto);

// Loads the examples of a data source (FASTA records keep their own lengths) and assigns splits
// with data::assign_splits, the trainer's rules; split_method "none" (or "auto" without a split
// column, for the checks that allow it when allow_unsplit) leaves split empty.
LabelledSequences load_source(const data::DataSource& source, bool allow_unsplit);

// The same rows and splits without their sequences (rows.seqs is empty), and a stream that reads
// them: a FASTA is read again on each pass, never held (the data checks); BED windows are
// decoded into memory as load_source does.
struct StreamedSource {
  LabelledSequences rows;
  std::unique_ptr<SequenceStream> seqs;
};
StreamedSource stream_source(const data::DataSource& source, bool allow_unsplit);

// The rows of a loaded dataset decoded to text ("ACGTN"), with the given split of each row
// (empty: none) and, for genome intervals, each row's chromosome. The trainer's pipeline hands its
// own rows and splits to the checks and baselines this way instead of reading the files again.
LabelledSequences decode_dataset(const data::Dataset& dataset,
                                 const std::vector<data::Split>& splits);
// The same for some rows only (in that order; no splits), e.g. train + valid without test.
LabelledSequences decode_rows(const data::Dataset& dataset, const std::vector<int64_t>& rows);

// The rows of one split (0, 1, 2) as a SplitData.
SplitData split_rows(const LabelledSequences& all, int split);
// The baselines' problem: kind, tasks, classes and the three splits of `all`.
BaselineProblem baseline_problem(const LabelledSequences& all);

// Scores of `columns` for `names`, reordered to the given names and columns. The file must have
// exactly those names and columns (in any order); a missing or extra one is an error naming it.
std::vector<double> read_scores(const std::string& path, const std::vector<std::string>& names,
                                const std::vector<std::string>& columns);

// Writes `name` + columns, full precision (values round-trip exactly).
void write_scores(const std::string& path, const std::vector<std::string>& names,
                  const std::vector<std::string>& columns, const std::vector<double>& values);
// Writes labels as data::read_labels reads them (multi-class: class names).
void write_labels(const std::string& path, const std::vector<std::string>& names, TaskKind kind,
                  const std::vector<std::string>& tasks, const std::vector<std::string>& classes,
                  const std::vector<double>& labels);

}  // namespace strand::rules
