// MEME minimal-format reader and writer.
#include "data/meme.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "core/error.h"
#include "data/text_reader.h"
#include "runtime/file_io.h"

namespace strand::data {
namespace {

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool parse_number(std::string_view w, double& v) {
  const char* end = w.data() + w.size();
  auto [p, ec] = std::from_chars(w.data(), end, v);
  return ec == std::errc() && p == end && std::isfinite(v);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Reads "key= value" pairs of a matrix header ("alength= 4 w= 19 nsites= 20 E= 0"); the value may
// also be glued to the '=' ("w=19").
std::vector<std::pair<std::string, std::string>> header_fields(std::string_view rest) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto ws = words(rest);
  for (size_t i = 0; i < ws.size(); ++i) {
    const size_t eq = ws[i].find('=');
    if (eq == std::string_view::npos) continue;
    std::string key(ws[i].substr(0, eq));
    std::string value(ws[i].substr(eq + 1));
    if (value.empty() && i + 1 < ws.size()) value = std::string(ws[++i]);
    out.emplace_back(lower(key), value);
  }
  return out;
}

class Parser {
 public:
  Parser(const std::vector<std::string>& lines, const std::string& source)
      : lines_(lines), source_(source) {}

  MemeFile parse() {
    MemeFile file;
    size_t i = 0;
    while (i < lines_.size() && words(lines_[i]).empty()) ++i;
    check(i < lines_.size(), 0, "empty file: not a MEME motif file");
    check(starts_with(trimmed(i), "MEME version"), i,
          "not a MEME motif file: the first line should be 'MEME version N', found '{}'",
          trimmed(i));
    std::set<std::string> ids;
    std::vector<size_t> motif_lines;  // where each motif starts, for "has no matrix"
    bool have_matrix = false;
    for (++i; i < lines_.size(); ++i) {
      const std::string_view line = trimmed(i);
      if (starts_with(line, "ALPHABET")) {
        alphabet(i);
      } else if (starts_with(line, "Background letter frequencies")) {
        i = background(i, file.background);
      } else if (starts_with(line, "MOTIF")) {
        const auto ws = words(line);
        check(ws.size() >= 2, i, "MOTIF line without an identifier");
        Motif m;
        m.name = std::string(ws[1]);
        if (ws.size() >= 3) m.alt_name = std::string(ws[2]);
        check(ids.insert(m.name).second, i, "motif '{}' appears twice", m.name);
        file.motifs.push_back(std::move(m));
        motif_lines.push_back(i);
        have_matrix = false;
      } else if (starts_with(line, "letter-probability matrix")) {
        check(!file.motifs.empty(), i, "a letter-probability matrix before any MOTIF line");
        check(!have_matrix, i, "motif '{}' has a second letter-probability matrix",
              file.motifs.back().name);
        i = matrix(i, file.motifs.back());
        have_matrix = true;
      } else if (starts_with(line, "log-odds matrix")) {
        i = skip_rows(i);
      } else if (!file.motifs.empty() && !have_matrix && is_number_row(line)) {
        fail(i, "matrix row outside a letter-probability matrix of motif '{}'",
             file.motifs.back().name);
      }
      // Any other line (URL, strands:, free text) carries nothing strand needs.
    }
    check(!file.motifs.empty(), lines_.size() - 1, "no MOTIF in the file");
    for (size_t k = 0; k < file.motifs.size(); ++k)
      check(!file.motifs[k].pwm.empty(), motif_lines[k],
            "motif '{}' has no letter-probability matrix", file.motifs[k].name);
    return file;
  }

 private:
  std::string_view trimmed(size_t i) const {
    std::string_view s = lines_[i];
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  }

  template <typename... Args>
  [[noreturn]] void fail(size_t i, std::string_view fmt, Args&&... args) const {
    STRAND_FAIL("{}:{}: {}", source_, i + 1, strand::format(fmt, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void check(bool ok, size_t i, std::string_view fmt, Args&&... args) const {
    if (!ok) fail(i, fmt, std::forward<Args>(args)...);
  }

  static bool is_number_row(std::string_view line) {
    const auto ws = words(line);
    double v;
    return !ws.empty() && parse_number(ws[0], v);
  }

  void alphabet(size_t i) const {
    const std::string_view line = trimmed(i);
    const size_t eq = line.find('=');
    check(eq != std::string_view::npos, i,
          "custom alphabet definitions are not supported; only 'ALPHABET= ACGT' (DNA)");
    const auto ws = words(line.substr(eq + 1));
    check(ws.size() == 1 && ws[0] == "ACGT", i, "alphabet '{}' is not DNA (ACGT)",
          line.substr(eq + 1));
  }

  // "A 0.3 C 0.2 G 0.2 T 0.3" on the following line(s); returns the last line read.
  size_t background(size_t i, std::array<double, 4>& bg) const {
    int seen = 0;
    size_t j = i + 1;
    for (; j < lines_.size() && seen < 4; ++j) {
      const auto ws = words(lines_[j]);
      if (ws.empty()) continue;
      check(ws.size() % 2 == 0, j, "background frequencies should be letter/value pairs");
      for (size_t k = 0; k < ws.size(); k += 2) {
        const std::string_view letter = ws[k];
        const size_t b = std::string_view("ACGT").find(letter);
        check(letter.size() == 1 && b != std::string_view::npos, j,
              "background letter '{}' is not one of A, C, G, T", letter);
        double v;
        check(parse_number(ws[k + 1], v) && v > 0 && v < 1, j,
              "background frequency '{}' of {} is not a number in (0, 1)", ws[k + 1], letter);
        bg[b] = v;
        ++seen;
      }
    }
    check(seen == 4, j - 1, "background frequencies: expected A, C, G and T, found {} values",
          seen);
    const double sum = bg[0] + bg[1] + bg[2] + bg[3];
    check(std::abs(sum - 1) < 0.02, j - 1, "background frequencies sum to {}, not 1", sum);
    for (double& v : bg) v /= sum;
    return j - 1;
  }

  size_t matrix(size_t i, Motif& m) const {
    const std::string_view line = trimmed(i);
    int64_t width = -1;
    for (const auto& [key, value] : header_fields(line.substr(line.find(':') + 1))) {
      double v;
      if (key == "alength") {
        check(value == "4", i, "motif '{}': alength= {} (only DNA, alength= 4)", m.name, value);
      } else if (key == "w") {
        check(parse_number(value, v) && v >= 1 && v == std::floor(v), i,
              "motif '{}': w= '{}' is not a positive whole number", m.name, value);
        width = static_cast<int64_t>(v);
      } else if (key == "nsites") {
        check(parse_number(value, v) && v >= 0, i, "motif '{}': nsites= '{}' is not a count",
              m.name, value);
        m.nsites = v;
      }
    }
    size_t j = i + 1;
    for (; j < lines_.size(); ++j) {
      const auto ws = words(lines_[j]);
      if (ws.empty()) {
        if (width < 0 && !m.pwm.empty()) break;  // without w=, a blank line ends the matrix
        continue;
      }
      if (!is_number_row(lines_[j])) break;
      check(width < 0 || static_cast<int64_t>(m.pwm.size()) < width, j,
            "motif '{}': more rows than w= {}", m.name, width);
      check(ws.size() == 4, j, "motif '{}': a matrix row needs 4 values (A C G T), found {}",
            m.name, ws.size());
      std::array<double, 4> row{};
      for (int b = 0; b < 4; ++b) {
        check(parse_number(ws[b], row[b]) && row[b] >= 0, j,
              "motif '{}': '{}' is not a probability", m.name, ws[b]);
      }
      const double sum = row[0] + row[1] + row[2] + row[3];
      check(std::abs(sum - 1) <= 0.02, j, "motif '{}': row {} sums to {}, not 1", m.name,
            m.pwm.size() + 1, sum);
      for (double& v : row) v /= sum;
      m.pwm.push_back(row);
      if (width >= 0 && static_cast<int64_t>(m.pwm.size()) == width) {
        ++j;
        break;
      }
    }
    check(!m.pwm.empty(), i, "motif '{}': the letter-probability matrix has no rows", m.name);
    check(width < 0 || static_cast<int64_t>(m.pwm.size()) == width, i,
          "motif '{}': w= {} but {} rows", m.name, width, m.pwm.size());
    return j - 1;
  }

  size_t skip_rows(size_t i) const {
    size_t j = i + 1;
    while (j < lines_.size() && (words(lines_[j]).empty() || is_number_row(lines_[j]))) ++j;
    return j - 1;
  }

  const std::vector<std::string>& lines_;
  const std::string& source_;
};

}  // namespace

MemeFile parse_meme(std::string_view text, const std::string& source) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return Parser(lines, source).parse();
}

MemeFile read_meme(const std::string& path) {
  TextReader reader(path);
  std::vector<std::string> lines;
  std::string_view line;
  while (reader.next(line)) lines.emplace_back(line);
  return Parser(lines, path).parse();
}

std::string meme_text(const std::vector<Motif>& motifs, const std::array<double, 4>& bg) {
  std::ostringstream out;
  char buf[160];
  std::snprintf(buf, sizeof buf, "A %.4f C %.4f G %.4f T %.4f\n\n", bg[0], bg[1], bg[2], bg[3]);
  out << "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\n"
      << buf;
  for (const auto& m : motifs) {
    STRAND_CHECK(!m.name.empty() && m.name.find_first_of(" \t\n") == std::string::npos,
                 "motif name '{}' is empty or has white space (MEME identifiers cannot)", m.name);
    STRAND_CHECK(!m.pwm.empty(), "motif '{}' has no matrix", m.name);
    out << "MOTIF " << m.name;
    if (!m.alt_name.empty()) out << " " << m.alt_name;
    out << strand::format("\nletter-probability matrix: alength= 4 w= {} nsites= {} E= 0\n",
                          m.pwm.size(), static_cast<int64_t>(std::llround(m.nsites)));
    for (const auto& row : m.pwm) {
      std::snprintf(buf, sizeof buf, "  %.6f  %.6f  %.6f  %.6f\n", row[0], row[1], row[2], row[3]);
      out << buf;
    }
    out << "\n";
  }
  return out.str();
}

void write_meme(const std::string& path, const std::vector<Motif>& motifs,
                const std::array<double, 4>& background) {
  runtime::write_file_atomic(path, {meme_text(motifs, background)});
}

const Motif& find_motif(const std::vector<Motif>& motifs, std::string_view key,
                        const std::string& source) {
  for (const auto& m : motifs)
    if (m.name == key) return m;
  const std::string want = lower(key);
  std::vector<const Motif*> hits;
  for (const auto& m : motifs)
    if (lower(m.alt_name) == want || lower(m.name) == want) hits.push_back(&m);
  if (hits.size() == 1) return *hits[0];
  STRAND_CHECK(!hits.empty(),
               "no motif '{}' in {} (give a MOTIF identifier such as '{}' or a name)", key, source,
               motifs.empty() ? "" : motifs[0].name);
  std::string ids;
  for (const auto* m : hits) ids += (ids.empty() ? "" : ", ") + m->name;
  STRAND_FAIL("motif name '{}' is shared by {} motifs in {} ({}): give the identifier", key,
              hits.size(), source, ids);
}

}  // namespace strand::data
