// FastaReader (validating, streaming) and IndexedFasta (htslib faidx) implementations.
#include "data/fasta.h"

#include <htslib/bgzf.h>
#include <htslib/faidx.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/checked.h"
#include "core/error.h"
#include "data/encoding.h"
#include "data/text_reader.h"
#include "runtime/file_io.h"

namespace strand::data {
namespace {

std::string header_name(std::string_view header) {
  std::string_view rest = header.substr(1);
  const size_t end = rest.find_first_of(" \t");
  return std::string(rest.substr(0, end));
}

std::string preview(std::string_view line) {
  std::string s(line.substr(0, 20));
  if (line.size() > 20) s += "...";
  return s;
}

bool newer_than(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  if (stat(a.c_str(), &sa) != 0 || stat(b.c_str(), &sb) != 0) return false;
  return sa.st_mtim.tv_sec != sb.st_mtim.tv_sec ? sa.st_mtim.tv_sec > sb.st_mtim.tv_sec
                                                : sa.st_mtim.tv_nsec > sb.st_mtim.tv_nsec;
}

// One line of a .fai: name, length, offset of the first base, bases per line, bytes per line;
// and, derived, one past the last base's byte.
struct FaiEntry {
  std::string name;
  int64_t length = 0, offset = 0, line_bases = 0, line_bytes = 0, end = 0;
};

// One past the last base's byte, or -1 when a crafted index makes it overflow 64 bits.
int64_t fai_end(const FaiEntry& e) {
  if (e.length == 0) return e.offset;
  int64_t full_lines = 0, end = 0;
  if (__builtin_mul_overflow((e.length - 1) / e.line_bases, e.line_bytes, &full_lines) ||
      __builtin_add_overflow(e.offset, full_lines, &end) ||
      __builtin_add_overflow(end, (e.length - 1) % e.line_bases + 1, &end))
    return -1;
  return end;
}

// The index's entries in 64 bits (htslib's faidx_seq_len is 32-bit); empty if it is malformed.
std::vector<FaiEntry> read_fai(const std::string& fai) {
  std::ifstream in(fai);
  std::vector<FaiEntry> out;
  std::string line;
  while (std::getline(in, line)) {
    FaiEntry e;
    std::istringstream fields(line);
    std::getline(fields, e.name, '\t');
    if (!(fields >> e.length >> e.offset >> e.line_bases >> e.line_bytes) || e.length < 0 ||
        e.offset < 0 || e.line_bases <= 0 || e.line_bytes < e.line_bases ||
        (e.end = fai_end(e)) < 0)
      return {};
    out.push_back(std::move(e));
  }
  return out;
}

// Why an existing index does not describe an uncompressed FASTA (a file replaced by an older
// one, or rewritten within the same second), or "" if it does: the file's size must match the
// last record's end, and for a sample of records the header line must precede the first base and
// a line end must follow the last.
// Reads up to n bytes at an uncompressed offset (fewer at the end of the file, none past it).
using ReadAt = std::function<std::string(int64_t offset, size_t n)>;

// Why the index does not describe the FASTA, or "" when it does: the last record must end where
// the file ends (a final line break aside), and 16 sampled records must start right after their
// header line and end with a line break. Offsets are uncompressed ones, so this works for plain
// files and, through the .gzi, for bgzip.
std::string fai_mismatch(const std::vector<FaiEntry>& entries, const ReadAt& read_at) {
  if (entries.empty()) return "it is empty or malformed";
  const int64_t last_end = entries.back().end;
  if (last_end < 1) return "it is malformed";
  // The last base, then at most a final "\r\n".
  const std::string tail = read_at(last_end - 1, 4);
  const bool shorter = tail.empty() || tail[0] == '\n' || tail[0] == '\r';
  if (shorter || tail.size() == 4)
    return strand::format("it describes {} bytes but the FASTA is {}", last_end,
                          shorter ? "shorter" : "longer");
  const size_t n = entries.size(), samples = std::min<size_t>(n, 16);
  for (size_t k = 0; k < samples; ++k) {
    const FaiEntry& e = entries[samples == 1 ? 0 : k * (n - 1) / (samples - 1)];
    const int64_t from = std::max<int64_t>(0, e.offset - 8192);  // the header line, if short
    const std::string before = read_at(from, static_cast<size_t>(e.offset - from));
    std::string_view head(before);
    bool header_ok =
        head.size() == static_cast<size_t>(e.offset - from) && !head.empty() && head.back() == '\n';
    if (header_ok) {
      head.remove_suffix(1);
      if (!head.empty() && head.back() == '\r') head.remove_suffix(1);
      const size_t nl = head.rfind('\n');
      if (nl != std::string_view::npos || from == 0) {  // else: a header too long to check
        const std::string_view line = nl == std::string_view::npos ? head : head.substr(nl + 1);
        header_ok = !line.empty() && line[0] == '>' && header_name(line) == e.name;
      }
    }
    const std::string after = read_at(e.end, 1);
    if (!header_ok || (!after.empty() && after[0] != '\n' && after[0] != '\r'))
      return strand::format("record '{}' is not where it says (byte {})", e.name, e.offset);
  }
  return "";
}

std::string plain_fai_mismatch(const std::string& path, const std::vector<FaiEntry>& entries) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "the FASTA cannot be read";
  return fai_mismatch(entries, [&](int64_t offset, size_t n) {
    std::string out(n, '\0');
    in.clear();
    in.seekg(offset);
    in.read(out.data(), static_cast<std::streamsize>(n));
    out.resize(in ? n : static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
    return out;
  });
}

// The block starts a .gzi lists, as (compressed, uncompressed) offsets, after the implicit
// (0, 0); empty when the file is not a .gzi.
std::vector<std::pair<uint64_t, uint64_t>> read_gzi(const std::string& gzi) {
  std::ifstream in(gzi, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);  // little-endian, as the x86-64 host
  std::vector<std::pair<uint64_t, uint64_t>> out = {{0, 0}};
  for (uint64_t i = 0; in && i < n && i < (uint64_t{1} << 32); ++i) {
    uint64_t c = 0, u = 0;
    in.read(reinterpret_cast<char*>(&c), 8);
    in.read(reinterpret_cast<char*>(&u), 8);
    if (in) out.emplace_back(c, u);
  }
  return out;
}

// The uncompressed size of the BGZF block starting at compressed offset c (its ISIZE footer), or
// -1 when no BGZF block starts there.
int64_t block_size_at(std::ifstream& raw, uint64_t c) {
  unsigned char h[18] = {};
  raw.clear();
  raw.seekg(static_cast<std::streamoff>(c));
  raw.read(reinterpret_cast<char*>(h), sizeof h);
  if (!raw || h[0] != 31 || h[1] != 139 || !(h[3] & 4) || h[12] != 'B' || h[13] != 'C') return -1;
  const uint64_t bsize = h[16] | (h[17] << 8);  // block size - 1
  unsigned char f[4] = {};
  raw.seekg(static_cast<std::streamoff>(c + bsize + 1 - 4));
  raw.read(reinterpret_cast<char*>(f), sizeof f);
  if (!raw) return -1;
  return f[0] | (f[1] << 8) | (f[2] << 16) | (int64_t{f[3]} << 24);
}

// The same check on a bgzip FASTA, reading at uncompressed offsets through its .gzi. htslib
// asserts (aborts) when a .gzi sends it past the end of a block, as a stale one may: the block
// each read starts in is checked against the .gzi first.
std::string bgzip_fai_mismatch(const std::string& path, const std::string& gzi,
                               const std::vector<FaiEntry>& entries) {
  const auto blocks = read_gzi(gzi);
  std::ifstream raw(path, std::ios::binary);
  BGZF* fp = bgzf_open(path.c_str(), "r");
  if (fp == nullptr || !raw) {
    if (fp != nullptr) bgzf_close(fp);
    return "the FASTA cannot be read";
  }
  std::string why;
  if (bgzf_index_load(fp, gzi.c_str(), nullptr) != 0) {
    why = "its .gzi index cannot be read";
  } else {
    why = fai_mismatch(entries, [&](int64_t offset, size_t n) {
      const auto u = static_cast<uint64_t>(offset);
      auto it = std::upper_bound(blocks.begin(), blocks.end(), u,
                                 [](uint64_t x, const auto& b) { return x < b.second; });
      --it;  // the last block starting at or before the offset (blocks[0] is (0, 0))
      const int64_t size = block_size_at(raw, it->first);
      if (size < 0 || u - it->second > static_cast<uint64_t>(size)) return std::string();
      std::string out(n, '\0');
      if (bgzf_useek(fp, offset, SEEK_SET) != 0) return std::string();
      const ssize_t got = bgzf_read(fp, out.data(), n);
      out.resize(got > 0 ? static_cast<size_t>(got) : 0);
      return out;
    });
  }
  bgzf_close(fp);
  return why;
}

bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

}  // namespace

FastaReader::FastaReader(std::string path) : lines_(std::move(path)) {}

bool FastaReader::next(FastaRecord& record) {
  std::string_view line;
  if (!started_) {
    started_ = true;
    while (lines_.next(line)) {
      if (line.empty()) continue;
      STRAND_CHECK(line[0] == '>',
                   "'{}' is not FASTA: line {} starts with '{}' where a '>' header must come "
                   "first",
                   path(), lines_.line_number(), preview(line));
      pending_header_ = std::string(line);
      pending_line_ = lines_.line_number();
      break;
    }
    STRAND_CHECK(!pending_header_.empty(), "'{}' holds no FASTA records (empty file)", path());
  }
  if (pending_header_.empty()) return false;

  record.name = header_name(pending_header_);
  record.sequence.clear();
  const int64_t header_line = pending_line_;
  STRAND_CHECK(!record.name.empty(), "'{}' line {}: FASTA header has no name", path(), header_line);
  const auto [it, inserted] = seen_.emplace(record.name, header_line);
  STRAND_CHECK(inserted, "'{}' line {}: duplicate record name '{}' (first seen at line {})", path(),
               header_line, record.name, it->second);
  pending_header_.clear();

  while (lines_.next(line)) {
    if (!line.empty() && line[0] == '>') {
      pending_header_ = std::string(line);
      pending_line_ = lines_.line_number();
      break;
    }
    const bool clean = std::all_of(line.begin(), line.end(),
                                   [](char ch) { return base_code(ch) != kBaseInvalid; });
    if (!clean) {
      // encode_bases words the message (record and position); add the file and line.
      std::vector<uint8_t> scratch(line.size());
      try {
        encode_bases(line, scratch.data(), record.name,
                     static_cast<int64_t>(record.sequence.size()));
      } catch (const Error& e) {
        STRAND_FAIL("'{}' line {}: {}", path(), lines_.line_number(), e.message());
      }
    }
    record.sequence.append(line);
  }
  STRAND_CHECK(!record.sequence.empty(), "'{}' line {}: record '{}' has an empty sequence", path(),
               header_line, record.name);
  return true;
}

std::vector<FastaRecord> read_fasta(const std::string& path) {
  FastaReader reader(path);
  std::vector<FastaRecord> records;
  FastaRecord r;
  // The whole file is held: checked as it grows against what the machine has, or a command's
  // --max-memory (core/checked.h).
  const uint64_t available = available_memory_bytes();
  uint64_t held = 0;
  while (reader.next(r)) {
    r.sequence.shrink_to_fit();  // lines appended one by one leave up to 2x capacity
    held += r.sequence.capacity() + r.name.capacity() + sizeof(FastaRecord);
    if (held > available)
      check_memory(held, format("reading '{}' ({} records so far)", path, records.size() + 1));
    records.push_back(std::move(r));
  }
  return records;
}

void write_fasta_record(std::ostream& out, std::string_view name, std::string_view sequence,
                        int width) {
  STRAND_CHECK(width > 0, "write_fasta: line width must be positive, got {}", width);
  out << '>' << name << '\n';
  for (size_t i = 0; i < sequence.size(); i += width)
    out << sequence.substr(i, static_cast<size_t>(width)) << '\n';
}

void write_fasta(const std::string& path, const std::vector<FastaRecord>& records, int width) {
  runtime::AtomicOstream out(path);
  for (const auto& r : records) write_fasta_record(out, r.name, r.sequence, width);
  out.commit();
}

// ---- IndexedFasta ----------------------------------------------------------------------------

IndexedFasta::IndexedFasta(std::string path, IndexCreation creation) : path_(std::move(path)) {
  {
    TextReader probe(path_);  // opens (or reports why not) and detects compression
    compression_ = probe.compression();
  }
  STRAND_CHECK(compression_ != Compression::kGzip,
               "'{}' is plain gzip, which htslib cannot index for random access; recompress it "
               "with bgzip (zcat {} | bgzip > out.fa.gz) or read it sequentially",
               path_, path_);
  load_index(creation);
}

void IndexedFasta::load_index(IndexCreation creation) {
  quiet_htslib();
  const std::string fai = path_ + ".fai";
  const std::string gzi = path_ + ".gzi";
  const bool need_gzi = compression_ == Compression::kBgzip;
  const bool present = exists(fai) && (!need_gzi || exists(gzi));
  std::string why_stale;
  if (present && newer_than(path_, fai))
    why_stale = "the FASTA is newer";
  else if (present)
    why_stale = need_gzi ? bgzip_fai_mismatch(path_, gzi, read_fai(fai))
                         : plain_fai_mismatch(path_, read_fai(fai));
  const bool stale = !why_stale.empty();
  if (!present || stale) {
    const std::string state = stale ? "an out-of-date index (" + why_stale + ")" : "no index";
    STRAND_CHECK(creation == IndexCreation::kCreateIfMissing,
                 "'{}' has {} '{}' and index creation is off", path_, state, fai);
    const std::string dir = std::filesystem::path(path_).parent_path().string();
    STRAND_CHECK(access(dir.empty() ? "." : dir.c_str(), W_OK) == 0,
                 "'{}' has {} and its directory '{}' is not writable; create it where "
                 "you can write (samtools faidx) and place '{}' beside the FASTA",
                 path_, state, dir.empty() ? "." : dir, fai);
    std::error_code ec;
    std::filesystem::remove(fai, ec);
    {
      // Validate first: faidx silently keeps one of two duplicate names and says little
      // about junk; FastaReader names the exact problem.
      FastaReader reader(path_);
      FastaRecord r;
      while (reader.next(r)) {
      }
    }
    STRAND_CHECK(fai_build3(path_.c_str(), fai.c_str(), need_gzi ? gzi.c_str() : nullptr) == 0,
                 "htslib could not index '{}': within a record every line but the last must "
                 "have the same length (rewrite it with a fixed line width)",
                 path_);
  }
  // Owned here until every check passed: a constructor that throws runs no destructor (a leak
  // the FASTA fuzz harness found).
  std::unique_ptr<faidx_t, void (*)(faidx_t*)> owned(
      fai_load3(path_.c_str(), fai.c_str(), need_gzi ? gzi.c_str() : nullptr, 0), fai_destroy);
  faidx_t* fai_handle = owned.get();
  STRAND_CHECK(fai_handle != nullptr, "htslib could not load the index '{}' of '{}'", fai, path_);
  const int n = faidx_nseq(fai_handle);
  const std::vector<FaiEntry> entries = read_fai(fai);
  STRAND_CHECK(static_cast<int>(entries.size()) == n,
               "'{}': the index '{}' is malformed ({} entries read, htslib sees {})", path_, fai,
               entries.size(), n);
  names_.reserve(n);
  lengths_.reserve(n);
  for (int i = 0; i < n; ++i) {
    const char* name = faidx_iseq(fai_handle, i);
    names_.emplace_back(name);
    lengths_.push_back(entries[i].length);  // 64-bit, unlike faidx_seq_len
    STRAND_CHECK(lengths_.back() > 0, "'{}': record '{}' has an empty sequence", path_, name);
    index_.emplace(names_.back(), i);
  }
  fai_ = owned.release();
}

IndexedFasta::~IndexedFasta() {
  if (fai_) fai_destroy(static_cast<faidx_t*>(fai_));
}

IndexedFasta::IndexedFasta(IndexedFasta&& other) noexcept { *this = std::move(other); }

IndexedFasta& IndexedFasta::operator=(IndexedFasta&& other) noexcept {
  if (this != &other) {
    if (fai_) fai_destroy(static_cast<faidx_t*>(fai_));
    path_ = std::move(other.path_);
    compression_ = other.compression_;
    fai_ = other.fai_;
    other.fai_ = nullptr;
    names_ = std::move(other.names_);
    lengths_ = std::move(other.lengths_);
    index_ = std::move(other.index_);
    mutex_ = std::move(other.mutex_);
  }
  return *this;
}

IndexedFasta IndexedFasta::reopen() const {
  IndexedFasta copy;
  copy.path_ = path_;
  copy.compression_ = compression_;
  copy.load_index(IndexCreation::kRequireExisting);
  return copy;
}

bool IndexedFasta::contains(std::string_view name) const {
  return index_.count(std::string(name)) != 0;
}

int64_t IndexedFasta::index_of(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  STRAND_CHECK(it != index_.end(), "'{}' has no record named '{}' ({} records)", path_, name,
               names_.size());
  return it->second;
}

std::string IndexedFasta::fetch(std::string_view name, int64_t begin, int64_t end) const {
  const int64_t len = length(name);
  STRAND_CHECK(0 <= begin && begin <= end && end <= len,
               "'{}': range [{}, {}) is outside record '{}' of length {}", path_, begin, end, name,
               len);
  if (begin == end) return {};
  const std::string cname(name);
  hts_pos_t got = 0;
  char* seq = nullptr;
  {
    std::lock_guard<std::mutex> lock(*mutex_);
    seq = faidx_fetch_seq64(static_cast<faidx_t*>(fai_), cname.c_str(), begin, end - 1, &got);
  }
  STRAND_CHECK(seq != nullptr && got == end - begin,
               "'{}': htslib failed to read '{}':{}-{} (got {} bases; is the index stale?)", path_,
               name, begin, end, static_cast<int64_t>(got));
  std::string out(seq, static_cast<size_t>(got));
  std::free(seq);
  return out;
}

void IndexedFasta::fetch_codes(std::string_view name, int64_t begin, int64_t end,
                               uint8_t* out) const {
  const std::string text = fetch(name, begin, end);
  encode_bases(text, out, name, begin);
}

void IndexedFasta::fetch_window(std::string_view name, int64_t begin, int64_t end,
                                uint8_t* out) const {
  STRAND_CHECK(begin <= end, "'{}': window [{}, {}) on '{}' has negative width", path_, begin, end,
               name);
  const int64_t len = length(name);
  const int64_t lo = std::max<int64_t>(begin, 0);
  const int64_t hi = std::min<int64_t>(end, len);
  if (hi <= lo) {  // the window misses the record entirely
    std::fill(out, out + (end - begin), kBaseUnknown);
    return;
  }
  std::fill(out, out + (lo - begin), kBaseUnknown);
  fetch_codes(name, lo, hi, out + (lo - begin));
  std::fill(out + (hi - begin), out + (end - begin), kBaseUnknown);
}

}  // namespace strand::data
