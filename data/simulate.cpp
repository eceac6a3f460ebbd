// The simulator: background, planting by rule (and decoys), rule evaluation, files and JSON.
#include "data/simulate.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/encoding.h"
#include "data/random.h"
#include "kernels/error.h"

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
};

bool overlaps(const std::vector<PlantedSite>& sites, int64_t s, int64_t e) {
  for (const auto& x : sites) {
    if (s < x.end && x.start < e) return true;
  }
  return false;
}

PlantedSite make_site(const Motif& m, int64_t start, Rng& rng) {
  PlantedSite p;
  p.motif = m.name;
  p.start = start;
  p.end = start + m.length();
  for (const auto& row : m.pwm) p.site += sample_base(row, rng);
  if (rng.chance(0.5)) {
    p.strand = '-';
    p.site = reverse_complement(p.site);
  }
  return p;
}

// Tries to place the requests without overlapping existing sites; false when no room was found.
bool place(const std::vector<Request>& reqs, int64_t length, std::vector<PlantedSite>& sites,
           Rng& rng) {
  for (size_t k = 0; k < reqs.size(); ++k) {
    const Motif& m = *reqs[k].motif;
    bool placed = false;
    for (int attempt = 0; attempt < 200 && !placed; ++attempt) {
      int64_t start;
      if (reqs[k].tied) {
        const PlantedSite& prev = sites.back();
        const int64_t gap = reqs[k].lo + rng.below(reqs[k].hi - reqs[k].lo + 1);
        start = rng.chance(0.5) ? prev.end + gap : prev.start - gap - m.length();
      } else {
        if (length < m.length()) return false;
        start = rng.below(length - m.length() + 1);
      }
      if (start < 0 || start + m.length() > length) continue;
      if (overlaps(sites, start, start + m.length())) continue;
      sites.push_back(make_site(m, start, rng));
      placed = true;
    }
    if (!placed) return false;
  }
  return true;
}

int64_t gap_between(const PlantedSite& x, const PlantedSite& y) {
  return x.end <= y.start ? y.start - x.end : x.start - y.end;
}

bool rule_holds(const MotifRule& r, const std::vector<PlantedSite>& sites) {
  auto has = [&](const std::string& n) {
    return std::any_of(sites.begin(), sites.end(), [&](const auto& s) { return s.motif == n; });
  };
  switch (r.op) {
    case MotifRule::Op::kSingle:
      return has(r.a);
    case MotifRule::Op::kOr:
      return has(r.a) || has(r.b);
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

// Motifs to plant so that the rule holds.
std::vector<Request> positive_requests(const MotifRule& r, const Context& ctx, Rng& rng) {
  const Motif* a = &ctx.find(r.a);
  switch (r.op) {
    case MotifRule::Op::kSingle:
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
  }
  return {};
}

// A decoy: near the rule but not satisfying it.
std::vector<Request> decoy_requests(const MotifRule& r, const Context& ctx, Rng& rng) {
  std::vector<const Motif*> others;
  for (const auto& m : ctx.motifs) {
    if (m.name != r.a && m.name != r.b) others.push_back(&m);
  }
  const Motif* other = others[rng.below(static_cast<int64_t>(others.size()))];
  if (r.op != MotifRule::Op::kAnd) return {{other}};
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

std::string rule_text(const MotifRule& r) {
  switch (r.op) {
    case MotifRule::Op::kSingle:
      return r.a;
    case MotifRule::Op::kOr:
      return r.a + " OR " + r.b;
    case MotifRule::Op::kAnd:
      return r.a + " AND " + r.b +
             (r.max_gap >= 0 ? format(" (gap {}..{})", r.min_gap, r.max_gap) : std::string());
  }
  return "?";
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
  Simulation sim;
  sim.config = c;
  sim.tasks = c.tasks.empty() ? default_tasks() : c.tasks;
  Context ctx{c, builtin_motifs()};
  ctx.motifs.insert(ctx.motifs.end(), c.motifs.begin(), c.motifs.end());
  for (const auto& r : sim.tasks) {
    STRAND_CHECK(!r.task.empty(), "simulation: a task has no name");
    ctx.find(r.a);
    if (r.op != MotifRule::Op::kSingle) ctx.find(r.b);
    STRAND_CHECK(r.op == MotifRule::Op::kAnd || r.max_gap < 0,
                 "simulation: task '{}': spacing constraints apply to AND rules only", r.task);
    STRAND_CHECK(r.max_gap < 0 || (r.min_gap >= 0 && r.min_gap <= r.max_gap),
                 "simulation: task '{}': gap range [{}, {}] is empty", r.task, r.min_gap,
                 r.max_gap);
  }

  Rng rng(c.seed * 0x2545f4914f6cdd1dULL + 17);
  const double p_gc = c.gc / 2, p_at = (1 - c.gc) / 2;
  const std::array<double, 4> background = {p_at, p_gc, p_gc, p_at};
  LabelTable& t = sim.labels;
  t.path = "simulation";
  t.kind = LabelKind::kMultiLabel;
  for (const auto& r : sim.tasks) t.columns.push_back(r.task);
  if (t.columns.size() == 1) t.kind = LabelKind::kBinary;

  for (int64_t i = 0; i < c.num_sequences; ++i) {
    FastaRecord rec;
    rec.name = "sim_" + std::string(6 - std::min<size_t>(6, std::to_string(i).size()), '0') +
               std::to_string(i);
    std::vector<PlantedSite> sites;
    for (int attempt = 0;; ++attempt) {
      STRAND_CHECK(attempt < 50,
                   "simulation: cannot fit the motifs of sequence {} into {} bases; use longer "
                   "sequences",
                   i, c.length);
      sites.clear();
      bool ok = true;
      for (const auto& r : sim.tasks) {
        std::vector<Request> reqs;
        if (rng.chance(c.positive_fraction)) {
          reqs = positive_requests(r, ctx, rng);
        } else if (rng.chance(c.decoy_fraction)) {
          reqs = decoy_requests(r, ctx, rng);
        }
        ok = ok && place(reqs, c.length, sites, rng);
      }
      if (ok) break;
    }
    rec.sequence.resize(c.length);
    for (auto& ch : rec.sequence) ch = sample_base(background, rng);
    std::sort(sites.begin(), sites.end(),
              [](const auto& x, const auto& y) { return x.start < y.start; });
    for (const auto& s : sites) rec.sequence.replace(s.start, s.site.size(), s.site);
    for (const auto& r : sim.tasks) t.values.push_back(rule_holds(r, sites) ? 1.0f : 0.0f);
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

nlohmann::json ground_truth_json(const Simulation& sim) {
  using nlohmann::json;
  const auto& c = sim.config;
  json out;
  out["generator"] = "strand simulate";
  out["config"] = {{"num_sequences", c.num_sequences},
                   {"length", c.length},
                   {"gc", c.gc},
                   {"positive_fraction", c.positive_fraction},
                   {"decoy_fraction", c.decoy_fraction},
                   {"seed", c.seed},
                   {"valid_fraction", c.valid_fraction},
                   {"test_fraction", c.test_fraction}};
  out["coordinates"] = "0-based, half-open [start, end) within each sequence";
  json motifs = json::array();
  std::vector<std::string> used;
  for (const auto& r : sim.tasks) {
    used.push_back(r.a);
    if (!r.b.empty()) used.push_back(r.b);
  }
  std::vector<Motif> all = builtin_motifs();
  all.insert(all.end(), c.motifs.begin(), c.motifs.end());
  for (const auto& m : all) {
    json pwm = json::array();
    for (const auto& row : m.pwm) pwm.push_back({row[0], row[1], row[2], row[3]});
    motifs.push_back({{"name", m.name}, {"consensus", m.consensus}, {"pwm_acgt", pwm}});
  }
  out["motifs"] = motifs;
  json tasks = json::array();
  for (const auto& r : sim.tasks) tasks.push_back({{"name", r.task}, {"rule", rule_text(r)}});
  out["tasks"] = tasks;
  json seqs = json::array();
  const auto& t = sim.labels;
  for (size_t i = 0; i < sim.records.size(); ++i) {
    json labels = json::object();
    for (int64_t k = 0; k < t.num_columns(); ++k)
      labels[t.columns[k]] = static_cast<int>(t.row(i)[k]);
    json sites = json::array();
    for (const auto& s : sim.planted[i]) {
      sites.push_back({{"motif", s.motif},
                       {"start", s.start},
                       {"end", s.end},
                       {"strand", std::string(1, s.strand)},
                       {"site", s.site}});
    }
    seqs.push_back({{"name", sim.records[i].name},
                    {"split", split_name(t.splits[i])},
                    {"labels", labels},
                    {"planted", sites}});
  }
  out["sequences"] = seqs;
  return out;
}

SimulationFiles write_simulation(const Simulation& sim, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  STRAND_CHECK(!ec, "cannot create directory '{}': {}", dir, ec.message());
  SimulationFiles f{dir + "/sequences.fa", dir + "/labels.tsv", dir + "/ground_truth.json"};
  write_fasta(f.fasta, sim.records);
  IndexedFasta index(f.fasta);  // builds sequences.fa.fai now, not at first use
  {
    std::ofstream out(f.labels);
    STRAND_CHECK(out.good(), "cannot write '{}': {}", f.labels, std::strerror(errno));
    const auto& t = sim.labels;
    out << "name";
    for (const auto& col : t.columns) out << '\t' << col;
    out << "\tsplit\n";
    for (int64_t i = 0; i < t.num_rows(); ++i) {
      out << t.names[i];
      for (int64_t k = 0; k < t.num_columns(); ++k) out << '\t' << static_cast<int>(t.row(i)[k]);
      out << '\t' << split_name(t.splits[i]) << '\n';
    }
    STRAND_CHECK(out.good(), "error writing '{}'", f.labels);
  }
  std::ofstream json_out(f.ground_truth);
  STRAND_CHECK(json_out.good(), "cannot write '{}': {}", f.ground_truth, std::strerror(errno));
  json_out << ground_truth_json(sim).dump(1) << '\n';
  STRAND_CHECK(json_out.good(), "error writing '{}'", f.ground_truth);
  return f;
}

}  // namespace strand::data
