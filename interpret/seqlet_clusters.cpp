// Greedy clustering with refinement and merging, then aggregation and trimming.
#include "interpret/seqlet_clusters.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/error.h"

namespace strand::interpret {
namespace {

using Track = std::vector<float>;  // [W][4], row-major

// The values of `source` ([N, 4, L]) for sequence n over [start, start + W), zero outside the
// sequence; strand '-' reads it as the reverse complement (position order and bases reversed).
void extract(const std::vector<float>& source, int64_t L, int64_t n, int64_t start, int64_t W,
             char strand, Track& out) {
  out.assign(static_cast<size_t>(W * 4), 0.0f);
  for (int64_t i = 0; i < W; ++i) {
    const int64_t l = strand == '+' ? start + i : start + W - 1 - i;
    if (l < 0 || l >= L) continue;
    for (int b = 0; b < 4; ++b) {
      const int src = strand == '+' ? b : 3 - b;
      out[i * 4 + b] = source[(n * 4 + src) * L + l];
    }
  }
}

double norm(const Track& t) {
  double s = 0;
  for (float v : t) s += static_cast<double>(v) * v;
  return std::sqrt(s);
}

struct Cluster {
  std::vector<double> aggregate;  // sum of unit-norm member tracks, [W][4]
  double aggregate_norm = 0;
  std::vector<SeqletPlacement> members;
};

class Clusterer {
 public:
  Clusterer(const AttributionTracks& tracks, const std::vector<Seqlet>& seqlets,
            const ClusterOptions& options, int64_t width)
      : tracks_(tracks),
        seqlets_(seqlets),
        o_(options),
        W_(width),
        source_(tracks.hypothetical.empty() ? tracks.contributions : tracks.hypothetical) {}

  // Best placement of seqlet k against a cluster: (cosine, placement).
  std::pair<double, SeqletPlacement> best_fit(int64_t k, const Cluster& c) {
    const Seqlet& s = seqlets_[k];
    std::pair<double, SeqletPlacement> best{-2.0, {k, s.start, '+'}};
    for (int64_t shift = -o_.max_shift; shift <= o_.max_shift; ++shift) {
      for (char strand : {'+', '-'}) {
        extract(source_, tracks_.length, s.sequence, s.start + shift, W_, strand, buf_);
        const double nb = norm(buf_);
        if (nb == 0 || c.aggregate_norm == 0) continue;
        double dot = 0;
        for (size_t i = 0; i < buf_.size(); ++i) dot += buf_[i] * c.aggregate[i];
        const double cosine = dot / (nb * c.aggregate_norm);
        if (cosine > best.first) best = {cosine, {k, s.start + shift, strand}};
      }
    }
    return best;
  }

  void add(Cluster& c, const SeqletPlacement& p) {
    const Seqlet& s = seqlets_[p.seqlet];
    extract(source_, tracks_.length, s.sequence, p.start, W_, p.strand, buf_);
    const double nb = norm(buf_);
    if (c.aggregate.empty()) c.aggregate.assign(static_cast<size_t>(W_ * 4), 0.0);
    if (nb > 0)
      for (size_t i = 0; i < buf_.size(); ++i) c.aggregate[i] += buf_[i] / nb;
    double s2 = 0;
    for (double v : c.aggregate) s2 += v * v;
    c.aggregate_norm = std::sqrt(s2);
    c.members.push_back(p);
  }

  // Every seqlet of `order` to its best cluster (frozen aggregates), then aggregates rebuilt.
  void reassign(std::vector<Cluster>& clusters, const std::vector<int64_t>& order) {
    std::vector<Cluster> next(clusters.size());
    for (int64_t k : order) {
      double best = o_.join;
      int64_t to = -1;
      SeqletPlacement place;
      for (size_t c = 0; c < clusters.size(); ++c) {
        const auto [cosine, p] = best_fit(k, clusters[c]);
        if (cosine >= best) best = cosine, to = static_cast<int64_t>(c), place = p;
      }
      if (to >= 0) add(next[to], place);
    }
    clusters.clear();
    for (auto& c : next)
      if (!c.members.empty()) clusters.push_back(recentred(c));
    std::stable_sort(clusters.begin(), clusters.end(), [](const Cluster& a, const Cluster& b) {
      return a.members.size() > b.members.size();
    });
  }

  // The cluster with its frame moved so that the aggregate's centre of mass sits mid-window:
  // growth lets a cluster drift by up to max_shift per member, and two clusters of one motif
  // must line up again to merge.
  Cluster recentred(const Cluster& c) {
    double mass = 0, moment = 0;
    for (int64_t i = 0; i < W_; ++i)
      for (int b = 0; b < 4; ++b) {
        mass += std::abs(c.aggregate[i * 4 + b]);
        moment += std::abs(c.aggregate[i * 4 + b]) * static_cast<double>(i);
      }
    const int64_t delta = mass > 0 ? std::lround(moment / mass) - W_ / 2 : 0;
    if (delta == 0) return c;
    Cluster out;
    // Frame position i becomes i - delta: a '+' window starts delta later, a '-' one earlier.
    for (auto p : c.members) {
      p.start += p.strand == '+' ? delta : -delta;
      add(out, p);
    }
    return out;
  }

  // Best cosine between two aggregates over shifts (up to half the window) and strands.
  double aggregate_similarity(const Cluster& a, const Cluster& b) const {
    double best = -1;
    for (char strand : {'+', '-'}) {
      for (int64_t shift = -W_ / 2; shift <= W_ / 2; ++shift) {
        double dot = 0;
        for (int64_t i = 0; i < W_; ++i) {
          const int64_t j = i + shift;
          if (j < 0 || j >= W_) continue;
          for (int base = 0; base < 4; ++base) {
            const double vb = strand == '+' ? b.aggregate[j * 4 + base]
                                            : b.aggregate[(W_ - 1 - j) * 4 + (3 - base)];
            dot += a.aggregate[i * 4 + base] * vb;
          }
        }
        best = std::max(best, dot / (a.aggregate_norm * b.aggregate_norm));
      }
    }
    return best;
  }

  std::vector<Cluster> run(const std::vector<int64_t>& order) {
    std::vector<Cluster> clusters;
    for (int64_t k : order) {  // greedy growth from the strongest seqlet
      double best = o_.join;
      int64_t to = -1;
      SeqletPlacement place;
      for (size_t c = 0; c < clusters.size(); ++c) {
        const auto [cosine, p] = best_fit(k, clusters[c]);
        if (cosine >= best) best = cosine, to = static_cast<int64_t>(c), place = p;
      }
      if (to < 0) {
        clusters.emplace_back();
        add(clusters.back(), {k, seqlets_[k].start, '+'});
      } else {
        add(clusters[to], place);
      }
    }
    for (int r = 0; r < o_.refine_rounds; ++r) reassign(clusters, order);
    // Merge: a smaller cluster whose aggregate aligns with a larger one's is dissolved, and its
    // members find their place in the next reassignment.
    for (bool merged = true; merged;) {
      merged = false;
      for (size_t i = 0; i < clusters.size() && !merged; ++i)
        for (size_t j = i + 1; j < clusters.size() && !merged; ++j)
          if (aggregate_similarity(clusters[i], clusters[j]) >= o_.merge) {
            clusters.erase(clusters.begin() + static_cast<int64_t>(j));
            reassign(clusters, order);
            merged = true;
          }
    }
    for (int r = 0; r < 2; ++r) {
      std::erase_if(clusters, [&](const Cluster& c) {
        return static_cast<int64_t>(c.members.size()) < o_.min_seqlets;
      });
      reassign(clusters, order);
    }
    std::erase_if(clusters, [&](const Cluster& c) {
      return static_cast<int64_t>(c.members.size()) < o_.min_seqlets;
    });
    return clusters;
  }

  // The motif of a cluster, or nothing when no columns carry contributions of the cluster's
  // sign. Columns are trimmed by their signed mean contribution, and members whose contribution
  // over the kept columns has the other sign are dropped and the rest aggregated again: a
  // positive seqlet next to a strong negative site can align onto that site (seen on ChIP-seq
  // peaks), and would otherwise make a "positive" motif out of negative contributions.
  std::optional<DiscoveredMotif> aggregate(const Cluster& c, int sign) {
    std::vector<SeqletPlacement> members = c.members;
    for (int pass = 0; pass < 2; ++pass) {
      if (static_cast<int64_t>(members.size()) < o_.min_seqlets) return std::nullopt;
      auto m = aggregate_members(members, sign);
      if (!m) return std::nullopt;
      std::vector<SeqletPlacement> kept;
      Track t;
      for (const auto& p : members) {
        extract(tracks_.contributions, tracks_.length, seqlets_[p.seqlet].sequence, p.start, W_,
                p.strand, t);
        double sum = 0;
        for (int64_t i = m->trim_begin * 4;
             i < (m->trim_begin + static_cast<int64_t>(m->cwm.size())) * 4; ++i)
          sum += t[i];
        if (sign * sum > 0) kept.push_back(p);
      }
      if (kept.size() == members.size()) return m;
      members = std::move(kept);
    }
    if (static_cast<int64_t>(members.size()) < o_.min_seqlets) return std::nullopt;
    return aggregate_members(members, sign);
  }

 private:
  std::optional<DiscoveredMotif> aggregate_members(const std::vector<SeqletPlacement>& members,
                                                   int sign) {
    DiscoveredMotif m;
    m.sign = sign;
    m.members = members;
    const int64_t L = tracks_.length;
    std::vector<std::array<double, 4>> counts(W_, {0, 0, 0, 0}), cwm(W_, {0, 0, 0, 0}),
        hyp(W_, {0, 0, 0, 0});
    Track t;
    for (const auto& p : members) {
      const Seqlet& s = seqlets_[p.seqlet];
      for (int64_t i = 0; i < W_; ++i) {
        const int64_t l = p.strand == '+' ? p.start + i : p.start + W_ - 1 - i;
        if (l < 0 || l >= L) continue;
        const uint8_t code = tracks_.codes[s.sequence * L + l];
        if (code <= 3) counts[i][p.strand == '+' ? code : 3 - code] += 1;
      }
      extract(tracks_.contributions, L, s.sequence, p.start, W_, p.strand, t);
      for (int64_t i = 0; i < W_ * 4; ++i) cwm[i / 4][i % 4] += t[i];
      if (!tracks_.hypothetical.empty()) {
        extract(tracks_.hypothetical, L, s.sequence, p.start, W_, p.strand, t);
        for (int64_t i = 0; i < W_ * 4; ++i) hyp[i / 4][i % 4] += t[i];
      }
    }
    const auto n = static_cast<double>(members.size());
    std::vector<double> importance(W_);  // the column's mean contribution, in the motif's sign
    for (int64_t i = 0; i < W_; ++i) {
      for (int b = 0; b < 4; ++b) {
        cwm[i][b] /= n;
        hyp[i][b] /= n;
        importance[i] += sign * cwm[i][b];
      }
    }
    const double top = *std::max_element(importance.begin(), importance.end());
    if (!(top > 0)) return std::nullopt;
    int64_t a = 0, b = W_;
    while (a < W_ - 1 && importance[a] < o_.trim * top) ++a;
    while (b > a + 1 && importance[b - 1] < o_.trim * top) --b;
    m.trim_begin = a;
    for (int64_t i = a; i < b; ++i) {
      const double total = counts[i][0] + counts[i][1] + counts[i][2] + counts[i][3];
      std::array<double, 4> row = {0.25, 0.25, 0.25, 0.25};
      if (total > 0)
        for (int k = 0; k < 4; ++k) row[k] = counts[i][k] / total;
      m.ppm.push_back(row);
      m.cwm.push_back(cwm[i]);
      if (!tracks_.hypothetical.empty()) m.hypothetical_cwm.push_back(hyp[i]);
    }
    return m;
  }

  const AttributionTracks& tracks_;
  const std::vector<Seqlet>& seqlets_;
  const ClusterOptions& o_;
  int64_t W_;
  const std::vector<float>& source_;
  Track buf_;
};

}  // namespace

std::vector<DiscoveredMotif> cluster_seqlets(const AttributionTracks& tracks,
                                             const std::vector<Seqlet>& seqlets,
                                             const ClusterOptions& options) {
  tracks.check();
  STRAND_CHECK(options.max_shift >= 0 && options.min_seqlets >= 1 && options.refine_rounds >= 0,
               "seqlet clustering: max_shift {}, min_seqlets {}, refine_rounds {} out of range",
               options.max_shift, options.min_seqlets, options.refine_rounds);
  STRAND_CHECK(options.trim >= 0 && options.trim < 1, "seqlet clustering: trim {} not in [0, 1)",
               options.trim);
  std::vector<DiscoveredMotif> out;
  if (seqlets.empty()) return out;
  const int64_t width = seqlets[0].width;
  for (const auto& s : seqlets) {
    STRAND_CHECK(s.width == width, "seqlet clustering: seqlets of widths {} and {}", width,
                 s.width);
    STRAND_CHECK(s.sequence >= 0 && s.sequence < tracks.sequences,
                 "seqlet clustering: seqlet of sequence {} (of {})", s.sequence, tracks.sequences);
  }
  Clusterer clusterer(tracks, seqlets, options, width);
  for (int sign : {+1, -1}) {
    std::vector<int64_t> order;
    for (size_t k = 0; k < seqlets.size(); ++k)
      if ((seqlets[k].score >= 0) == (sign > 0)) order.push_back(static_cast<int64_t>(k));
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
      return std::abs(seqlets[x].score) > std::abs(seqlets[y].score);
    });
    if (order.empty()) continue;
    for (const auto& c : clusterer.run(order))
      if (auto m = clusterer.aggregate(c, sign)) out.push_back(std::move(*m));
  }
  return out;
}

}  // namespace strand::interpret
