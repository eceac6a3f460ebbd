// FASTA input through htslib: a streaming reader for plain, gzip and bgzip files, and an indexed
// reader (.fai, plus .gzi for bgzip) for random access to windows of a reference genome.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/text_reader.h"

namespace strand::data {

struct FastaRecord {
  std::string name;      // header text after '>' up to the first space or tab
  std::string sequence;  // bases as written (soft-masked lower case kept), lines joined
};

// Reads records one at a time, so memory stays bounded by the longest record. Every record is
// checked: the file must start with a '>' header (else "not FASTA"), names must be non-empty and
// unique, sequences non-empty and made of IUPAC letters (see data/encoding.h); errors name the
// file, line, record and position.
class FastaReader {
 public:
  explicit FastaReader(std::string path);
  // Fills record with the next record; false after the last one.
  bool next(FastaRecord& record);
  const std::string& path() const { return lines_.path(); }
  Compression compression() const { return lines_.compression(); }

 private:
  TextReader lines_;
  std::string pending_header_;  // header line already read that starts the next record
  int64_t pending_line_ = 0;
  bool started_ = false;
  std::unordered_map<std::string, int64_t> seen_;  // name -> header line, to report duplicates
};

// Every record of a FASTA file, in file order (for small inputs and plain gzip files, which
// cannot be indexed).
std::vector<FastaRecord> read_fasta(const std::string& path);

// Writes records with lines of `width` bases (faidx needs equal line lengths within a record),
// atomically (runtime::AtomicOstream: a full disk leaves no partial file).
void write_fasta(const std::string& path, const std::vector<FastaRecord>& records, int width = 60);
// One record in the same layout, for writers that stream records.
void write_fasta_record(std::ostream& out, std::string_view name, std::string_view sequence,
                        int width = 60);

enum class IndexCreation {
  kCreateIfMissing,  // build .fai (and .gzi) when missing or older than the FASTA
  kRequireExisting,  // raise an error when the index is missing
};

// Random access to an uncompressed or bgzip FASTA through htslib's faidx. Building the index
// first validates the whole file with FastaReader (faidx itself would skip duplicate names);
// an existing index is trusted, and fetched bases are still checked against the IUPAC rule.
// Plain gzip cannot be indexed: the constructor says so (read it with read_fasta instead).
// Fetching is thread-safe (calls on one object are serialized); for parallel reading give each
// thread its own handle with reopen().
class IndexedFasta {
 public:
  explicit IndexedFasta(std::string path, IndexCreation creation = IndexCreation::kCreateIfMissing);
  ~IndexedFasta();
  IndexedFasta(IndexedFasta&&) noexcept;
  IndexedFasta& operator=(IndexedFasta&&) noexcept;

  // A new, independent handle on the same file and index.
  IndexedFasta reopen() const;

  const std::string& path() const { return path_; }
  Compression compression() const { return compression_; }
  int64_t num_records() const { return static_cast<int64_t>(names_.size()); }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<int64_t>& lengths() const { return lengths_; }
  bool contains(std::string_view name) const;
  // Index of a record; an unknown name raises an error naming the file.
  int64_t index_of(std::string_view name) const;
  int64_t length(std::string_view name) const { return lengths_[index_of(name)]; }

  // Bases [begin, end) (0-based, half-open) of a record as text; the range must lie inside it.
  std::string fetch(std::string_view name, int64_t begin, int64_t end) const;
  // The same bases as codes (data/encoding.h) into out[0, end - begin).
  void fetch_codes(std::string_view name, int64_t begin, int64_t end, uint8_t* out) const;
  // Codes for a window that may reach past either end of the record: positions before 0 or at
  // or after the record's length are padded with unknown (N, code 4), as DeepSEA and Basset do.
  void fetch_window(std::string_view name, int64_t begin, int64_t end, uint8_t* out) const;

 private:
  IndexedFasta() = default;
  void load_index(IndexCreation creation);

  std::string path_;
  Compression compression_ = Compression::kNone;
  void* fai_ = nullptr;  // faidx_t*
  std::vector<std::string> names_;
  std::vector<int64_t> lengths_;
  std::unordered_map<std::string, int64_t> index_;
  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
};

}  // namespace strand::data
