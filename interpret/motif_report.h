// The files the motif commands leave (interpret filters, interpret motifs): the motifs in MEME
// format, a logo per motif, their best database matches and an index of everything.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "data/motifs.h"
#include "interpret/motif_compare.h"

namespace strand::interpret {

struct ReportedMotif {
  data::Motif motif;  // name (also the logo's file name), pwm, nsites
  // Extra index columns, in order (the same names for every motif): ("task", "ctcf"), ...
  std::vector<std::pair<std::string, std::string>> columns;
};

struct ReportFiles {
  std::string meme, matches, index, logos;
};

// Writes DIR/<stem>.meme, DIR/logos/<motif>.svg, DIR/matches.tsv (the `top` best database
// matches per motif, when a database is given) and DIR/<stem>.tsv, the index: one row per motif
// with its width, sites, consensus, extra columns, best match and logo path.
ReportFiles write_motif_report(const std::string& dir, const std::string& stem,
                               const std::vector<ReportedMotif>& motifs,
                               const MotifComparator* database, int64_t top);

// The IUPAC-free consensus: the most frequent base per column, lower case below 0.5.
std::string consensus_of(const Pwm& pwm);

}  // namespace strand::interpret
