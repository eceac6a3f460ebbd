// Reading labelled sequences and writing/reading score and label TSVs; see io.h.
#include "rules/io.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/checked.h"
#include "core/error.h"
#include "data/dataset.h"
#include "data/encoding.h"
#include "data/fasta.h"
#include "data/split_dataset.h"
#include "data/text_reader.h"
#include "runtime/file_io.h"

namespace strand::rules {
namespace {

std::string number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

TaskKind task_kind_of(data::LabelKind kind) {
  switch (kind) {
    case data::LabelKind::kBinary:
    case data::LabelKind::kMultiLabel:
      return TaskKind::kBinary;
    case data::LabelKind::kMultiClass:
      return TaskKind::kMultiClass;
    case data::LabelKind::kRegression:
      return TaskKind::kRegression;
    case data::LabelKind::kAuto:
      break;
  }
  STRAND_FAIL("label kind was not resolved");
}

namespace {

// A table's rows without their sequences.
LabelledSequences labelled_rows(const data::LabelTable& table) {
  LabelledSequences out;
  out.kind = task_kind_of(table.kind);
  out.tasks = table.columns;
  out.classes = table.classes;
  out.names = table.names;
  out.labels.assign(table.values.begin(), table.values.end());
  for (auto s : table.splits) out.split.push_back(static_cast<int>(s));
  return out;
}

void set_splits(LabelledSequences& out, const std::vector<data::Split>& splits) {
  out.split.clear();
  for (auto x : splits) out.split.push_back(static_cast<int>(x));
}

// A split column with no valid rows: the trainer carves valid from train (data::assign_splits);
// the same seeded names here, so baselines and checks see the model's valid rows.
void carve_valid_if_missing(LabelledSequences& out, const data::DataSource& s) {
  if (std::find(out.split.begin(), out.split.end(), static_cast<int>(data::Split::kValid)) !=
      out.split.end())
    return;
  std::vector<data::Split> splits;
  for (int v : out.split) splits.push_back(static_cast<data::Split>(v));
  data::carve_valid_from_train(out.names, splits, s.valid_fraction, s.split_seed);
  set_splits(out, splits);
}

// The splits of FASTA + labels rows (out holds the table's split column, if any).
void assign_fasta_splits(LabelledSequences& out, const data::DataSource& s, bool allow_unsplit) {
  if (s.split_method == "none" ||
      (s.split_method == "auto" && out.split.empty() && allow_unsplit)) {
    out.split.clear();
    return;
  }
  if (s.split_method == "column" || (s.split_method == "auto" && !out.split.empty())) {
    STRAND_CHECK(!out.split.empty(), "'{}' has no split column", s.labels);
    carve_valid_if_missing(out, s);
    return;
  }
  // Chromosome or random splits: the trainer's assignment, computed on its Dataset view (same
  // rows, in the labels' order); padding only matters to the model, not to the assignment.
  data::FastaDatasetOptions o;
  o.kind = data::parse_label_kind(s.task);
  o.lengths = data::LengthPolicy::kPadToMax;
  const auto dataset = data::Dataset::from_fasta(s.fasta, s.labels, o);
  set_splits(out, data::assign_splits(dataset, data::split_options(s)));
}

void check_source(const data::DataSource& s) {
  STRAND_CHECK(s.fasta.empty() != s.bed.empty(),
               "give either --fasta with --labels, or --bed with --genome (not both)");
  STRAND_CHECK(s.fasta.empty() || !s.labels.empty(), "--fasta needs --labels");
  STRAND_CHECK(s.bed.empty() || !s.genome.empty(),
               "--bed needs --genome (an indexed reference FASTA)");
}

// BED windows, decoded into memory by load_source (their size is checked there).
class HeldSequences final : public SequenceStream {
 public:
  explicit HeldSequences(std::vector<std::string> seqs) : seqs_(std::move(seqs)) {}
  int64_t size() const override { return static_cast<int64_t>(seqs_.size()); }
  void for_each(const Visit& visit) const override { MemorySequences(seqs_).for_each(visit); }

 private:
  std::vector<std::string> seqs_;
};

}  // namespace

LabelledSequences load_labelled(const std::string& fasta_path, const std::string& labels_path,
                                data::LabelKind kind) {
  const auto table = data::read_labels(labels_path, kind);
  auto records = data::read_fasta(fasta_path);
  std::vector<std::string> names;
  names.reserve(records.size());
  for (const auto& r : records) names.push_back(r.name);
  data::check_label_coverage(table, names, fasta_path);
  std::unordered_map<std::string, size_t> record_of;
  for (size_t i = 0; i < records.size(); ++i) record_of[records[i].name] = i;
  LabelledSequences out = labelled_rows(table);
  out.seqs.resize(table.names.size());
  for (size_t i = 0; i < table.names.size(); ++i)
    out.seqs[i] = std::move(records[record_of.at(table.names[i])].sequence);
  return out;
}

LabelledSequences load_source(const data::DataSource& s, bool allow_unsplit) {
  check_source(s);
  if (!s.fasta.empty()) {
    auto out = load_labelled(s.fasta, s.labels, data::parse_label_kind(s.task));
    assign_fasta_splits(out, s, allow_unsplit);
    return out;
  }
  const auto dataset = data::load_dataset(s);
  return decode_dataset(*dataset, s.split_method == "none"
                                      ? std::vector<data::Split>{}
                                      : data::assign_splits(*dataset, data::split_options(s)));
}

StreamedSource stream_source(const data::DataSource& s, bool allow_unsplit) {
  check_source(s);
  StreamedSource out;
  if (!s.fasta.empty()) {
    const auto table = data::read_labels(s.labels, data::parse_label_kind(s.task));
    out.rows = labelled_rows(table);
    out.seqs = std::make_unique<LabelledFasta>(s.fasta, table);
    assign_fasta_splits(out.rows, s, allow_unsplit);
    return out;
  }
  out.rows = load_source(s, allow_unsplit);
  out.seqs = std::make_unique<HeldSequences>(std::move(out.rows.seqs));
  out.rows.seqs.clear();
  return out;
}

LabelledSequences decode_dataset(const data::Dataset& dataset,
                                 const std::vector<data::Split>& splits) {
  const int64_t n = dataset.size();
  STRAND_CHECK(splits.empty() || static_cast<int64_t>(splits.size()) == n,
               "'{}': {} splits for {} examples", dataset.source(), splits.size(), n);
  std::vector<int64_t> rows(n);
  for (int64_t i = 0; i < n; ++i) rows[i] = i;
  LabelledSequences out = decode_rows(dataset, rows);
  set_splits(out, splits);
  return out;
}

LabelledSequences decode_rows(const data::Dataset& dataset, const std::vector<int64_t>& rows) {
  LabelledSequences out;
  out.kind = task_kind_of(dataset.kind());
  out.tasks = dataset.output_names();
  out.classes = dataset.classes();
  const int64_t n = static_cast<int64_t>(rows.size()), T = dataset.num_outputs(),
                L = dataset.length();
  // Every row decoded in memory: check the estimate before allocating it.
  check_memory(static_cast<uint64_t>(checked_mul(
                   n, checked_add(L + 64, checked_mul(T, 4, "labels"), "rows"), "rows")),
               format("decoding {} rows of {} bp from '{}'", n, L, dataset.source()));
  out.names.resize(n);
  out.seqs.resize(n);
  out.labels.resize(n * T);
  if (dataset.from_intervals()) out.chroms.resize(n);
  const auto reader = dataset.reader();
  std::vector<uint8_t> codes(L);
  std::vector<float> labels(T);
  for (int64_t i = 0; i < n; ++i) {
    reader.read(rows[i], codes.data(), labels.data());
    out.names[i] = dataset.name(rows[i]);
    out.seqs[i] = data::decode_bases(codes.data(), L);
    for (int64_t t = 0; t < T; ++t) out.labels[i * T + t] = labels[t];
    if (dataset.from_intervals()) out.chroms[i] = dataset.chromosome(rows[i]);
  }
  return out;
}

BaselineProblem baseline_problem(const LabelledSequences& all) {
  BaselineProblem p;
  p.kind = all.kind;
  p.tasks = all.tasks;
  p.classes = all.classes;
  p.train = split_rows(all, 0);
  p.valid = split_rows(all, 1);
  p.test = split_rows(all, 2);
  return p;
}

SplitData split_rows(const LabelledSequences& all, int split) {
  SplitData out;
  const size_t T = all.tasks.size();
  for (size_t i = 0; i < all.names.size(); ++i) {
    if (all.split[i] != split) continue;
    out.names.push_back(all.names[i]);
    out.seqs.push_back(all.seqs[i]);
    out.labels.insert(out.labels.end(), all.labels.begin() + i * T,
                      all.labels.begin() + (i + 1) * T);
  }
  return out;
}

std::vector<double> read_scores(const std::string& path, const std::vector<std::string>& names,
                                const std::vector<std::string>& columns) {
  // Scores are read as double (not through the float label table) so that ties and ranks are
  // exactly those of the file.
  data::TextReader reader(path);
  std::string_view line;
  std::vector<std::string_view> fields;
  STRAND_CHECK(reader.next(line), "scores '{}' are empty", path);
  data::split_tabs(line, fields);
  STRAND_CHECK(!fields.empty() && fields[0] == "name",
               "scores '{}' line 1: the first column must be 'name'", path);
  const std::vector<std::string> header(fields.begin() + 1, fields.end());
  std::unordered_map<std::string, size_t> col_of;
  for (size_t c = 0; c < header.size(); ++c) col_of[header[c]] = c;
  std::vector<std::string> missing, extra;
  for (const auto& c : columns)
    if (!col_of.count(c)) missing.push_back(c);
  const std::unordered_set<std::string> wanted(columns.begin(), columns.end());
  for (const auto& c : header)
    if (!wanted.count(c)) extra.push_back(c);
  STRAND_CHECK(missing.empty() && extra.empty(),
               "scores '{}' do not match the labels' columns: missing [{}], unexpected [{}]", path,
               data::first_few(missing), data::first_few(extra));
  std::unordered_map<std::string, size_t> row_of;
  for (size_t i = 0; i < names.size(); ++i) row_of[names[i]] = i;
  std::vector<double> out(names.size() * columns.size(), std::nan(""));
  std::vector<char> seen(names.size(), 0);
  std::vector<std::string> unknown;
  while (reader.next(line)) {
    if (line.empty()) continue;
    data::split_tabs(line, fields);
    STRAND_CHECK(fields.size() == header.size() + 1, "scores '{}' line {}: {} fields, expected {}",
                 path, reader.line_number(), fields.size(), header.size() + 1);
    const auto it = row_of.find(std::string(fields[0]));
    if (it == row_of.end()) {
      unknown.emplace_back(fields[0]);
      continue;
    }
    STRAND_CHECK(!seen[it->second], "scores '{}' line {}: name '{}' appears twice", path,
                 reader.line_number(), fields[0]);
    seen[it->second] = 1;
    for (size_t c = 0; c < columns.size(); ++c) {
      const size_t f = col_of[columns[c]] + 1;
      out[it->second * columns.size() + c] =
          data::parse_number(fields[f], "score", path, reader.line_number(), columns[c]);
    }
  }
  STRAND_CHECK(unknown.empty(), "scores '{}' have {} name(s) without labels: {}", path,
               unknown.size(), data::first_few(unknown));
  std::vector<std::string> unscored;
  for (size_t i = 0; i < names.size(); ++i)
    if (!seen[i]) unscored.push_back(names[i]);
  STRAND_CHECK(unscored.empty(), "scores '{}' lack {} labelled name(s): {}", path, unscored.size(),
               data::first_few(unscored));
  return out;
}

void write_scores(const std::string& path, const std::vector<std::string>& names,
                  const std::vector<std::string>& columns, const std::vector<double>& values) {
  STRAND_CHECK(values.size() == names.size() * columns.size(),
               "write_scores: {} values for {} rows x {} columns", values.size(), names.size(),
               columns.size());
  std::ostringstream out;
  out << "name";
  for (const auto& c : columns) out << '\t' << c;
  out << '\n';
  for (size_t i = 0; i < names.size(); ++i) {
    out << names[i];
    for (size_t c = 0; c < columns.size(); ++c)
      out << '\t' << number(values[i * columns.size() + c]);
    out << '\n';
  }
  runtime::write_file_atomic(path, {out.str()});
}

void write_labels(const std::string& path, const std::vector<std::string>& names, TaskKind kind,
                  const std::vector<std::string>& tasks, const std::vector<std::string>& classes,
                  const std::vector<double>& labels) {
  const size_t T = tasks.size();
  STRAND_CHECK(labels.size() == names.size() * T, "write_labels: {} labels for {} rows x {} tasks",
               labels.size(), names.size(), T);
  std::ostringstream out;
  out << "name";
  for (const auto& t : tasks) out << '\t' << t;
  out << '\n';
  for (size_t i = 0; i < names.size(); ++i) {
    out << names[i];
    for (size_t t = 0; t < T; ++t) {
      const double v = labels[i * T + t];
      if (kind == TaskKind::kMultiClass)
        out << '\t' << classes.at(static_cast<size_t>(v));
      else if (kind == TaskKind::kBinary)
        out << '\t' << static_cast<int>(v);
      else
        out << '\t' << number(v);
    }
    out << '\n';
  }
  runtime::write_file_atomic(path, {out.str()});
}

}  // namespace strand::rules
