// Motif discovery end to end on a known answer: real JASPAR motifs planted by the simulator,
// attributions built from its record of planted sites (one-hot x site indicator + noise), seqlets,
// clusters, and each discovered motif matched back to JASPAR.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "data/encoding.h"
#include "data/meme.h"
#include "data/random.h"
#include "data/simulate.h"
#include "interpret/motif_compare.h"
#include "interpret/seqlet_clusters.h"
#include "interpret/seqlets.h"

namespace strand::interpret {
namespace {

const data::MemeFile& jaspar() {
  static const auto file = data::read_meme(
      std::string(STRAND_SOURCE_DIR) + "/data/motifs/JASPAR_CORE_vertebrates_nonredundant.meme");
  return file;
}

const std::vector<std::string> kPlanted = {"MA0139.2", "MA0035.5", "MA0080.7"};  // CTCF GATA1 SPI1

data::Simulation planted_simulation() {
  data::SimulationConfig c;
  c.num_sequences = 400;
  c.length = 200;
  c.builtin_motifs = false;
  for (const auto& id : kPlanted) {
    const auto& m = data::find_motif(jaspar().motifs, id, "jaspar");
    c.motifs.push_back(m);
    c.tasks.push_back({data::motif_task_name(m), data::MotifRule::Op::kSingle, m.name, "", 0, -1});
  }
  return data::simulate(c);
}

// contributions = one-hot x (1 on planted sites, 0 elsewhere) + uniform noise on the observed base.
AttributionTracks synthetic_attributions(const data::Simulation& sim, double noise) {
  AttributionTracks t;
  t.sequences = static_cast<int64_t>(sim.records.size());
  t.length = sim.config.length;
  const int64_t L = t.length;
  t.contributions.assign(static_cast<size_t>(t.sequences * 4 * L), 0.0f);
  data::SplitMix64 rng(11);
  for (int64_t n = 0; n < t.sequences; ++n) {
    const auto codes = data::encode_bases(sim.records[n].sequence);
    t.codes.insert(t.codes.end(), codes.begin(), codes.end());
    std::vector<float> site(L, 0.0f);
    for (const auto& s : sim.planted[n])
      for (int64_t l = s.start; l < s.end; ++l) site[l] = 1.0f;
    for (int64_t l = 0; l < L; ++l) {
      const double v = site[l] + noise * (2 * rng.uniform() - 1);
      if (codes[l] <= 3) t.contributions[(n * 4 + codes[l]) * L + l] = static_cast<float>(v);
    }
  }
  return t;
}

TEST(MotifDiscovery, RecoversEveryPlantedJasparMotifAndMatchesItFirst) {
  const auto sim = planted_simulation();
  const auto tracks = synthetic_attributions(sim, 0.3);
  const SeqletCalls calls = find_seqlets(tracks);
  int64_t planted_sites = 0;
  for (const auto& p : sim.planted) planted_sites += static_cast<int64_t>(p.size());
  // Most planted sites become seqlets, and few seqlets are not on a planted site.
  int64_t on_site = 0;
  for (const auto& s : calls.seqlets) {
    const int64_t centre = s.start + s.width / 2;
    for (const auto& p : sim.planted[s.sequence])
      on_site += centre >= p.start - 10 && centre < p.end + 10;
  }
  EXPECT_GT(static_cast<double>(calls.seqlets.size()), 0.8 * static_cast<double>(planted_sites));
  EXPECT_GT(static_cast<double>(on_site), 0.95 * static_cast<double>(calls.seqlets.size()));
  const auto motifs = cluster_seqlets(tracks, calls.seqlets);
  const MotifComparator comparator(jaspar().motifs);
  std::set<std::string> found;
  for (const auto& m : motifs) {
    EXPECT_EQ(m.sign, 1);
    const auto matches = comparator.compare(m.ppm);
    const auto& best = jaspar().motifs[matches[0].target];
    std::printf("motif of %zu seqlets, width %zu: best %s %s p %.3g q %.3g\n", m.members.size(),
                m.ppm.size(), best.name.c_str(), best.alt_name.c_str(), matches[0].p_value,
                matches[0].q_value);
    if (matches[0].q_value < 0.05) found.insert(best.name);
    // Nothing but the planted motifs is found (each once: its two orientations merge).
    EXPECT_NE(std::find(kPlanted.begin(), kPlanted.end(), best.name), kPlanted.end()) << best.name;
  }
  for (const auto& id : kPlanted) EXPECT_TRUE(found.count(id)) << id << " not recovered";
  EXPECT_EQ(motifs.size(), kPlanted.size());
}

TEST(MotifDiscovery, HypotheticalContributionsDriveTheSimilarityAndAreAggregated) {
  const auto sim = planted_simulation();
  auto tracks = synthetic_attributions(sim, 0.3);
  // Hypothetical contributions as a model would give them: on a planted site, each base's
  // PWM probability above uniform (4p - 1, the site's orientation respected), plus the noise the
  // observed base already has; the contributions are then that track at the observed base.
  const int64_t L = tracks.length;
  tracks.hypothetical.assign(tracks.contributions.size(), 0.0f);
  for (int64_t n = 0; n < tracks.sequences; ++n) {
    for (const auto& site : sim.planted[n]) {
      const auto& pwm = data::find_motif(jaspar().motifs, site.motif, "jaspar").pwm;
      const int64_t w = site.end - site.start;
      for (int64_t i = 0; i < w; ++i)
        for (int b = 0; b < 4; ++b) {
          const double p = site.strand == '+' ? pwm[i][b] : pwm[w - 1 - i][3 - b];
          tracks.hypothetical[(n * 4 + b) * L + site.start + i] = static_cast<float>(4 * p - 1);
        }
    }
    for (int64_t l = 0; l < L; ++l) {
      const uint8_t c = tracks.codes[n * L + l];
      float& contribution = tracks.contributions[(n * 4 + c) * L + l];
      const float noise = contribution - (tracks.hypothetical[(n * 4 + c) * L + l] != 0 ? 1 : 0);
      tracks.hypothetical[(n * 4 + c) * L + l] += noise;
      contribution = tracks.hypothetical[(n * 4 + c) * L + l];
    }
  }
  const auto calls = find_seqlets(tracks);
  const auto motifs = cluster_seqlets(tracks, calls.seqlets);
  ASSERT_FALSE(motifs.empty());
  const MotifComparator comparator(jaspar().motifs);
  std::set<std::string> found;
  for (const auto& m : motifs) {
    ASSERT_EQ(m.hypothetical_cwm.size(), m.ppm.size());
    ASSERT_EQ(m.cwm.size(), m.ppm.size());
    found.insert(jaspar().motifs[comparator.compare(m.ppm)[0].target].name);
  }
  for (const auto& id : kPlanted) EXPECT_TRUE(found.count(id)) << id << " not recovered";
}

// Found on real data (Oct4 vs MafK ChIP-seq peaks): positive seqlets next to strong negative
// sites were aligned onto those sites, giving "positive" motifs whose contributions were negative.
// Here every planted site contributes -1 and the 15 bases after it +0.4: each motif's
// contributions must have its own sign, and the negative one is the planted motif.
TEST(MotifDiscovery, EveryMotifsContributionsHaveItsSign) {
  const auto sim = planted_simulation();
  auto tracks = synthetic_attributions(sim, 0.3);
  const int64_t L = tracks.length;
  for (int64_t n = 0; n < tracks.sequences; ++n)
    for (const auto& site : sim.planted[n])
      for (int64_t l = site.start; l < std::min(site.end + 15, L); ++l) {
        const uint8_t c = tracks.codes[n * L + l];
        if (c <= 3) tracks.contributions[(n * 4 + c) * L + l] -= l < site.end ? 2.0f : -0.4f;
      }
  const auto calls = find_seqlets(tracks);
  const auto motifs = cluster_seqlets(tracks, calls.seqlets);
  const MotifComparator comparator(jaspar().motifs);
  std::set<std::string> negative;
  for (const auto& m : motifs) {
    double sum = 0;
    for (const auto& row : m.cwm) sum += row[0] + row[1] + row[2] + row[3];
    EXPECT_GT(m.sign * sum, 0) << "motif of sign " << m.sign << " sums to " << sum;
    if (m.sign < 0) negative.insert(jaspar().motifs[comparator.compare(m.ppm)[0].target].name);
  }
  for (const auto& id : kPlanted) EXPECT_TRUE(negative.count(id)) << id << " not recovered";
}

TEST(MotifDiscovery, NoSignalGivesNoSeqletsAndBadShapesAreRefused) {
  AttributionTracks t;
  t.sequences = 50;
  t.length = 100;
  t.codes.assign(5000, 0);
  t.contributions.assign(20000, 0.0f);
  data::SplitMix64 rng(3);
  for (int64_t n = 0; n < 50; ++n)
    for (int64_t l = 0; l < 100; ++l)
      t.contributions[(n * 4) * 100 + l] = static_cast<float>(rng.uniform() - 0.5);
  const auto calls = find_seqlets(t);
  EXPECT_LT(calls.seqlets.size(), 10u);  // noise alone: few calls at a 5% FDR
  t.contributions.pop_back();
  EXPECT_THROW(find_seqlets(t), Error);
}

}  // namespace
}  // namespace strand::interpret
