// MEME motif files (the MEME suite's "minimal" format, which JASPAR, HOCOMOCO and TF-MoDISco
// write): reading with an error naming the file and line of anything malformed, writing, and
// finding a motif by identifier or name.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "data/motifs.h"

namespace strand::data {

struct MemeFile {
  std::array<double, 4> background = {0.25, 0.25, 0.25, 0.25};  // A, C, G, T
  std::vector<Motif> motifs;  // name = MOTIF identifier, alt_name = its alternate name
};

// Parses MEME text (`source` names it in errors: "<source>:<line>: ..."). Accepts the DNA
// alphabet only; skips text it does not know (as MEME's own readers do) and log-odds matrices;
// rows are renormalised when they sum to 1 within 0.02 and refused beyond that.
MemeFile parse_meme(std::string_view text, const std::string& source);
// Reads a MEME file (plain or gzip).
MemeFile read_meme(const std::string& path);

// MEME text for the motifs (probabilities with 6 decimals; nsites written when known).
std::string meme_text(const std::vector<Motif>& motifs,
                      const std::array<double, 4>& background = {0.25, 0.25, 0.25, 0.25});
// Writes meme_text to PATH atomically.
void write_meme(const std::string& path, const std::vector<Motif>& motifs,
                const std::array<double, 4>& background = {0.25, 0.25, 0.25, 0.25});

// The motif whose identifier is `key` (exact), else the one whose alternate name or identifier
// matches case-insensitively; no match, or a name several motifs share, is an error listing them.
const Motif& find_motif(const std::vector<Motif>& motifs, std::string_view key,
                        const std::string& source);

}  // namespace strand::data
