// Sequences the data checks read again each time they need them instead of holding them: the
// checks keep only what they compute from each record (sketches, per-record statistics), so their
// memory does not grow with the FASTA (bounded by --max-memory, core/checked.h), and a
// chromosome-length record is held only while it is read.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/labels.h"

namespace strand::rules {

class SequenceStream {
 public:
  using Visit = std::function<void(int64_t row, std::string_view sequence)>;
  virtual ~SequenceStream() = default;
  // Rows are 0 .. size() - 1.
  virtual int64_t size() const = 0;
  // Calls visit(row, sequence) once for every row, in the input's order (not necessarily row
  // order); each call reads the input again. The view lives until visit returns.
  virtual void for_each(const Visit& visit) const = 0;
};

// Sequences already in memory (the trainer's decoded rows, tests).
class MemorySequences final : public SequenceStream {
 public:
  explicit MemorySequences(std::span<const std::string> seqs) : seqs_(seqs) {}
  int64_t size() const override { return static_cast<int64_t>(seqs_.size()); }
  void for_each(const Visit& visit) const override;

 private:
  std::span<const std::string> seqs_;
};

// FASTA files one after another (e.g. one per split): rows numbered in file order across them.
// The constructor reads the files once for the names; file_of(row) says which file a row is in.
class FastaFiles final : public SequenceStream {
 public:
  explicit FastaFiles(std::vector<std::string> paths);
  int64_t size() const override { return static_cast<int64_t>(names_.size()); }
  void for_each(const Visit& visit) const override;
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<int>& file_of() const { return file_of_; }

 private:
  std::vector<std::string> paths_, names_;
  std::vector<int> file_of_;
};

// The records of a FASTA named by a labels table: row i is the record named labels.names[i].
// Every pass checks that each label has exactly one record and each record a label, as
// data::check_label_coverage does for a loaded file.
class LabelledFasta final : public SequenceStream {
 public:
  LabelledFasta(std::string path, const data::LabelTable& labels);
  int64_t size() const override { return static_cast<int64_t>(names_.size()); }
  void for_each(const Visit& visit) const override;

 private:
  std::string path_, labels_path_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, int64_t> row_of_;
};

}  // namespace strand::rules
