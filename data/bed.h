// BED intervals (with optional name and numeric target columns) and the fixed-width windows
// centred on them that DeepSEA/Basset-style models read from a reference genome.
//
//   #chrom  start  end   ctcf  gata      <- optional '#' header naming the target columns
//   chr1    1000   1200  1     0
//
// Coordinates are 0-based, half-open (BED's convention). Columns are tab-separated. Column 4 is a
// name column when its first value is not a number; every column after chrom, start, end (and
// name) is a numeric target. Lines starting with "track" or "browser" are skipped, as are '#'
// lines other than the first-line header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/fasta.h"

namespace strand::data {

struct BedInterval {
  std::string chrom;
  int64_t start = 0;
  int64_t end = 0;
  std::string name;  // empty without a name column
  int64_t line = 0;  // line in the BED file, for error messages
};

struct BedFile {
  std::string path;
  std::vector<BedInterval> intervals;
  std::vector<std::string> target_names;  // from the header, else target_1, target_2, ...
  std::vector<float> targets;             // [intervals, target_names] row-major

  int64_t size() const { return static_cast<int64_t>(intervals.size()); }
  int64_t num_targets() const { return static_cast<int64_t>(target_names.size()); }
};

// Reads and validates a BED file (plain or gzip): start < end, integer coordinates, the same
// number of columns on every line, finite numeric targets. Errors name the file and line.
BedFile read_bed(const std::string& path);

// Checks every interval against the reference: unknown chromosomes (how many, the first few,
// and the first line) and intervals reaching past the chromosome's end are errors.
void check_against_reference(const BedFile& bed, const IndexedFasta& reference);

struct Window {
  int64_t begin = 0;  // may be negative: positions before 0 are padding
  int64_t end = 0;    // may exceed the chromosome length: positions past it are padding
};

// The width-base window centred on an interval: centre = start + (end - start) / 2 (rounded
// down), begin = centre - width / 2. Where it reaches past a chromosome end the bases are N
// (IndexedFasta::fetch_window pads), so every window has the same width.
Window centred_window(const BedInterval& interval, int64_t width);

}  // namespace strand::data
