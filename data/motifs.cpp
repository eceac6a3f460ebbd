// Built-in motifs (approximate PWMs from consensus sequences), consensus-to-PWM, and scanning.
#include "data/motifs.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "data/encoding.h"
#include "core/error.h"

namespace strand::data {
namespace {

// Which of A, C, G, T an IUPAC letter allows (bit 0 = A ... bit 3 = T).
int iupac_mask(char c) {
  switch (std::toupper(static_cast<unsigned char>(c))) {
    case 'A':
      return 1;
    case 'C':
      return 2;
    case 'G':
      return 4;
    case 'T':
      return 8;
    case 'R':
      return 1 | 4;
    case 'Y':
      return 2 | 8;
    case 'S':
      return 2 | 4;
    case 'W':
      return 1 | 8;
    case 'K':
      return 4 | 8;
    case 'M':
      return 1 | 2;
    case 'B':
      return 2 | 4 | 8;
    case 'D':
      return 1 | 4 | 8;
    case 'H':
      return 1 | 2 | 8;
    case 'V':
      return 1 | 2 | 4;
    case 'N':
      return 15;
    default:
      return 0;
  }
}

}  // namespace

Motif motif_from_consensus(std::string name, std::string_view consensus, double strength) {
  STRAND_CHECK(!consensus.empty(), "motif '{}': empty consensus", name);
  STRAND_CHECK(strength > 0.25 && strength <= 1.0, "motif '{}': strength {} is not in (0.25, 1]",
               name, strength);
  Motif m;
  m.name = std::move(name);
  m.consensus = std::string(consensus);
  for (size_t i = 0; i < consensus.size(); ++i) {
    const int mask = iupac_mask(consensus[i]);
    STRAND_CHECK(mask != 0, "motif '{}': '{}' at position {} is not an IUPAC letter", m.name,
                 consensus[i], i);
    const int k = __builtin_popcount(mask);
    std::array<double, 4> row{};
    for (int b = 0; b < 4; ++b) {
      const bool allowed = mask & (1 << b);
      row[b] = k == 4 ? 0.25 : allowed ? strength / k : (1.0 - strength) / (4 - k);
    }
    m.pwm.push_back(row);
  }
  return m;
}

// Probability of the consensus base(s) at each position of a built-in motif: strong enough that
// a planted 6-14 bp site stands out from a few hundred bases of background.
constexpr double kBuiltinStrength = 0.95;

const std::vector<Motif>& builtin_motifs() {
  // Consensus sequences as commonly cited (CTCF core after Kim et al. 2007); the PWMs derived
  // from them are approximations, good for simulation with a known answer.
  static const std::vector<Motif> motifs = {
      motif_from_consensus("CTCF", "CCGCGNGGNGGCAG", kBuiltinStrength),
      motif_from_consensus("GATA", "WGATAR", kBuiltinStrength),
      motif_from_consensus("AP1", "TGASTCA", kBuiltinStrength),
      motif_from_consensus("SP1", "GGGGCGGGG", kBuiltinStrength),
      motif_from_consensus("CREB", "TGACGTCA", kBuiltinStrength),
      motif_from_consensus("TATA", "TATAWAWR", kBuiltinStrength),
      motif_from_consensus("NFKB", "GGGRNTTYCC", kBuiltinStrength),
      motif_from_consensus("EBOX", "CACGTG", kBuiltinStrength),
  };
  return motifs;
}

const Motif& builtin_motif(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& m : builtin_motifs()) {
    if (m.name == upper) return m;
  }
  std::string known;
  for (const auto& m : builtin_motifs()) known += (known.empty() ? "" : ", ") + m.name;
  STRAND_FAIL("no built-in motif named '{}' (known: {})", name, known);
}

double best_log_odds(const Motif& motif, const uint8_t* codes, int64_t n, double gc) {
  const double bg[4] = {(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2};
  const int64_t w = motif.length();
  double best = -std::numeric_limits<double>::infinity();
  for (int64_t start = 0; start + w <= n; ++start) {
    bool unknown = false;
    for (int64_t j = 0; j < w; ++j) unknown = unknown || codes[start + j] > 3;
    if (unknown) continue;
    double fwd = 0, rev = 0;
    for (int64_t j = 0; j < w; ++j) {
      const uint8_t c = codes[start + j];
      fwd += std::log(std::max(motif.pwm[j][c], 1e-9) / bg[c]);
      // Reverse strand: position j of the site reads the complement of base start + w - 1 - j.
      const uint8_t rc = complement_code(codes[start + w - 1 - j]);
      rev += std::log(std::max(motif.pwm[j][rc], 1e-9) / bg[rc]);
    }
    best = std::max({best, fwd, rev});
  }
  return best;
}

}  // namespace strand::data
