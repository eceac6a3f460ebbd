// A Dataset: fixed-length examples (u8 base codes) with label vectors, read on demand from an
// indexed FASTA (memory bounded by the index, not the genome) or from in-memory records.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/bed.h"
#include "data/fasta.h"
#include "data/labels.h"
#include "data/split_name.h"

namespace strand::data {

// What to do when FASTA records differ in length (models take one fixed length).
enum class LengthPolicy {
  kRequireFixed,  // different lengths are an error naming the lengths and example records
  kPadToMax,      // shorter records are padded with N on the right up to the longest
};

struct FastaDatasetOptions {
  LabelKind kind = LabelKind::kAuto;
  LengthPolicy lengths = LengthPolicy::kRequireFixed;
};

class Dataset {
 public:
  // Sequences from a FASTA file (uncompressed or bgzip: read through the index, created when
  // missing; plain gzip: loaded once as 1-byte codes) and labels from a TSV whose names must
  // match the records exactly (see check_label_coverage). Examples follow the labels' row order.
  static Dataset from_fasta(const std::string& fasta_path, const std::string& labels_path,
                            const FastaDatasetOptions& options = {});
  // Fixed-width windows centred on BED intervals of an indexed reference; the BED's target
  // columns are the labels (kind: binary/multi-label when all 0/1, else regression).
  static Dataset from_bed(const std::string& bed_path, const std::string& reference_path,
                          int64_t window);
  // In-memory records and labels (e.g. simulated data); same checks as from_fasta.
  static Dataset from_records(const std::vector<FastaRecord>& records, LabelTable labels,
                              LengthPolicy lengths = LengthPolicy::kRequireFixed);

  int64_t size() const { return static_cast<int64_t>(items_.size()); }
  int64_t length() const { return length_; }
  // Floats per label vector: tasks for binary/multi-label/regression, 1 (class index) for
  // multi-class.
  int64_t num_outputs() const { return static_cast<int64_t>(outputs_.size()); }
  LabelKind kind() const { return kind_; }
  const std::vector<std::string>& output_names() const { return outputs_; }
  const std::vector<std::string>& classes() const { return classes_; }
  const std::string& source() const { return source_; }

  // Example name: the FASTA record name, or the BED name column (else chrom:start-end).
  const std::string& name(int64_t i) const { return names_[i]; }
  // Chromosome of an example, for hold-out splits: the BED chrom, or the part of a FASTA record
  // name before ':' when it looks like "chr8:100-200" (else the whole name).
  std::string chromosome(int64_t i) const;
  // Whether the examples are genome intervals (BED), whose chromosomes are real.
  bool from_intervals() const { return !chrom_from_record_name_; }
  // The split column of the labels file, one per example (empty when there is none).
  const std::vector<Split>& declared_splits() const { return splits_; }
  const float* labels(int64_t i) const { return labels_.data() + i * num_outputs(); }

  // A copy whose label vectors are shuffled among `rows` (seeded Fisher-Yates; the other rows
  // keep theirs): the null data of a label-permutation test.
  Dataset with_permuted_labels(const std::vector<int64_t>& rows, uint64_t seed) const;

  // Reads examples; one Reader per thread (each holds its own file handle).
  class Reader {
   public:
    // codes: length() bytes; labels: num_outputs() floats (either may be null to skip it).
    void read(int64_t i, uint8_t* codes, float* labels) const;

   private:
    friend class Dataset;
    const Dataset* dataset_ = nullptr;
    std::unique_ptr<IndexedFasta> fasta_;
  };
  Reader reader() const;
  // Convenience for single reads (opens a handle each call; use a Reader in loops).
  void read(int64_t i, uint8_t* codes, float* labels) const { reader().read(i, codes, labels); }

 private:
  struct Item {
    int32_t record = 0;  // index into record names of the source
    int64_t begin = 0;   // window, may reach past the record's ends (padding)
    int64_t end = 0;
  };
  void set_labels_from(const LabelTable& labels, const std::vector<std::string>& record_names,
                       const std::vector<int64_t>& record_lengths, LengthPolicy lengths);

  std::string source_;
  std::shared_ptr<const IndexedFasta> fasta_;  // indexed source, or null for in-memory
  std::vector<std::string> record_names_;      // names of the source's records (by Item::record)
  std::vector<uint8_t> memory_codes_;          // in-memory source: records' codes back to back
  std::vector<int64_t> memory_offsets_;        // record r starts at memory_offsets_[r]
  std::vector<int64_t> record_lengths_;
  bool chrom_from_record_name_ = true;

  std::vector<Item> items_;
  std::vector<std::string> names_;
  std::vector<float> labels_;
  std::vector<Split> splits_;
  std::vector<std::string> outputs_, classes_;
  LabelKind kind_ = LabelKind::kAuto;
  int64_t length_ = 0;
};

}  // namespace strand::data
