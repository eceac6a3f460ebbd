// First-layer filters to PWMs: filters whose weights are a JASPAR motif's log-odds recover that
// motif from simulated sequences where it was planted.
#include "interpret/filters.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "data/encoding.h"
#include "data/meme.h"
#include "data/simulate.h"

namespace strand::interpret {
namespace {

TEST(FilterMotifs, LogOddsFiltersRecoverTheirPlantedMotif) {
  const auto file = data::read_meme(std::string(STRAND_SOURCE_DIR) +
                                    "/data/motifs/JASPAR_CORE_vertebrates_nonredundant.meme");
  const std::vector<std::string> ids = {"MA0139.2", "MA0080.7"};  // CTCF, SPI1
  data::SimulationConfig c;
  c.num_sequences = 300;
  c.builtin_motifs = false;
  const int64_t W = 15;  // the widest motif; SPI1's 13 columns are padded with zero weights
  ConvFilters filters{static_cast<int64_t>(ids.size()), W, {}, {}};
  filters.weight.assign(ids.size() * 4 * W, 0.0f);
  for (size_t k = 0; k < ids.size(); ++k) {
    const auto& m = data::find_motif(file.motifs, ids[k], "jaspar");
    c.motifs.push_back(m);
    c.tasks.push_back({data::motif_task_name(m), data::MotifRule::Op::kSingle, m.name, "", 0, -1});
    for (int64_t j = 0; j < m.length(); ++j)
      for (int b = 0; b < 4; ++b)
        filters.weight[(k * 4 + b) * W + j] =
            static_cast<float>(std::log((m.pwm[j][b] + 0.01) / (0.25 + 0.01)));
  }
  filters.bias = {0.0f, 0.0f};
  const auto sim = data::simulate(c);
  std::vector<uint8_t> codes;
  for (const auto& r : sim.records) {
    const auto e = data::encode_bases(r.sequence);
    codes.insert(codes.end(), e.begin(), e.end());
  }
  const auto motifs = filter_motifs(filters, codes.data(), c.num_sequences, c.length, 0.5);
  ASSERT_EQ(motifs.size(), 2u);
  const MotifComparator comparator(file.motifs);
  for (size_t k = 0; k < ids.size(); ++k) {
    EXPECT_GT(motifs[k].sites, 50);
    EXPECT_GT(motifs[k].max_activation, 5);
    const auto matches = comparator.compare(motifs[k].ppm);
    EXPECT_EQ(file.motifs[matches[0].target].name, ids[k]);
    EXPECT_EQ(matches[0].strand, '+');
    EXPECT_EQ(matches[0].offset, 0);
    EXPECT_LT(matches[0].q_value, 0.01);
  }
}

TEST(FilterMotifs, CountsWindowsAboveTheThresholdAndSkipsUnknownBases) {
  // One filter of width 2 rewarding "AC" (2 + 1 = 3); sequence ACAC N AC.
  ConvFilters f{1, 2, {2, 0, /*C*/ 0, 1, /*G*/ 0, 0, /*T*/ 0, 0}, {}};
  const auto codes = data::encode_bases("ACACNAC");
  const auto m = filter_motifs(f, codes.data(), 1, 7, 0.5);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_DOUBLE_EQ(m[0].max_activation, 3);
  EXPECT_EQ(m[0].sites, 3);  // positions 0, 2 and 5; windows with the N never count
  EXPECT_DOUBLE_EQ(m[0].ppm[0][0], 1);
  EXPECT_DOUBLE_EQ(m[0].ppm[1][1], 1);
  EXPECT_THROW(filter_motifs(f, codes.data(), 1, 7, 1.5), Error);
  ConvFilters bad{1, 2, {1, 2, 3}, {}};
  EXPECT_THROW(filter_motifs(bad, codes.data(), 1, 7), Error);
}

}  // namespace
}  // namespace strand::interpret
