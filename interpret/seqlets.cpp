// Seqlet calling: window sums, a shuffled null and an FDR threshold per sign.
#include "interpret/seqlets.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "data/random.h"

namespace strand::interpret {
namespace {

// Sliding sums of `window` values of imp[0, L).
void window_sums(const double* imp, int64_t L, int64_t window, std::vector<double>& out) {
  out.clear();
  double s = 0;
  for (int64_t l = 0; l < L; ++l) {
    s += imp[l];
    if (l >= window) s -= imp[l - window];
    if (l >= window - 1) out.push_back(s);
  }
}

// The smallest t (among the real values) with #null >= t x null_scale / #real >= t <= fdr;
// values are magnitudes of one sign. Infinity when no t qualifies.
double fdr_threshold(std::vector<double> real, std::vector<double> null, double null_scale,
                     double fdr) {
  std::sort(real.begin(), real.end(), std::greater<>());
  std::sort(null.begin(), null.end(), std::greater<>());
  double best = std::numeric_limits<double>::infinity();
  size_t j = 0;
  for (size_t i = 0; i < real.size(); ++i) {
    const double t = real[i];
    while (j < null.size() && null[j] >= t) ++j;
    if (static_cast<double>(j) * null_scale <= fdr * static_cast<double>(i + 1)) best = t;
  }
  return best;
}

// Windows above their sign's threshold, strongest first per sequence, none overlapping a seqlet
// already taken in that sequence; the strongest max_seqlets of each sign.
std::vector<Seqlet> take_seqlets(const std::vector<double>& imp, const std::vector<double>& sums,
                                 int64_t N, int64_t L, const SeqletCalls& calls,
                                 const SeqletOptions& o) {
  const int64_t nw = L - o.window + 1;
  std::vector<Seqlet> out;
  for (int sign : {+1, -1}) {
    const double t = sign > 0 ? calls.positive_threshold : calls.negative_threshold;
    if (!std::isfinite(t) || t <= 0) continue;
    std::vector<Seqlet> found;
    std::vector<std::pair<double, int64_t>> order;
    for (int64_t n = 0; n < N; ++n) {
      order.clear();
      for (int64_t s = 0; s < nw; ++s) {
        const double v = sums[n * nw + s] * sign;
        if (v >= t) order.emplace_back(v, s);
      }
      std::sort(order.begin(), order.end(), std::greater<>());
      std::vector<std::pair<int64_t, int64_t>> taken;  // [start, end) of this sequence's seqlets
      for (const auto& [v, s0] : order) {
        // Every window holding a whole short motif sums alike: centre the window on the motif's
        // centre of mass, so that one motif's seqlets differ by small shifts only.
        double mass = 0, moment = 0;
        for (int64_t l = s0; l < s0 + o.window; ++l) {
          const double x = std::max(0.0, imp[n * L + l] * sign);
          mass += x;
          moment += x * static_cast<double>(l);
        }
        const int64_t centre = mass > 0 ? std::lround(moment / mass) : s0 + o.window / 2;
        const int64_t s = std::clamp<int64_t>(centre - o.window / 2, 0, nw - 1);
        const int64_t a = s - o.flank, b = s + o.window + o.flank;
        bool clash = false;
        for (const auto& [x, y] : taken) clash = clash || (a < y && x < b);
        if (clash) continue;
        taken.emplace_back(a, b);
        found.push_back({n, a, b - a, v * sign});
      }
    }
    std::stable_sort(found.begin(), found.end(), [](const Seqlet& x, const Seqlet& y) {
      return std::abs(x.score) > std::abs(y.score);
    });
    if (static_cast<int64_t>(found.size()) > o.max_seqlets) found.resize(o.max_seqlets);
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

}  // namespace

void AttributionTracks::check() const {
  STRAND_CHECK(sequences > 0 && length > 0, "attributions: {} sequences of length {}", sequences,
               length);
  const auto n = static_cast<size_t>(sequences * length);
  STRAND_CHECK(codes.size() == n, "attributions: {} base codes for {} x {} positions", codes.size(),
               sequences, length);
  STRAND_CHECK(contributions.size() == 4 * n, "attributions: {} values, expected {} x 4 x {}",
               contributions.size(), sequences, length);
  STRAND_CHECK(hypothetical.empty() || hypothetical.size() == 4 * n,
               "hypothetical contributions: {} values, expected {} x 4 x {}", hypothetical.size(),
               sequences, length);
}

SeqletCalls find_seqlets(const AttributionTracks& tracks, const SeqletOptions& o) {
  tracks.check();
  STRAND_CHECK(o.window >= 1 && o.flank >= 0, "seqlets: window {} and flank {} must be >= 1, >= 0",
               o.window, o.flank);
  STRAND_CHECK(o.fdr > 0 && o.fdr < 1, "seqlets: fdr {} is not in (0, 1)", o.fdr);
  STRAND_CHECK(o.max_seqlets >= 1, "seqlets: max_seqlets {} must be >= 1", o.max_seqlets);
  const int64_t N = tracks.sequences, L = tracks.length;
  STRAND_CHECK(o.window <= L, "seqlets: window {} is longer than the sequences ({})", o.window, L);
  const int64_t nw = L - o.window + 1;

  // Per position, the summed contribution.
  std::vector<double> imp(static_cast<size_t>(N * L));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t l = 0; l < L; ++l) {
      double s = 0;
      for (int b = 0; b < 4; ++b) s += tracks.contributions[(n * 4 + b) * L + l];
      imp[n * L + l] = s;
    }
  std::vector<double> sums(static_cast<size_t>(N * nw)), w;
  std::vector<double> pos_real, neg_real;
  for (int64_t n = 0; n < N; ++n) {
    window_sums(imp.data() + n * L, L, o.window, w);
    std::copy(w.begin(), w.end(), sums.begin() + n * nw);
    for (double v : w) (v >= 0 ? pos_real : neg_real).push_back(std::abs(v));
  }
  SeqletCalls calls;
  calls.windows = N * nw;
  data::SplitMix64 rng(o.seed * 0x9e3779b97f4a7c15ULL + 5);
  // Round 1's null permutes each sequence's values, which keeps them and breaks the runs of
  // neighbouring important bases that make a motif; but where motifs are dense their bases
  // still fill the shuffled windows. Round 2's null draws each sequence's values from its
  // positions outside round 1's seqlets: the background alone.
  std::vector<uint8_t> called(static_cast<size_t>(N * L), 0);
  for (int round = 0; round < 2; ++round) {
    std::vector<double> pos_null, neg_null, null(L), pool;
    for (int64_t n = 0; n < N; ++n) {
      pool.clear();
      for (int64_t l = 0; l < L; ++l)
        if (!called[n * L + l]) pool.push_back(imp[n * L + l]);
      if (pool.empty()) continue;
      for (int64_t l = 0; l < L; ++l)
        null[l] = round == 0 ? imp[n * L + l] : pool[rng.below(static_cast<int64_t>(pool.size()))];
      if (round == 0)
        for (int64_t l = L - 1; l > 0; --l) std::swap(null[l], null[rng.below(l + 1)]);
      window_sums(null.data(), L, o.window, w);
      for (double v : w) (v >= 0 ? pos_null : neg_null).push_back(std::abs(v));
    }
    calls.null_windows = static_cast<int64_t>(pos_null.size() + neg_null.size());
    // As many null as real windows make the FDR estimate a plain ratio; scale when fewer.
    const double scale = static_cast<double>(calls.windows) /
                         std::max<double>(1.0, static_cast<double>(calls.null_windows));
    calls.positive_threshold = fdr_threshold(pos_real, pos_null, scale, o.fdr);
    calls.negative_threshold = fdr_threshold(neg_real, neg_null, scale, o.fdr);
    calls.seqlets = take_seqlets(imp, sums, N, L, calls, o);
    for (const auto& s : calls.seqlets)
      for (int64_t l = std::max<int64_t>(0, s.start); l < std::min(L, s.start + s.width); ++l)
        called[s.sequence * L + l] = 1;
  }
  return calls;
}

}  // namespace strand::interpret
