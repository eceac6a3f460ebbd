// The simulator: background, planting by rule (and decoys), rule evaluation.
#include "data/simulate.h"

#include <algorithm>
#include <cctype>

#include "core/checked.h"
#include "core/error.h"
#include "data/encoding.h"
#include "data/random.h"

namespace strand::data {
namespace {

using Rng = SplitMix64;

char sample_base(const std::array<double, 4>& p, Rng& rng) {
  double u = rng.uniform();
  for (int b = 0; b < 3; ++b) {
    if (u < p[b]) return "ACGT"[b];
    u -= p[b];
  }
  return 'T';
}

struct Context {
  const SimulationConfig& config;
  std::vector<Motif> motifs;  // built-in + config.motifs
  const Motif& find(const std::string& name) const {
    for (const auto& m : motifs) {
      if (m.name == name) return m;
    }
    std::string upper = name;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const auto& m : motifs) {
      if (m.name == upper) return m;
    }
    STRAND_FAIL("simulation: unknown motif '{}'", name);
  }
};

// A placement request: a motif, optionally tied to the previous request at a gap range.
struct Request {
  const Motif* motif;
  bool tied = false;  // placed right after (or before) the previous one, gap in [lo, hi]
  int64_t lo = 0, hi = 0;
  // Positional grammars only (the defaults keep the unaligned random stream unchanged):
  int direction = 0;                     // tied: +1 after the previous site, -1 before, 0 either
  int64_t start_lo = -1, start_hi = -1;  // untied: start drawn from [start_lo, start_hi]
  int64_t avoid_lo = 1, avoid_hi = 0;    // untied: a start in [avoid_lo, avoid_hi] is refused
  char strand = 0;                       // '+' or '-' forced; 0: either, drawn
};

bool overlaps(const std::vector<PlantedSite>& sites, int64_t s, int64_t e) {
  for (const auto& x : sites) {
    if (s < x.end && x.start < e) return true;
  }
  return false;
}

PlantedSite make_site(const Motif& m, int64_t start, char strand, Rng& rng) {
  PlantedSite p;
  p.motif = m.name;
  p.start = start;
  p.end = start + m.length();
  for (const auto& row : m.pwm) p.site += sample_base(row, rng);
  if (strand == '-' || (strand == 0 && rng.chance(0.5))) {
    p.strand = '-';
    p.site = reverse_complement(p.site);
  }
  return p;
}

// Tries to place the requests without overlapping existing sites; false when no room was found.
bool place(const std::vector<Request>& reqs, int64_t length, std::vector<PlantedSite>& sites,
           Rng& rng) {
  for (size_t k = 0; k < reqs.size(); ++k) {
    const Request& q = reqs[k];
    const Motif& m = *q.motif;
    bool placed = false;
    for (int attempt = 0; attempt < 200 && !placed; ++attempt) {
      int64_t start;
      if (q.tied) {
        const PlantedSite& prev = sites.back();
        const int64_t gap = q.lo + rng.below(q.hi - q.lo + 1);
        const bool after = q.direction != 0 ? q.direction > 0 : rng.chance(0.5);
        start = after ? prev.end + gap : prev.start - gap - m.length();
      } else if (q.start_lo >= 0) {
        start = q.start_lo + rng.below(q.start_hi - q.start_lo + 1);
      } else {
        if (length < m.length()) return false;
        start = rng.below(length - m.length() + 1);
      }
      if (start < 0 || start + m.length() > length) continue;
      if (!q.tied && start >= q.avoid_lo && start <= q.avoid_hi) continue;
      if (overlaps(sites, start, start + m.length())) continue;
      sites.push_back(make_site(m, start, q.strand, rng));
      placed = true;
    }
    if (!placed) return false;
  }
  return true;
}

int64_t gap_between(const PlantedSite& x, const PlantedSite& y) {
  return x.end <= y.start ? y.start - x.end : x.start - y.end;
}

bool rule_holds(const MotifRule& r, const std::vector<PlantedSite>& sites, int64_t length) {
  auto counts = [&](const PlantedSite& s, const std::string& n) {
    return s.motif == n && (!r.forward_only || s.strand == '+');
  };
  auto has = [&](const std::string& n) {
    return std::any_of(sites.begin(), sites.end(), [&](const auto& s) { return counts(s, n); });
  };
  switch (r.op) {
    case MotifRule::Op::kSingle:
      return has(r.a);
    case MotifRule::Op::kOr:
      return has(r.a) || has(r.b);
    case MotifRule::Op::kAt: {
      const auto window = at_window(r, length);  // not a structured binding: clang 14 lambdas
      return std::any_of(sites.begin(), sites.end(), [&](const auto& s) {
        return counts(s, r.a) && s.start >= window.first && s.start <= window.second;
      });
    }
    case MotifRule::Op::kUpstream:
      for (const auto& x : sites) {
        for (const auto& y : sites) {
          if (counts(x, r.a) && counts(y, r.b) && x.end <= y.start) {
            const int64_t g = y.start - x.end;
            if (g >= r.min_gap && (r.max_gap < 0 || g <= r.max_gap)) return true;
          }
        }
      }
      return false;
    case MotifRule::Op::kAnd:
      if (r.max_gap < 0) return has(r.a) && has(r.b);
      for (const auto& x : sites) {
        for (const auto& y : sites) {
          if (x.motif == r.a && y.motif == r.b && &x != &y) {
            const int64_t g = gap_between(x, y);
            if (g >= r.min_gap && g <= r.max_gap) return true;
          }
        }
      }
      return false;
  }
  return false;
}

// kUpstream's gap range for sampling (an open range is capped at a quarter of the sequence).
std::pair<int64_t, int64_t> upstream_gaps(const MotifRule& r, int64_t length) {
  return {r.min_gap, r.max_gap >= 0 ? r.max_gap : r.min_gap + std::max<int64_t>(1, length / 4)};
}

// Motifs to plant so that the rule holds.
std::vector<Request> positive_requests(const MotifRule& r, const Context& ctx, int64_t length,
                                       Rng& rng) {
  const Motif* a = &ctx.find(r.a);
  const char strand = r.forward_only ? '+' : 0;
  switch (r.op) {
    case MotifRule::Op::kSingle:
      if (r.forward_only) return {{.motif = a, .strand = '+'}};
      return {{a}};
    case MotifRule::Op::kOr: {
      const Motif* b = &ctx.find(r.b);
      const double u = rng.uniform();
      if (u < 0.4) return {{a}};
      if (u < 0.8) return {{b}};
      return {{a}, {b}};
    }
    case MotifRule::Op::kAnd: {
      const Motif* b = &ctx.find(r.b);
      if (r.max_gap < 0) return {{a}, {b}};
      return {{a}, {b, true, r.min_gap, r.max_gap}};
    }
    case MotifRule::Op::kAt: {
      const auto [lo, hi] = at_window(r, length);
      return {{.motif = a, .start_lo = lo, .start_hi = hi, .strand = strand}};
    }
    case MotifRule::Op::kUpstream: {
      const auto [lo, hi] = upstream_gaps(r, length);
      return {{.motif = a, .strand = strand},
              {.motif = &ctx.find(r.b),
               .tied = true,
               .lo = lo,
               .hi = hi,
               .direction = +1,
               .strand = strand}};
    }
  }
  return {};
}

// A decoy for a positional rule: the right motifs, but at the wrong place, in the wrong order or
// on the wrong strand (or another motif), so that only position and orientation tell the label.
std::vector<Request> positional_decoy(const MotifRule& r, const Context& ctx, const Motif* other,
                                      int64_t length, Rng& rng) {
  const Motif* a = &ctx.find(r.a);
  const double u = rng.uniform();
  if (r.op == MotifRule::Op::kSingle) {  // forward_only: the motif on the reverse strand
    if (u >= 0.7 && !other) return {};
    return {u < 0.7 ? Request{.motif = a, .strand = '-'} : Request{other}};
  }
  if (r.op == MotifRule::Op::kAt) {
    const auto [lo, hi] = at_window(r, length);
    if (r.forward_only && u < 0.4)
      return {{.motif = a, .start_lo = lo, .start_hi = hi, .strand = '-'}};
    if (u < 0.8) {
      // Elsewhere: at least a motif length away from the window, so it is clearly not there.
      return {{.motif = a, .avoid_lo = lo - a->length(), .avoid_hi = hi + a->length()}};
    }
    if (!other) return {};
    return {{other}};
  }
  // kUpstream
  const Motif* b = &ctx.find(r.b);
  const auto [glo, ghi] = upstream_gaps(r, length);
  if (u < 0.4) {  // the wrong order: b upstream of a, at an allowed gap
    return {{b}, {.motif = a, .tied = true, .lo = glo, .hi = ghi, .direction = +1}};
  }
  if (u < 0.6 && r.max_gap >= 0) {  // the right order at a gap that is too long
    return {{a}, {.motif = b, .tied = true, .lo = ghi + 1, .hi = 3 * ghi + 10, .direction = +1}};
  }
  if (u < 0.7 && r.min_gap > 0) {  // too short
    return {{a}, {.motif = b, .tied = true, .lo = 0, .hi = r.min_gap - 1, .direction = +1}};
  }
  if (r.forward_only && u < 0.8) {
    return {{.motif = a, .strand = '-'},
            {.motif = b, .tied = true, .lo = glo, .hi = ghi, .direction = +1, .strand = '-'}};
  }
  return {rng.chance(0.5) ? Request{a} : Request{b}};
}

// A decoy: near the rule but not satisfying it.
std::vector<Request> decoy_requests(const MotifRule& r, const Context& ctx, int64_t length,
                                    Rng& rng) {
  std::vector<const Motif*> others;
  for (const auto& m : ctx.motifs) {
    if (m.name != r.a && m.name != r.b) others.push_back(&m);
  }
  // With a single motif there is no other one to plant: those decoys are left out.
  const Motif* other =
      others.empty() ? nullptr : others[rng.below(static_cast<int64_t>(others.size()))];
  if (r.op == MotifRule::Op::kAt || r.op == MotifRule::Op::kUpstream ||
      (r.op == MotifRule::Op::kSingle && r.forward_only))
    return positional_decoy(r, ctx, other, length, rng);
  if (r.op != MotifRule::Op::kAnd)
    return other ? std::vector<Request>{{other}} : std::vector<Request>{};
  const Motif* a = &ctx.find(r.a);
  const Motif* b = &ctx.find(r.b);
  if (r.max_gap >= 0 && rng.chance(0.5)) {
    // Both motifs, spaced outside the allowed gap range.
    const int64_t lo = r.max_gap + 1, hi = std::max(lo, r.max_gap * 3 + 10);
    if (r.min_gap > 0 && rng.chance(0.5)) return {{a}, {b, true, 0, r.min_gap - 1}};
    return {{a}, {b, true, lo, hi}};
  }
  return {rng.chance(0.5) ? Request{a} : Request{b}};
}

}  // namespace

std::pair<int64_t, int64_t> at_window(const MotifRule& r, int64_t length) {
  const int64_t at = length / 2 + r.offset;
  return {at - r.jitter, at + r.jitter};
}

std::string rule_text(const MotifRule& r) {
  const std::string fwd = r.forward_only ? "forward " : "";
  switch (r.op) {
    case MotifRule::Op::kSingle:
      return fwd + r.a;
    case MotifRule::Op::kAt:
      return format("{}{} at centre{}{} (+-{})", fwd, r.a, r.offset < 0 ? "-" : "+",
                    r.offset < 0 ? -r.offset : r.offset, r.jitter);
    case MotifRule::Op::kUpstream:
      return fwd + r.a + " upstream of " + fwd + r.b +
             (r.max_gap >= 0 ? format(" (gap {}..{})", r.min_gap, r.max_gap)
                             : format(" (gap >= {})", r.min_gap));
    case MotifRule::Op::kOr:
      return r.a + " OR " + r.b;
    case MotifRule::Op::kAnd:
      return r.a + " AND " + r.b +
             (r.max_gap >= 0 ? format(" (gap {}..{})", r.min_gap, r.max_gap) : std::string());
  }
  return "?";
}

std::string motif_task_name(const Motif& m) {
  std::string out = m.alt_name.empty() ? m.name : m.alt_name;
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
  }
  return out;
}

std::vector<MotifRule> default_tasks() {
  return {{"ctcf", MotifRule::Op::kSingle, "CTCF", "", 0, -1},
          {"sp1_and_creb", MotifRule::Op::kAnd, "SP1", "CREB", 0, -1}};
}

Simulation simulate(const SimulationConfig& config) {
  const SimulationConfig& c = config;
  STRAND_CHECK(c.num_sequences > 0, "simulation: num_sequences must be positive, got {}",
               c.num_sequences);
  STRAND_CHECK(c.length > 0, "simulation: length must be positive, got {}", c.length);
  STRAND_CHECK(c.gc >= 0.0 && c.gc <= 1.0, "simulation: gc {} is not in [0, 1]", c.gc);
  STRAND_CHECK(c.positive_fraction >= 0.0 && c.positive_fraction <= 1.0,
               "simulation: positive_fraction {} is not in [0, 1]", c.positive_fraction);
  STRAND_CHECK(c.decoy_fraction >= 0.0 && c.decoy_fraction <= 1.0,
               "simulation: decoy_fraction {} is not in [0, 1]", c.decoy_fraction);
  // The records, names, labels and index held in memory: the bases plus ~256 bytes of bookkeeping
  // per sequence (measured order of magnitude), checked before hours of work end in bad_alloc.
  check_memory(static_cast<uint64_t>(checked_mul(
                   c.num_sequences, checked_add(c.length, 256, "simulation"), "simulation memory")),
               format("simulating {} sequences of {} bp", c.num_sequences, c.length));
  Simulation sim;
  sim.config = c;
  const bool multiclass = !c.classes.empty();
  sim.tasks = multiclass ? c.classes : c.tasks.empty() ? default_tasks() : c.tasks;
  Context ctx{c, c.builtin_motifs ? builtin_motifs() : std::vector<Motif>{}};
  STRAND_CHECK(c.builtin_motifs || !c.motifs.empty(),
               "simulation: no motifs (the built-ins are off and none were given)");
  ctx.motifs.insert(ctx.motifs.end(), c.motifs.begin(), c.motifs.end());
  for (const auto& r : sim.tasks) {
    STRAND_CHECK(!r.task.empty(), "simulation: a task has no name");
    STRAND_CHECK(std::count_if(sim.tasks.begin(), sim.tasks.end(),
                               [&](const MotifRule& x) { return x.task == r.task; }) == 1,
                 "simulation: two tasks are named '{}'", r.task);
    ctx.find(r.a);
    const bool two = r.op == MotifRule::Op::kAnd || r.op == MotifRule::Op::kOr ||
                     r.op == MotifRule::Op::kUpstream;
    if (two) ctx.find(r.b);
    STRAND_CHECK(r.op == MotifRule::Op::kAnd || r.op == MotifRule::Op::kUpstream || r.max_gap < 0,
                 "simulation: task '{}': spacing constraints apply to AND rules only", r.task);
    STRAND_CHECK(r.max_gap < 0 || (r.min_gap >= 0 && r.min_gap <= r.max_gap),
                 "simulation: task '{}': gap range [{}, {}] is empty", r.task, r.min_gap,
                 r.max_gap);
    STRAND_CHECK(r.min_gap >= 0, "simulation: task '{}': min_gap {} is negative", r.task,
                 r.min_gap);
    STRAND_CHECK(r.jitter >= 0, "simulation: task '{}': jitter {} is negative", r.task, r.jitter);
    STRAND_CHECK(!r.forward_only || r.op == MotifRule::Op::kSingle || r.op == MotifRule::Op::kAt ||
                     r.op == MotifRule::Op::kUpstream,
                 "simulation: task '{}': forward_only applies to single, at and upstream rules",
                 r.task);
    if (r.op == MotifRule::Op::kAt) {
      const auto [lo, hi] = at_window(r, c.length);
      STRAND_CHECK(lo >= 0 && hi + ctx.find(r.a).length() <= c.length,
                   "simulation: task '{}': the site window [{}, {}] of {} does not fit in {} bases",
                   r.task, lo, hi + ctx.find(r.a).length(), r.a, c.length);
    }
    STRAND_CHECK(!multiclass || r.task != c.none_class,
                 "simulation: class '{}' is also the none class", r.task);
  }

  Rng rng(c.seed * 0x2545f4914f6cdd1dULL + 17);
  const double p_gc = c.gc / 2, p_at = (1 - c.gc) / 2;
  const std::array<double, 4> background = {p_at, p_gc, p_gc, p_at};
  LabelTable& t = sim.labels;
  t.path = "simulation";
  t.kind = LabelKind::kMultiLabel;
  if (multiclass) {
    t.kind = LabelKind::kMultiClass;
    t.columns = {c.class_column};
    t.classes.push_back(c.none_class);
    for (const auto& r : sim.tasks) t.classes.push_back(r.task);
    std::sort(t.classes.begin(), t.classes.end());  // as read_labels orders them
    STRAND_CHECK(std::adjacent_find(t.classes.begin(), t.classes.end()) == t.classes.end(),
                 "simulation: class names must be unique");
  } else {
    for (const auto& r : sim.tasks) t.columns.push_back(r.task);
    if (t.columns.size() == 1) t.kind = LabelKind::kBinary;
  }
  auto class_index = [&](const std::string& name) {
    return static_cast<float>(std::find(t.classes.begin(), t.classes.end(), name) -
                              t.classes.begin());
  };

  for (int64_t i = 0; i < c.num_sequences; ++i) {
    FastaRecord rec;
    rec.name = "sim_" + std::string(6 - std::min<size_t>(6, std::to_string(i).size()), '0') +
               std::to_string(i);
    std::vector<PlantedSite> sites;
    std::string label_class;
    for (int attempt = 0;; ++attempt) {
      STRAND_CHECK(attempt < 50,
                   "simulation: cannot fit the motifs of sequence {} into {} bases; use longer "
                   "sequences",
                   i, c.length);
      sites.clear();
      bool ok = true;
      if (multiclass) {
        // Class k < K: rule k's pattern; K: none. Then maybe a decoy of a random rule.
        const auto K = static_cast<int64_t>(sim.tasks.size());
        const int64_t k = rng.below(K + 1);
        if (k < K)
          ok = place(positive_requests(sim.tasks[k], ctx, c.length, rng), c.length, sites, rng);
        if (ok && rng.chance(c.decoy_fraction))
          ok = place(decoy_requests(sim.tasks[rng.below(K)], ctx, c.length, rng), c.length, sites,
                     rng);
        int holding = 0;
        label_class = c.none_class;
        for (const auto& r : sim.tasks)
          if (rule_holds(r, sites, c.length)) ++holding, label_class = r.task;
        ok = ok && holding == (k < K ? 1 : 0);  // a decoy never makes a second class true
      } else {
        for (const auto& r : sim.tasks) {
          std::vector<Request> reqs;
          if (rng.chance(c.positive_fraction)) {
            reqs = positive_requests(r, ctx, c.length, rng);
          } else if (rng.chance(c.decoy_fraction)) {
            reqs = decoy_requests(r, ctx, c.length, rng);
          }
          ok = ok && place(reqs, c.length, sites, rng);
        }
      }
      if (ok) break;
    }
    rec.sequence.resize(c.length);
    for (auto& ch : rec.sequence) ch = sample_base(background, rng);
    std::sort(sites.begin(), sites.end(),
              [](const auto& x, const auto& y) { return x.start < y.start; });
    for (const auto& s : sites) rec.sequence.replace(s.start, s.site.size(), s.site);
    if (multiclass) {
      t.values.push_back(class_index(label_class));
    } else {
      for (const auto& r : sim.tasks)
        t.values.push_back(rule_holds(r, sites, c.length) ? 1.0f : 0.0f);
    }
    t.row_of.emplace(rec.name, i);
    t.names.push_back(rec.name);
    const double u = rng.uniform();
    t.splits.push_back(u < c.test_fraction                      ? Split::kTest
                       : u < c.test_fraction + c.valid_fraction ? Split::kValid
                                                                : Split::kTrain);
    sim.records.push_back(std::move(rec));
    sim.planted.push_back(std::move(sites));
  }
  return sim;
}

}  // namespace strand::data
