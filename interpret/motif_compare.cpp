// TOMTOM-like comparison: exact column scores, a convolved null per span of query columns, and
// p/E/q-values per target.
#include "interpret/motif_compare.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace strand::interpret {
namespace {

std::array<double, 4> standardise(const std::array<double, 4>& p) {
  const double mean = 0.25;  // the four probabilities sum to 1
  double var = 0;
  for (double v : p) var += (v - mean) * (v - mean);
  var /= 4;
  std::array<double, 4> z{};
  // A flat column correlates with nothing: its Pearson correlation is taken as 0.
  if (var < 1e-12) return z;
  const double sd = std::sqrt(var);
  for (int b = 0; b < 4; ++b) z[b] = (p[b] - mean) / sd;
  return z;
}

double pearson(const std::array<double, 4>& za, const std::array<double, 4>& zb) {
  return (za[0] * zb[0] + za[1] * zb[1] + za[2] * zb[2] + za[3] * zb[3]) / 4;
}

// 1 - (1 - p)^n without losing small p.
double corrected(double p, int64_t n) {
  if (p >= 1) return 1;
  return -std::expm1(static_cast<double>(n) * std::log1p(-p));
}

}  // namespace

Pwm reverse_complement(const Pwm& pwm) {
  Pwm rc(pwm.rbegin(), pwm.rend());
  for (auto& row : rc) row = {row[3], row[2], row[1], row[0]};
  return rc;
}

MotifComparator::MotifComparator(std::vector<data::Motif> database, CompareOptions options)
    : database_(std::move(database)), options_(options) {
  STRAND_CHECK(!database_.empty(), "motif comparison: the database has no motifs");
  STRAND_CHECK(options_.min_overlap >= 1, "motif comparison: min_overlap {} must be >= 1",
               options_.min_overlap);
  STRAND_CHECK(options_.bin > 0 && options_.bin <= 0.5, "motif comparison: bin {} not in (0, 0.5]",
               options_.bin);
  for (const auto& m : database_) {
    STRAND_CHECK(!m.pwm.empty(), "motif comparison: database motif '{}' has no columns", m.name);
    first_.push_back(static_cast<int64_t>(columns_.size()));
    for (const auto& row : m.pwm) columns_.push_back(standardise(row));
  }
  for (const auto& m : database_) {
    first_rc_.push_back(static_cast<int64_t>(columns_.size()));
    for (const auto& row : reverse_complement(m.pwm)) columns_.push_back(standardise(row));
  }
}

std::vector<MotifMatch> MotifComparator::compare(const Pwm& query) const {
  const auto wq = static_cast<int64_t>(query.size());
  STRAND_CHECK(wq > 0, "motif comparison: the query has no columns");
  const auto ncol = static_cast<int64_t>(columns_.size());
  const auto K = static_cast<int64_t>(std::lround(2.0 / options_.bin));  // bins over [-1, 1]
  auto quantise = [&](double s) {
    return std::clamp<int64_t>(std::lround((s + 1) / options_.bin), 0, K);
  };

  // Every query column against every database column: the alignment scores and the null.
  std::vector<double> score(static_cast<size_t>(wq * ncol));
  std::vector<std::vector<double>> hist(wq, std::vector<double>(K + 1, 0.0));
  for (int64_t i = 0; i < wq; ++i) {
    const auto zq = standardise(query[i]);
    for (int64_t c = 0; c < ncol; ++c) {
      const double s = pearson(zq, columns_[c]);
      score[i * ncol + c] = s;
      hist[i][quantise(s)] += 1.0 / static_cast<double>(ncol);
    }
  }
  // tail[a][b - a - 1][x] = P(null sum over query columns [a, b) >= x quantised units).
  std::vector<std::vector<std::vector<double>>> tail(wq);
  for (int64_t a = 0; a < (options_.complete ? 1 : wq); ++a) {
    std::vector<double> pmf = hist[a];
    for (int64_t b = a + 1; b <= wq; ++b) {
      if (b > a + 1) {
        std::vector<double> next(pmf.size() + K, 0.0);
        for (size_t x = 0; x < pmf.size(); ++x) {
          if (pmf[x] == 0) continue;
          for (int64_t k = 0; k <= K; ++k) next[x + k] += pmf[x] * hist[b - 1][k];
        }
        pmf = std::move(next);
      }
      std::vector<double> t(pmf.size() + 1, 0.0);
      for (int64_t x = static_cast<int64_t>(pmf.size()) - 1; x >= 0; --x) t[x] = t[x + 1] + pmf[x];
      tail[a].push_back(std::move(t));
    }
  }

  std::vector<MotifMatch> out;
  const auto T = static_cast<int64_t>(database_.size());
  for (int64_t t = 0; t < T; ++t) {
    const auto wt = static_cast<int64_t>(database_[t].pwm.size());
    const int64_t min_overlap = std::min({options_.min_overlap, wq, wt});
    MotifMatch best;
    best.target = t;
    double best_p = 2;
    int64_t tried = 0;
    for (char strand : {'+', '-'}) {
      const int64_t base = strand == '+' ? first_[t] : first_rc_[t];
      // Query column i sits on target column i + d.
      for (int64_t d = min_overlap - wq; d <= wt - min_overlap; ++d) {
        const int64_t a = std::max<int64_t>(0, -d), b = std::min(wq, wt - d);
        if (b - a < min_overlap) continue;
        ++tried;
        double s = 0;
        int64_t x = 0;
        for (int64_t i = a; i < b; ++i) {
          const double v = score[i * ncol + base + i + d];
          s += v;
          x += quantise(v);
        }
        if (options_.complete) x += (wq - (b - a)) * quantise(0.0);
        const auto& tl = options_.complete ? tail[0][wq - 1] : tail[a][b - a - 1];
        const double p = tl[std::min<int64_t>(x, static_cast<int64_t>(tl.size()) - 1)];
        if (p < best_p || (p == best_p && s > best.score)) {
          best_p = p;
          best.strand = strand;
          best.offset = d;
          best.overlap = b - a;
          best.score = s;
        }
      }
    }
    best.p_value = corrected(best_p, tried);
    best.e_value = best.p_value * static_cast<double>(T);
    out.push_back(best);
  }
  std::sort(out.begin(), out.end(), [](const MotifMatch& x, const MotifMatch& y) {
    if (x.p_value != y.p_value) return x.p_value < y.p_value;
    if (x.score != y.score) return x.score > y.score;
    return x.target < y.target;
  });
  // Benjamini-Hochberg: q_(k) = min over j >= k of p_(j) T / j.
  double running = 1;
  for (int64_t k = T - 1; k >= 0; --k) {
    running =
        std::min(running, out[k].p_value * static_cast<double>(T) / static_cast<double>(k + 1));
    out[k].q_value = running;
  }
  return out;
}

}  // namespace strand::interpret
