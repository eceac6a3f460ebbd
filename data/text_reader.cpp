// TextReader over htslib's BGZF (reads plain, gzip and bgzip alike) and the field parsers shared
// by the labels and BED readers.
#include "data/text_reader.h"

#include <htslib/bgzf.h>
#include <htslib/hts_log.h>
#include <htslib/kstring.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace strand::data {

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "uncompressed";
    case Compression::kGzip:
      return "gzip";
    case Compression::kBgzip:
      return "bgzip";
  }
  return "?";
}

void quiet_htslib() {
  // strand's errors name the file and line; htslib's own "[E::bgzf_read] ..." lines on stderr
  // would only add noise around them.
  static const bool once = [] {
    hts_set_log_level(HTS_LOG_OFF);
    return true;
  }();
  (void)once;
}

TextReader::TextReader(std::string path) : path_(std::move(path)) {
  quiet_htslib();
  BGZF* fp = bgzf_open(path_.c_str(), "r");
  STRAND_CHECK(fp != nullptr, "cannot open '{}': {}", path_, std::strerror(errno));
  file_ = fp;
  line_ = new kstring_t{0, 0, nullptr};
  switch (bgzf_compression(fp)) {
    case 1:
      compression_ = Compression::kGzip;
      break;
    case 2:
      compression_ = Compression::kBgzip;
      break;
    default:
      compression_ = Compression::kNone;
      break;
  }
}

TextReader::~TextReader() {
  if (file_) bgzf_close(static_cast<BGZF*>(file_));
  if (line_) {
    ks_free(line_);
    delete line_;
  }
}

bool TextReader::next(std::string_view& line) {
  const int n = bgzf_getline(static_cast<BGZF*>(file_), '\n', line_);
  if (n == -1) return false;
  STRAND_CHECK(n >= 0, "'{}': read error after line {} (truncated or corrupt compressed file?)",
               path_, line_number_);
  ++line_number_;
  size_t len = line_->l;
  if (len > 0 && line_->s[len - 1] == '\r') --len;
  STRAND_CHECK(line_number_ > 1 || len < 3 || std::memcmp(line_->s, "\xEF\xBB\xBF", 3) != 0,
               "'{}' line 1 starts with a byte-order mark (bytes EF BB BF, as some spreadsheet "
               "programs write): save the file as plain UTF-8 without it",
               path_);
  for (size_t i = 0; i < len; ++i) {
    const auto c = static_cast<unsigned char>(line_->s[i]);
    if (c < 0x20 && c != '\t') {
      const char* hex = "0123456789abcdef";
      STRAND_FAIL(
          "'{}' line {}: byte 0x{}{} at column {} is not text; this is not a text file "
          "(binary data?)",
          path_, line_number_, hex[c >> 4], hex[c & 15], i + 1);
    }
  }
  line = std::string_view(len ? line_->s : "", len);
  return true;
}

void split_tabs(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return;
    }
    fields.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

namespace {

bool parse_double(std::string_view field, double& value) {
  // Decimal only: strtod would also read hex ("0x1" as 1) and skip leading spaces.
  if (field.empty() || std::isspace(static_cast<unsigned char>(field[0])) ||
      field.find_first_of("xX") != std::string_view::npos)
    return false;
  // strtod needs a terminated string; fields are short, so a copy is cheap.
  const std::string text(field);
  char* end = nullptr;
  errno = 0;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && errno != ERANGE;
}

}  // namespace

bool is_number(std::string_view field) {
  double v = 0;
  return parse_double(field, v) && std::isfinite(v);
}

double parse_number(std::string_view field, std::string_view what, const std::string& path,
                    int64_t line, std::string_view column) {
  double v = 0;
  STRAND_CHECK(!field.empty(), "'{}' line {}, column '{}': empty {} (every {} must be a number)",
               path, line, column, what, what);
  STRAND_CHECK(parse_double(field, v), "'{}' line {}, column '{}': {} '{}' is not a number", path,
               line, column, what, field);
  STRAND_CHECK(!std::isnan(v),
               "'{}' line {}, column '{}': {} is NaN; missing values are not "
               "allowed",
               path, line, column, what);
  STRAND_CHECK(std::isfinite(v), "'{}' line {}, column '{}': {} '{}' is not finite", path, line,
               column, what, field);
  return v;
}

int64_t parse_coordinate(std::string_view field, std::string_view what, const std::string& path,
                         int64_t line) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  STRAND_CHECK(!field.empty() && ec == std::errc() && end == field.data() + field.size() && v >= 0,
               "'{}' line {}: {} '{}' is not a non-negative integer", path, line, what, field);
  return v;
}

}  // namespace strand::data
