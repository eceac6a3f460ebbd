// The persistent RNN kernels' tiling, shared by the kernels and plain C++ so CPU tests emulate it.
// Grid-barrier kernels (rnn_persistent.cu): which block owns which hidden units, how a block's
// samples are tiled through shared memory, and which (unit, samples) each work item computes.
// Cluster kernel (rnn_cluster.cu): which cluster owns which samples, which CTA owns which 16-unit
// blocks, the tensor-core fragment maps (which lane holds which element of A, B, C) and the
// shared-memory layouts of the W_hh fragments and the exchanged h. A unit computed twice or
// never, a wrong fragment map, or a shared-memory index past its buffer is found without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/common/mma_sync.cuh"
#include "kernels/rnn/rnn_detail.h"

namespace strand::kernels::detail {

struct PersistentTiling {
  int blocks_per_dir =
      0;  // blocks per direction, each owning `slice` hidden units (the last fewer)
  int slice = 0;
  int n_tile = 0;        // samples per shared-memory tile
  int nb = 1;            // samples per work item (register tile: 1 or 4)
  size_t w_bytes = 0;    // shared memory of the W_hh slice, 16-byte aligned
  size_t row_bytes = 0;  // shared memory of one sample's padded tile row
  size_t smem = 0;       // w_bytes + n_tile * row_bytes
  bool fits = false;     // false: W_hh's slice and one tile row do not fit on chip
};

// The tiling for `sms` multiprocessors and `max_smem` bytes of opt-in shared memory per block (as
// the device reports them). weight_bytes: 4 (f32) or 2 (bf16 bits). Co-residency (one block per
// SM at this shared memory) is the launcher's check.
PersistentTiling persistent_tiling(const RnnShape& s, size_t weight_bytes, bool backward, int sms,
                                   int max_smem);

// Block `block`'s direction and hidden units [j0, j0 + js).
struct PersistentBlock {
  int dir, j0, js;
};
STRAND_RNN_HD PersistentBlock persistent_block(int block, int blocks_per_dir, int slice, int H) {
  const int j0 = (block % blocks_per_dir) * slice;
  const int rest = H - j0;
  return {block / blocks_per_dir, j0, slice < rest ? slice : rest};
}

// A tile of nt samples is split into ngrp = ceil(nt / nb) groups; work item `item` computes unit
// jl of the block for the samples grp + bb * ngrp (bb < nb) that are below nt.
STRAND_RNN_HD int persistent_groups(int nt, int nb) { return (nt + nb - 1) / nb; }
STRAND_RNN_HD int persistent_item_unit(int item, int ngrp) { return item / ngrp; }
STRAND_RNN_HD int persistent_item_group(int item, int ngrp) { return item % ngrp; }
STRAND_RNN_HD int persistent_sample(int grp, int bb, int ngrp) { return grp + bb * ngrp; }

// ---- Cluster kernel --------------------------------------------------------------------------
// Per direction, clusters of `cluster` CTAs each run all T steps for `batch_tile` samples. Gate
// rows are grouped in blocks of 16 hidden units; CTA `rank` owns unit blocks [rank*unit_blocks,
// (rank+1)*unit_blocks) of every gate, with their W_hh rows resident in shared memory in mma
// fragment order for the whole sequence. Per step each warp item (unit block, 8-sample n-tile)
// forms gates[16 units][8 samples] = W_hh[rows][k] h[n][k] with one mma per gate and k-step (A = W
// rows, B = h as a k x n column-major tile, C in fp32), runs the cell update for the 4 (unit,
// sample) pairs its lane holds in C, and stores each new h into h buffer (s+1)%2 of every CTA of
// the cluster (distributed shared memory); one cluster barrier per step. Backward has the same
// ownership over W_hh^T: A = W_hh[r][j] (one fragment "gate", k = r over all G*H gate rows), B =
// dgh of step s+1 exchanged as [sample][G*H], C = the recurrent part of dh for 16 units x 8
// samples, then the cell backward and the exchange of the unit's G gate gradients. The precision is
// the weight type's: bf16 (mma m16n8k16, h rounded to bf16 in the exchange) or f32 (3xTF32 mma
// m16n8k8: each operand split into a tf32 high part and a tf32 remainder, three products).

constexpr int kClusterUnits = 16;       // hidden units per unit block (mma M)
constexpr int kClusterSamples = 8;      // samples per n-tile (mma N)
constexpr int kClusterWarps = 8;        // warps per CTA
constexpr int kClusterFragWords = 128;  // 32 lanes x 4 32-bit registers per A fragment

struct ClusterTiling {
  int cluster = 0;      // CTAs per cluster
  int unit_blocks = 0;  // 16-unit blocks per CTA (the last CTA's may run past H: zero rows)
  int frag_gates = 0;   // A fragments per (unit block, k-step): G forward, 1 backward
  int k_pad = 0;        // k extent (H forward, G*H backward) rounded up to 16, zero-padded
  int k_step = 0;       // k per mma: 16 (bf16) or 8 (tf32)
  int batch_tile = 0;   // samples per cluster, a multiple of 8 (padding samples are zero)
  int batch_tiles = 0;  // clusters per direction
  int h_stride = 0;     // elements per sample row of an exchange buffer (k_pad + 16 bytes: no
                        // bank conflicts)
  size_t w_bytes = 0;   // W_hh fragments of one CTA
  size_t h_bytes = 0;   // one h buffer (there are two)
  size_t smem = 0;      // w_bytes + 2 * h_bytes
  bool fits = false;    // false: W_hh does not fit on `max_cluster` CTAs with an 8-sample tile
  int clusters() const { return batch_tiles; }
  int k_steps() const { return k_pad / k_step; }
  int n_tiles() const { return batch_tile / kClusterSamples; }
  int items() const { return unit_blocks * n_tiles(); }  // warp work items per CTA per step
};

// The tiling for clusters of at most `max_cluster` CTAs (8 portable, 16 non-portable) with
// `max_smem` bytes each on `sms` multiprocessors; weight_bytes 2 (bf16) or 4 (f32). The batch
// tile shrinks while the clusters still fit on the chip at once (more SMs per step).
ClusterTiling cluster_tiling(const RnnShape& s, size_t weight_bytes, bool backward, int sms,
                             int max_smem, int max_cluster);

// Where a fragment element lives in its tile, per the PTX ISA's mma fragment layouts. Lane l is
// in group g = l / 4, thread t = l % 4 of that group. A register holds 2 bf16 (half 0 in the low
// 16 bits) or 1 tf32 (half 0 only).
struct MmaCoord {
  int row, col;
};
// A (16 x k_step, row major): bf16 m16n8k16 a0..a7 = regs 0..3 x halves; tf32 m16n8k8 a0..a3.
STRAND_RNN_HD MmaCoord mma_a_coord(bool bf16, int lane, int reg, int half) {
  const int g = lane >> 2, t = lane & 3;
  if (bf16) return {g + 8 * (reg & 1), 2 * t + half + 8 * (reg >> 1)};
  return {g + 8 * (reg & 1), t + 4 * (reg >> 1)};
}
// B (k_step x 8, column major), as (row = k, col = n): bf16 b0..b3 = regs 0..1 x halves; tf32
// b0, b1.
STRAND_RNN_HD MmaCoord mma_b_coord(bool bf16, int lane, int reg, int half) {
  const int g = lane >> 2, t = lane & 3;
  if (bf16) return {2 * t + half + 8 * reg, g};
  return {t + 4 * reg, g};
}
// C/D (16 x 8, fp32), c0..c3.
STRAND_RNN_HD MmaCoord mma_c_coord(int lane, int i) {
  return {(lane >> 2) + 8 * (i >> 1), 2 * (lane & 3) + (i & 1)};
}

// The 32-bit word of a CTA's W_hh fragments holding register `reg` of `lane` for (unit block ub,
// gate, k-step kk): fragment order, so a lane reads its 4 registers as one 16-byte load.
STRAND_RNN_HD int cluster_w_word(int ub, int gate, int kk, int lane, int reg, int gates,
                                 int k_steps) {
  return (((ub * gates + gate) * k_steps + kk) * 32 + lane) * 4 + reg;
}
// The hidden unit of row `row` (0..15) of CTA `rank`'s unit block ub; >= H in padding rows.
STRAND_RNN_HD int cluster_unit(int rank, int ub, int row, int unit_blocks) {
  return (rank * unit_blocks + ub) * kClusterUnits + row;
}
// Warp work item -> (unit block, n-tile); a warp takes items warp, warp + 8, ...
STRAND_RNN_HD int cluster_item_block(int item, int n_tiles) { return item / n_tiles; }
STRAND_RNN_HD int cluster_item_tile(int item, int n_tiles) { return item % n_tiles; }
// Element of h (sample nl of the cluster's tile, unit k) in an h buffer.
STRAND_RNN_HD int cluster_h_index(int nl, int k, int h_stride) { return nl * h_stride + k; }
// 3xTF32: x = big + small, both tf32 (10-bit mantissa, cvt.rna: nearest, ties away from zero).
STRAND_RNN_HD float tf32_round(float x) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(strand::kernels::cuda::to_tf32(x));
#else
  uint32_t bits;
  __builtin_memcpy(&bits, &x, 4);
  if ((bits & 0x7f800000u) != 0x7f800000u) bits = (bits + 0x1000u) & ~0x1fffu;  // not inf/nan
  float r;
  __builtin_memcpy(&r, &bits, 4);
  return r;
#endif
}
STRAND_RNN_HD void tf32_split(float x, float& big, float& small) {
  big = tf32_round(x);
  small = tf32_round(x - big);
}

// Cluster id (blockIdx.x / cluster) -> direction and first sample.
STRAND_RNN_HD int cluster_dir(int cluster_id, int batch_tiles) { return cluster_id / batch_tiles; }
STRAND_RNN_HD int cluster_first_sample(int cluster_id, int batch_tiles, int batch_tile) {
  return (cluster_id % batch_tiles) * batch_tile;
}

}  // namespace strand::kernels::detail
