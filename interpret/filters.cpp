// Activation-weighted alignment of first-layer filters.
#include "interpret/filters.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace strand::interpret {

std::vector<FilterMotif> filter_motifs(const ConvFilters& f, const uint8_t* codes,
                                       int64_t sequences, int64_t length, double threshold) {
  STRAND_CHECK(f.filters > 0 && f.width > 0, "filters: {} filters of width {}", f.filters, f.width);
  STRAND_CHECK(static_cast<int64_t>(f.weight.size()) == f.filters * 4 * f.width,
               "filters: {} weights, expected {} x 4 x {}", f.weight.size(), f.filters, f.width);
  STRAND_CHECK(f.bias.empty() || static_cast<int64_t>(f.bias.size()) == f.filters,
               "filters: {} biases for {} filters", f.bias.size(), f.filters);
  STRAND_CHECK(threshold >= 0 && threshold < 1, "filters: threshold {} is not in [0, 1)",
               threshold);
  STRAND_CHECK(length >= f.width,
               "filters: sequences of {} bases are shorter than the filters ({})", length, f.width);
  const int64_t W = f.width, nw = length - W + 1;
  // Activations of every filter at every window, NaN where a window holds an unknown base.
  std::vector<float> act(static_cast<size_t>(f.filters * sequences * nw));
  std::vector<double> top(f.filters, -std::numeric_limits<double>::infinity());
  for (int64_t k = 0; k < f.filters; ++k) {
    const float* w = f.weight.data() + k * 4 * W;
    const double b = f.bias.empty() ? 0.0 : f.bias[k];
    for (int64_t n = 0; n < sequences; ++n) {
      const uint8_t* c = codes + n * length;
      for (int64_t s = 0; s < nw; ++s) {
        double a = b;
        bool unknown = false;
        for (int64_t j = 0; j < W && !unknown; ++j) {
          const uint8_t code = c[s + j];
          unknown = code > 3;
          if (!unknown) a += w[code * W + j];
        }
        const float v = unknown ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(a);
        act[(k * sequences + n) * nw + s] = v;
        if (!unknown) top[k] = std::max(top[k], a);
      }
    }
  }
  std::vector<FilterMotif> out;
  for (int64_t k = 0; k < f.filters; ++k) {
    FilterMotif m;
    m.filter = k;
    m.max_activation = std::isfinite(top[k]) ? top[k] : 0.0;
    m.counts.assign(W, {0, 0, 0, 0});
    if (top[k] > 0) {
      const double cut = threshold * top[k];
      for (int64_t n = 0; n < sequences; ++n) {
        for (int64_t s = 0; s < nw; ++s) {
          const float v = act[(k * sequences + n) * nw + s];
          if (!(v > cut)) continue;  // NaN (unknown bases) never counts
          ++m.sites;
          for (int64_t j = 0; j < W; ++j) m.counts[j][codes[n * length + s + j]] += 1;
        }
      }
    }
    for (const auto& row : m.counts) {
      const double total = row[0] + row[1] + row[2] + row[3];
      m.ppm.push_back(total > 0 ? std::array<double, 4>{row[0] / total, row[1] / total,
                                                        row[2] / total, row[3] / total}
                                : std::array<double, 4>{0.25, 0.25, 0.25, 0.25});
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace strand::interpret
