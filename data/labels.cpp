// The labels TSV reader: header checks, kind inference, strict value parsing, coverage checks.
#include "data/labels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_set>

#include "data/text_reader.h"
#include "core/error.h"

namespace strand::data {
namespace {

// Values that mean "missing" in common tools; a label must never silently be one of them.
bool looks_missing(std::string_view v) {
  if (v.empty()) return true;
  std::string lower(v);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "na" || lower == "nan" || lower == "n/a" || lower == "null" || lower == "none" ||
         lower == "-nan" || lower == "+nan";
}

bool is_zero_one(std::string_view v) {
  if (!is_number(v)) return false;
  const double d = std::stod(std::string(v));
  return d == 0.0 || d == 1.0;
}

}  // namespace

std::string_view label_kind_name(LabelKind k) {
  switch (k) {
    case LabelKind::kAuto:
      return "auto";
    case LabelKind::kBinary:
      return "binary";
    case LabelKind::kMultiLabel:
      return "multi-label";
    case LabelKind::kMultiClass:
      return "multi-class";
    case LabelKind::kRegression:
      return "regression";
  }
  return "?";
}

LabelKind parse_label_kind(std::string_view text) {
  for (LabelKind k : {LabelKind::kAuto, LabelKind::kBinary, LabelKind::kMultiLabel,
                      LabelKind::kMultiClass, LabelKind::kRegression}) {
    if (text == label_kind_name(k)) return k;
  }
  STRAND_FAIL("label kind '{}' is not one of auto, binary, multi-label, multi-class, regression",
              text);
}

int64_t LabelTable::find(std::string_view name) const {
  const auto it = row_of.find(std::string(name));
  return it == row_of.end() ? -1 : it->second;
}

std::string first_few(const std::vector<std::string>& items, size_t count) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < count; ++i) {
    if (i) out += ", ";
    out += "'" + items[i] + "'";
  }
  if (items.size() > count) out += format(" and {} more", items.size() - count);
  return out;
}

LabelTable read_labels(const std::string& path, LabelKind kind) {
  TextReader in(path);
  LabelTable t;
  t.path = path;

  std::string_view line;
  std::vector<std::string_view> fields;
  STRAND_CHECK(in.next(line),
               "'{}' is empty: a labels file needs a header line (name, then label "
               "columns)",
               path);
  split_tabs(line, fields);
  std::vector<std::string> header(fields.begin(), fields.end());
  int name_col = -1, split_col = -1;
  std::vector<int> label_cols;
  std::unordered_set<std::string> seen_columns;
  for (size_t c = 0; c < header.size(); ++c) {
    STRAND_CHECK(!header[c].empty(), "'{}' line 1: column {} of the header has no name", path,
                 c + 1);
    STRAND_CHECK(seen_columns.insert(header[c]).second,
                 "'{}' line 1: column '{}' appears twice in the header", path, header[c]);
    if (header[c] == "name") {
      name_col = static_cast<int>(c);
    } else if (header[c] == "split") {
      split_col = static_cast<int>(c);
    } else {
      label_cols.push_back(static_cast<int>(c));
      t.columns.push_back(header[c]);
    }
  }
  STRAND_CHECK(name_col >= 0,
               "'{}' line 1: the header has no 'name' column (got: {}); the first line must name "
               "the columns, tab-separated",
               path, first_few(header));
  STRAND_CHECK(!label_cols.empty(), "'{}' line 1: the header has no label column besides name{}",
               path, split_col >= 0 ? " and split" : "");

  // Raw text first: the kind is known only after every value has been seen.
  std::vector<std::string> raw;
  std::vector<int64_t> line_of_row;
  int64_t first_missing = -1;  // index into raw of the first missing value
  while (in.next(line)) {
    if (line.empty()) continue;
    split_tabs(line, fields);
    STRAND_CHECK(fields.size() == header.size(),
                 "'{}' line {}: {} tab-separated fields where the header has {}", path,
                 in.line_number(), fields.size(), header.size());
    const std::string name(fields[name_col]);
    STRAND_CHECK(!name.empty(), "'{}' line {}, column 'name': empty name", path, in.line_number());
    const auto [it, inserted] = t.row_of.emplace(name, t.num_rows());
    STRAND_CHECK(inserted, "'{}' line {}: name '{}' appears twice (first at line {})", path,
                 in.line_number(), name, line_of_row[it->second]);
    t.names.push_back(name);
    line_of_row.push_back(in.line_number());
    if (split_col >= 0) {
      t.splits.push_back(parse_split(
          fields[split_col], format("'{}' line {}, column 'split'", path, in.line_number())));
    }
    for (size_t k = 0; k < label_cols.size(); ++k) {
      const std::string_view v = fields[label_cols[k]];
      if (looks_missing(v) && first_missing < 0) first_missing = static_cast<int64_t>(raw.size());
      raw.emplace_back(v);
    }
  }
  STRAND_CHECK(t.num_rows() > 0, "'{}' has a header but no rows", path);

  const size_t ncol = label_cols.size();
  auto where = [&](size_t r) { return line_of_row[r]; };

  if (kind == LabelKind::kAuto) {
    // Inferred only from clean labels: numbers mixed with text, or 0/1 labels with a stray
    // other value, stop with the value and its line (--task gives the kind explicitly).
    constexpr size_t kNone = std::string::npos;
    size_t numbers = 0, texts = 0, zero_ones = 0;
    size_t first_number = kNone, first_text = kNone, first_other = kNone;
    for (size_t r = 0; r < raw.size(); ++r) {
      if (looks_missing(raw[r])) continue;
      if (!is_number(raw[r])) {
        ++texts;
        if (first_text == kNone) first_text = r;
      } else {
        ++numbers;
        if (first_number == kNone) first_number = r;
        if (is_zero_one(raw[r]))
          ++zero_ones;
        else if (first_other == kNone)
          first_other = r;
      }
    }
    auto stray = [&](size_t r, const std::string& why) {
      STRAND_FAIL(
          "'{}' line {}, column '{}': label '{}' {}, so the label kind is unclear; fix "
          "it, or give the kind with --task",
          path, where(r / ncol), t.columns[r % ncol], raw[r], why);
    };
    if (numbers > 0 && texts > 0) {
      if (texts <= numbers) stray(first_text, "is not a number but the other labels are");
      stray(first_number, "is a number but the other labels are text");
    }
    const size_t others = numbers - zero_ones;
    if (zero_ones > 0 && others > 0 && others <= std::max<size_t>(1, numbers / 100))
      stray(first_other,
            format("is neither 0 nor 1, unlike {} of the {} labels", zero_ones, numbers));
    const bool all_numeric = texts == 0, all_zero_one = others == 0;
    if (all_numeric) {
      kind = all_zero_one ? (ncol == 1 ? LabelKind::kBinary : LabelKind::kMultiLabel)
                          : LabelKind::kRegression;
    } else if (ncol == 1) {
      kind = LabelKind::kMultiClass;
    } else {
      kind = LabelKind::kRegression;  // several columns must be numeric: the parse below says where
    }
  }
  t.kind = kind;
  t.values.resize(raw.size());
  if (first_missing >= 0) {
    const size_t row = first_missing / ncol, col = first_missing % ncol;
    STRAND_CHECK(kind == LabelKind::kBinary || kind == LabelKind::kMultiLabel,
                 "'{}' line {}, column '{}': label '{}' is missing or NaN; missing labels are "
                 "allowed only for binary and multi-label tasks (the loss and metrics skip them), "
                 "and these labels are {}",
                 path, where(row), t.columns[col], raw[first_missing], label_kind_name(kind));
  }
  STRAND_CHECK(kind != LabelKind::kBinary || ncol == 1,
               "'{}': binary labels take one column, got {} ({}); use multi-label for several "
               "0/1 tasks",
               path, ncol, first_few(t.columns));

  if (kind == LabelKind::kMultiClass) {
    STRAND_CHECK(ncol == 1,
                 "'{}': multi-class labels take exactly one label column (class names), got {}: "
                 "{}",
                 path, ncol, first_few(t.columns));
    std::set<std::string> classes(raw.begin(), raw.end());
    t.classes.assign(classes.begin(), classes.end());
    // Integer class ids sort as numbers (2 before 10), other names alphabetically.
    const bool all_int = std::all_of(t.classes.begin(), t.classes.end(), [](const auto& c) {
      return !c.empty() && std::all_of(c.begin(), c.end(), ::isdigit) && c.size() < 10;
    });
    if (all_int) {
      std::sort(t.classes.begin(), t.classes.end(),
                [](const auto& a, const auto& b) { return std::stol(a) < std::stol(b); });
    }
    STRAND_CHECK(t.classes.size() >= 2,
                 "'{}', column '{}': multi-class labels need at least two "
                 "classes, found only '{}'",
                 path, t.columns[0], t.classes[0]);
    for (size_t r = 0; r < raw.size(); ++r) {
      const auto at = std::find(t.classes.begin(), t.classes.end(), raw[r]);
      t.values[r] = static_cast<float>(at - t.classes.begin());
    }
    return t;
  }

  for (size_t r = 0; r < raw.size(); ++r) {
    const size_t row = r / ncol, col = r % ncol;
    if (looks_missing(raw[r])) {  // binary / multi-label only (checked above)
      t.values[r] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    const double v = parse_number(raw[r], "label", path, where(row), t.columns[col]);
    if (kind == LabelKind::kBinary || kind == LabelKind::kMultiLabel) {
      STRAND_CHECK(v == 0.0 || v == 1.0,
                   "'{}' line {}, column '{}': {} labels must be 0 or 1, got '{}'", path,
                   where(row), t.columns[col], label_kind_name(kind), raw[r]);
    }
    t.values[r] = static_cast<float>(v);
  }
  return t;
}

void check_label_coverage(const LabelTable& labels, const std::vector<std::string>& sequence_names,
                          std::string_view sequences_path) {
  std::unordered_set<std::string> seqs(sequence_names.begin(), sequence_names.end());
  std::vector<std::string> unknown, unlabeled;
  for (const auto& n : labels.names) {
    if (!seqs.count(n)) unknown.push_back(n);
  }
  STRAND_CHECK(unknown.empty(), "'{}' has labels for {} name(s) not in '{}': {}", labels.path,
               unknown.size(), sequences_path, first_few(unknown));
  for (const auto& n : sequence_names) {
    if (labels.find(n) < 0) unlabeled.push_back(n);
  }
  STRAND_CHECK(unlabeled.empty(), "{} sequence(s) in '{}' have no label in '{}': {}",
               unlabeled.size(), sequences_path, labels.path, first_few(unlabeled));
}

}  // namespace strand::data
