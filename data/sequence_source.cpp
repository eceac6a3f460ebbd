#include "data/sequence_source.h"

#include <memory>

#include "core/checked.h"
#include "core/error.h"
#include "data/dataset.h"
#include "data/encoding.h"
#include "data/fasta.h"

namespace strand::data {

std::vector<uint8_t> SequenceSource::read_all() const {
  std::vector<uint8_t> codes(
      static_cast<size_t>(checked_mul(size(), length, "sequences x length")));
  for (int64_t i = 0; i < size(); ++i) read(i, codes.data() + i * length);
  return codes;
}

SequenceSource sequences_from_fasta(const std::string& fasta_path, int64_t length) {
  auto records = std::make_shared<std::vector<FastaRecord>>(read_fasta(fasta_path));
  STRAND_CHECK(!records->empty(), "'{}' has no sequences", fasta_path);
  SequenceSource in;
  in.length = length;
  for (const auto& r : *records) {
    STRAND_CHECK(static_cast<int64_t>(r.sequence.size()) == length,
                 "'{}': record '{}' has length {}, but the model takes length {}", fasta_path,
                 r.name, r.sequence.size(), length);
    in.names.push_back(r.name);
  }
  in.read = [records](int64_t row, uint8_t* codes) {
    const auto& r = (*records)[row];
    encode_bases(r.sequence, codes, r.name);
  };
  return in;
}

SequenceSource sequences_from_bed(const std::string& bed_path, const std::string& reference_path,
                                  int64_t length) {
  auto dataset = std::make_shared<Dataset>(Dataset::from_bed(bed_path, reference_path, length));
  SequenceSource in;
  in.length = length;
  for (int64_t i = 0; i < dataset->size(); ++i) in.names.push_back(dataset->name(i));
  in.read = [dataset](int64_t row, uint8_t* codes) { dataset->read(row, codes, nullptr); };
  return in;
}

SequenceSource open_sequences(const std::string& fasta, const std::string& bed,
                              const std::string& genome, int64_t length) {
  if (!bed.empty()) {
    STRAND_CHECK(fasta.empty(), "give either --fasta or --bed with --genome, not both");
    STRAND_CHECK(!genome.empty(), "--bed needs --genome (an indexed reference FASTA)");
    return sequences_from_bed(bed, genome, length);
  }
  STRAND_CHECK(!fasta.empty(), "no sequences: give --fasta, or --bed with --genome");
  STRAND_CHECK(genome.empty(), "--genome goes with --bed");
  return sequences_from_fasta(fasta, length);
}

}  // namespace strand::data
