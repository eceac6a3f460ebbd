// Line-by-line reading of text inputs (FASTA, TSV, BED), plain or gzip/bgzip-compressed, through
// htslib's BGZF reader, with the file name and line number every error message needs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct kstring_t;  // htslib's growable string, kept out of this header

namespace strand::data {

// How a file on disk is compressed, as htslib detects it from its first bytes.
enum class Compression { kNone, kGzip, kBgzip };

std::string_view compression_name(Compression c);

// Turns htslib's own stderr logging off (once): strand's errors say what went wrong and where.
void quiet_htslib();

class TextReader {
 public:
  explicit TextReader(std::string path);
  ~TextReader();
  TextReader(const TextReader&) = delete;
  TextReader& operator=(const TextReader&) = delete;

  // Reads the next line without its "\n" (and "\r"); false at end of file. Lines holding bytes
  // that never occur in text (NUL, other control characters) raise an error naming the line, so
  // binary junk is not mistaken for data.
  bool next(std::string_view& line);

  const std::string& path() const { return path_; }
  int64_t line_number() const { return line_number_; }
  Compression compression() const { return compression_; }

 private:
  std::string path_;
  void* file_ = nullptr;       // BGZF*, kept opaque so htslib stays out of this header
  kstring_t* line_ = nullptr;  // reused for every line: no allocation per line
  int64_t line_number_ = 0;
  Compression compression_ = Compression::kNone;
};

// Splits a line at tabs; empty fields are kept (two adjacent tabs give an empty field).
void split_tabs(std::string_view line, std::vector<std::string_view>& fields);

// Parses a whole field as a finite number; otherwise raises an error naming the file, line,
// column and offending text ("what" says what the number is, e.g. "label").
double parse_number(std::string_view field, std::string_view what, const std::string& path,
                    int64_t line, std::string_view column);

// As parse_number for a non-negative integer coordinate.
int64_t parse_coordinate(std::string_view field, std::string_view what, const std::string& path,
                         int64_t line);

// True when field parses completely as a finite number (no error raised).
bool is_number(std::string_view field);

}  // namespace strand::data
