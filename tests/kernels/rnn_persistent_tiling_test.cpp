// The persistent RNN kernels' tiling, emulated without a GPU: every block, sample tile and work
// item the kernels would run, through the same mapping functions (rnn_persistent_tiling.h). Each
// (direction, sample, hidden unit) must be computed exactly once per step, every shared-memory
// index must stay inside what the launch reserves, and the reservation must fit the device.
#include "kernels/rnn/rnn_persistent_tiling.h"

#include <gtest/gtest.h>

#include <vector>

namespace strand::kernels::detail {
namespace {

constexpr int kH100Sms = 132;
constexpr int kH100MaxSmem = 232448;  // opt-in shared memory per block, sm_90
constexpr int kThreads = 512;         // rnn_persistent.cu's block size

RnnShape shape(RnnMode mode, int64_t batch, int64_t hidden, bool bidirectional) {
  RnnShape s;
  s.mode = mode;
  s.seq_len = 3;
  s.batch = batch;
  s.input_size = hidden;
  s.hidden_size = hidden;
  s.bidirectional = bidirectional;
  return s;
}

// Runs one step's loops of the kernel (blocks, sample tiles, strided work items, register-tile
// samples) and counts how often each (dir, n, j) is computed; checks shared-memory bounds.
void emulate_step(const RnnShape& s, size_t weight_bytes, bool backward, int sms, int max_smem) {
  const PersistentTiling t = persistent_tiling(s, weight_bytes, backward, sms, max_smem);
  const int D = static_cast<int>(s.dirs()), H = static_cast<int>(s.hidden_size),
            G = static_cast<int>(s.gates()), N = static_cast<int>(s.batch);
  SCOPED_TRACE(testing::Message() << "D " << D << " G " << G << " N " << N << " H " << H
                                  << " weight bytes " << weight_bytes << " backward " << backward
                                  << " sms " << sms);
  ASSERT_TRUE(t.fits);
  EXPECT_LE(t.smem, static_cast<size_t>(max_smem));
  EXPECT_LE(D * t.blocks_per_dir, sms) << "more blocks than SMs: not co-resident at one per SM";
  EXPECT_GE(t.n_tile, 1);
  EXPECT_TRUE(t.nb == 1 || (t.nb == 4 && !backward));
  const int P = (backward ? G * H : H) + 1;  // the kernels' padded tile row, in floats
  EXPECT_EQ(t.row_bytes, P * sizeof(float));
  EXPECT_GE(t.w_bytes, weight_bytes * G * t.slice * H);

  std::vector<int> computed(static_cast<size_t>(D) * N * H, 0);
  for (int block = 0; block < D * t.blocks_per_dir; ++block) {
    const PersistentBlock pb = persistent_block(block, t.blocks_per_dir, t.slice, H);
    ASSERT_GE(pb.js, 1) << "block " << block << " owns no unit";
    ASSERT_LE(pb.j0 + pb.js, H);
    // The W_hh slice load: every (gate, unit, k) index inside the reserved slice.
    EXPECT_LE(static_cast<size_t>(((G - 1) * t.slice + pb.js - 1) * H + H) * weight_bytes,
              t.w_bytes);
    for (int n0 = 0; n0 < N; n0 += t.n_tile) {
      const int nt = std::min(t.n_tile, N - n0);
      EXPECT_LE(static_cast<size_t>(nt) * t.row_bytes + t.w_bytes, t.smem);
      const int ngrp = persistent_groups(nt, t.nb);
      for (int thread = 0; thread < kThreads; ++thread) {
        for (int item = thread; item < pb.js * ngrp; item += kThreads) {
          const int jl = persistent_item_unit(item, ngrp), grp = persistent_item_group(item, ngrp);
          ASSERT_LT(jl, pb.js);
          for (int bb = 0; bb < t.nb; ++bb) {
            const int row = std::min(persistent_sample(grp, bb, ngrp), nt - 1);
            ASSERT_LE((row + 1) * P, nt * P) << "tile row read past the tile";
            const int nl = persistent_sample(grp, bb, ngrp);
            if (nl >= nt) continue;
            ++computed[(static_cast<size_t>(pb.dir) * N + n0 + nl) * H + pb.j0 + jl];
          }
        }
      }
    }
  }
  for (size_t i = 0; i < computed.size(); ++i) {
    ASSERT_EQ(computed[i], 1) << "(dir, n, j) = (" << i / (N * H) << ", " << i / H % N << ", "
                              << i % H << ") computed " << computed[i] << " times";
  }
}

TEST(RnnPersistentTiling, EveryUnitOfEverySampleExactlyOncePerStep) {
  for (bool backward : {false, true}) {
    for (size_t weight_bytes : {size_t{4}, size_t{2}}) {
      emulate_step(shape(RnnMode::kLstm, 64, 320, true), weight_bytes, backward, kH100Sms,
                   kH100MaxSmem);  // DanQ
      emulate_step(shape(RnnMode::kLstm, 100, 320, true), weight_bytes, backward, kH100Sms,
                   kH100MaxSmem);
      emulate_step(shape(RnnMode::kGru, 37, 129, false), weight_bytes, backward, kH100Sms,
                   kH100MaxSmem);  // odd sizes: a short last slice, a partial register tile
      emulate_step(shape(RnnMode::kLstm, 256, 128, false), weight_bytes, backward, kH100Sms,
                   kH100MaxSmem);
      emulate_step(shape(RnnMode::kLstm, 5, 64, true), weight_bytes, backward, 7, 48 * 1024);
    }
  }
  // Several sample tiles: a large batch on a device with little shared memory.
  emulate_step(shape(RnnMode::kLstm, 300, 96, false), 4, false, 16, 64 * 1024);
  emulate_step(shape(RnnMode::kLstm, 300, 96, false), 4, true, 16, 64 * 1024);
}

TEST(RnnPersistentTiling, RefusesWhatCannotFitOnChip) {
  // H = 1024 LSTM, f32, on 8 SMs: a block's W_hh slice (4 x 128 x 1024 floats) exceeds 227 KiB.
  EXPECT_FALSE(
      persistent_tiling(shape(RnnMode::kLstm, 64, 1024, false), 4, false, 8, kH100MaxSmem).fits);
  // Fewer SMs than directions: no block per direction.
  EXPECT_FALSE(
      persistent_tiling(shape(RnnMode::kLstm, 4, 32, true), 4, false, 1, kH100MaxSmem).fits);
}

}  // namespace
}  // namespace strand::kernels::detail
