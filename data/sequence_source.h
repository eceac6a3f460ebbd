// Sequences to score with a trained model, without labels: FASTA records of the model's input
// length, or windows centred on BED intervals of an indexed reference. `strand predict`, the
// interpretation commands and the Python package read their input through this one type.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace strand::data {

struct SequenceSource {
  std::vector<std::string> names;  // one per sequence, in input order
  int64_t length = 0;              // every sequence's length
  // Writes sequence `row`'s base codes (length values, data/encoding.h) to `codes`.
  std::function<void(int64_t row, uint8_t* codes)> read;

  int64_t size() const { return static_cast<int64_t>(names.size()); }
  // All sequences' codes, [size(), length] row-major.
  std::vector<uint8_t> read_all() const;
};

// Every record of FASTA_PATH; each must be `length` long (the error names the record).
SequenceSource sequences_from_fasta(const std::string& fasta_path, int64_t length);
// Windows of `length` centred on each interval of BED_PATH in the indexed REFERENCE_PATH.
SequenceSource sequences_from_bed(const std::string& bed_path, const std::string& reference_path,
                                  int64_t length);

// The one choice every command offers: FASTA records (fasta), or windows of `length` centred on
// BED intervals (bed) of an indexed genome; exactly one of the two, with a one-line error naming
// the flags (--fasta, --bed, --genome) otherwise.
SequenceSource open_sequences(const std::string& fasta, const std::string& bed,
                              const std::string& genome, int64_t length);

}  // namespace strand::data
