// BED reading, checks against the reference, and centred windows.
#include "data/bed.h"

#include <unordered_set>

#include "data/labels.h"
#include "data/text_reader.h"
#include "core/error.h"

namespace strand::data {

BedFile read_bed(const std::string& path) {
  TextReader in(path);
  BedFile bed;
  bed.path = path;
  std::string_view line;
  std::vector<std::string_view> f;
  std::vector<std::string> header;
  size_t ncols = 0;
  bool has_name = false;
  while (in.next(line)) {
    if (line.empty() || line.starts_with("track") || line.starts_with("browser")) continue;
    if (line[0] == '#') {
      if (in.line_number() == 1) {
        split_tabs(line.substr(1), f);
        header.assign(f.begin(), f.end());
      }
      continue;
    }
    split_tabs(line, f);
    STRAND_CHECK(f.size() >= 3,
                 "'{}' line {}: a BED line needs at least 3 tab-separated columns (chrom, start, "
                 "end), got {}{}",
                 path, in.line_number(), f.size(),
                 line.find(' ') != std::string_view::npos ? " (columns separated by spaces?)" : "");
    if (bed.intervals.empty()) {
      ncols = f.size();
      has_name = ncols >= 4 && !is_number(f[3]);
      const size_t first_target = has_name ? 4 : 3;
      for (size_t c = first_target; c < ncols; ++c) {
        bed.target_names.push_back(header.size() == ncols && !header[c].empty()
                                       ? header[c]
                                       : format("target_{}", c - first_target + 1));
      }
    }
    STRAND_CHECK(f.size() == ncols, "'{}' line {}: {} columns where the first interval has {}",
                 path, in.line_number(), f.size(), ncols);
    BedInterval iv;
    iv.chrom = std::string(f[0]);
    STRAND_CHECK(!iv.chrom.empty(), "'{}' line {}: empty chromosome name", path, in.line_number());
    iv.start = parse_coordinate(f[1], "start", path, in.line_number());
    iv.end = parse_coordinate(f[2], "end", path, in.line_number());
    STRAND_CHECK(iv.start < iv.end,
                 "'{}' line {}: interval {}:{}-{} is empty or reversed (BED is "
                 "0-based half-open: start < end)",
                 path, in.line_number(), iv.chrom, iv.start, iv.end);
    iv.line = in.line_number();
    if (has_name) iv.name = std::string(f[3]);
    const size_t first_target = has_name ? 4 : 3;
    for (size_t c = first_target; c < ncols; ++c) {
      bed.targets.push_back(static_cast<float>(parse_number(f[c], "target", path, in.line_number(),
                                                            bed.target_names[c - first_target])));
    }
    bed.intervals.push_back(std::move(iv));
  }
  STRAND_CHECK(!bed.intervals.empty(), "'{}' holds no BED intervals", path);
  return bed;
}

void check_against_reference(const BedFile& bed, const IndexedFasta& reference) {
  std::vector<std::string> unknown;
  std::unordered_set<std::string> unknown_set;
  int64_t first_line = 0, unknown_count = 0;
  for (const auto& iv : bed.intervals) {
    if (!reference.contains(iv.chrom)) {
      if (unknown_set.insert(iv.chrom).second) unknown.push_back(iv.chrom);
      if (unknown_count++ == 0) first_line = iv.line;
      continue;
    }
    const int64_t len = reference.length(iv.chrom);
    STRAND_CHECK(iv.end <= len,
                 "'{}' line {}: interval {}:{}-{} ends past the end of {} (length {} in '{}')",
                 bed.path, iv.line, iv.chrom, iv.start, iv.end, iv.chrom, len, reference.path());
  }
  STRAND_CHECK(unknown.empty(),
               "'{}': {} interval(s) on chromosome(s) not in the reference '{}' (first at line "
               "{}): {}",
               bed.path, unknown_count, reference.path(), first_line, first_few(unknown));
}

Window centred_window(const BedInterval& interval, int64_t width) {
  STRAND_CHECK(width > 0, "window width must be positive, got {}", width);
  const int64_t centre = interval.start + (interval.end - interval.start) / 2;
  Window w;
  w.begin = centre - width / 2;
  w.end = w.begin + width;
  return w;
}

}  // namespace strand::data
