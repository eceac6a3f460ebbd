// The index maps of the Hopper (sm_90a) conv1d kernel, written once for the kernel
// (conv1d_sm90_kernel.cuh) and its host emulation (conv1d_sm90_emulate.cpp): tile sizes, which
// shapes it runs, the TMA tensor maps (dims, strides, boxes), each K step's box coordinates (the
// tap shift and padding are negative or too-large coordinates the copy engine fills with zeros),
// the pipeline's stage/phase order, the grid, and the epilogue's pooling windows and
// batch-norm partial sums. Plain C++ plus STRAND_HD, so CPU tests check what the kernel runs.
//
// Every pass is one GEMM C[m][n] = sum_k A[m][k] * B[n][k] with both operands K-major (tf32
// wgmma reads only K-major operands), read through 3-d TMA maps (inner dim first):
//   forward form (forward, and backward-data as a forward conv with flipped weights):
//     A = weights [tap][m][kc] (map dims kc, m, taps), B = input channels-last [batch][lin][kc]
//     (map dims kc, lin, batch); K step (tap t, channel tile c): A box (c*tk, m0, t), B box
//     (c*tk, l0 + shift + t*dil, n). Output [batch][m][lout] (or its max-pooled positions).
//   weight-gradient form: A = dy [batch][m = C_out][lout], B = x [batch][n = C_in][lin], both
//     as stored (NCL, positions contiguous); K step (sample, position tile p): A box (p*tk, m0,
//     sample), B box (p*tk + shift + t*dil, n0, sample); tap t and a split of the reduction
//     from blockIdx.z; fp32 partial sums added into ws [m][n][taps]. Rows whose length is not a
//     multiple of 16 bytes are read from pitched copies (lin_pitch, lout_pitch).
#pragma once

#include <cstdint>

#include "kernels/common/hd.h"

namespace strand::kernels::cuda::detail::sm90 {

constexpr int kTileM = 128;       // rows of C per block (two consumer warpgroups of 64)
constexpr int kTileN = 128;       // columns of C per block
constexpr int kTileKBytes = 128;  // K per stage: one 128-byte swizzle row (64 bf16, 32 tf32)
constexpr int kStages = 4;        // shared-memory pipeline depth
constexpr int kConsumerWarpgroups = 2;
constexpr int kThreads = 128 * (1 + kConsumerWarpgroups);  // warpgroup 0 is the TMA producer
constexpr int kEpiPitch = kTileN + 4;  // floats per row of the epilogue's C tile (bank spread)
// Each consumer warp's lane 0 arrives on a stage's "empty" barrier once its wgmmas are done.
constexpr int kEmptyArrivals = kConsumerWarpgroups * 4;

enum Form : int { kForwardForm = 0, kWeightGradForm = 1 };

struct Box {
  int c0, c1, c2;  // start coordinates, inner dim first (may be negative or past the end)
};

// A 3-d TMA tensor map as the host encodes it (cuTensorMapEncodeTiled).
struct MapDesc {
  int64_t dims[3];           // elements, inner first
  int64_t strides_bytes[2];  // of dims 1 and 2 (dim 0 is contiguous)
  int box[3];                // box extent per dim
};

struct Geom {
  int form = kForwardForm;
  int elem_bytes = 2;  // 2 (bf16) or 4 (tf32 on fp32 bits)
  int tk = 64;         // K elements per stage
  int m = 0, n = 0;    // C extent: forward form n = output positions (lout)
  int kc = 0;          // forward form: padded channel count (inner dim of both maps)
  int lin = 0, lout = 0, batch = 0, taps = 1, dil = 1;
  int shift = 0;        // input position read by tap 0 for output position 0 (-pad_left)
  int pool = 1;         // forward form: max-pool window = stride (1: none)
  int l_step = kTileN;  // forward form: output positions per block (a multiple of pool)
  int k_tiles = 0;      // K steps of the whole reduction (per tap for the weight gradient)
  int k_per_split = 0;  // weight gradient: K steps per block
  int splits = 1;       // weight gradient: blocks along the reduction, per tap
  // Weight gradient: elements per row of the x and dy copies the maps read (lin, lout rounded up
  // to 16 bytes; equal to them when already aligned, and the tensors are then read in place).
  int lin_pitch = 0, lout_pitch = 0;
};

STRAND_HD int ceil_div(int a, int b) { return (a + b - 1) / b; }
STRAND_HD int tile_k(int elem_bytes) { return kTileKBytes / elem_bytes; }
STRAND_HD int channel_tiles(const Geom& g) { return ceil_div(g.kc, g.tk); }
STRAND_HD int pooled_length(const Geom& g) { return g.pool > 1 ? g.lout / g.pool : g.lout; }

// Channels (or a row's positions) padded so every TMA row stride is a multiple of 16 bytes.
STRAND_HD int padded_channels(int c, int elem_bytes) {
  const int q = 16 / elem_bytes;
  return ceil_div(c, q) * q;
}

// Forward form. m: output channels; c: input channels (padded to kc); the input has lin
// positions and the output lout.
inline Geom forward_geom(int m, int c, int lin, int lout, int batch, int taps, int dil, int shift,
                         int pool, int elem_bytes) {
  Geom g;
  g.form = kForwardForm;
  g.elem_bytes = elem_bytes;
  g.tk = tile_k(elem_bytes);
  g.m = m;
  g.n = lout;
  g.kc = padded_channels(c, elem_bytes);
  g.lin = lin;
  g.lout = lout;
  g.batch = batch;
  g.taps = taps;
  g.dil = dil;
  g.shift = shift;
  g.pool = pool;
  g.l_step = kTileN - kTileN % pool;  // pooling windows never straddle two blocks
  g.k_tiles = taps * channel_tiles(g);
  g.k_per_split = g.k_tiles;
  return g;
}

// Weight-gradient form: enough reduction splits that the grid covers about two waves of
// sm_count SMs, each split at least four K steps.
inline Geom weight_grad_geom(int cout, int cin, int lin, int lout, int batch, int taps, int dil,
                             int shift, int elem_bytes, int sm_count) {
  Geom g;
  g.form = kWeightGradForm;
  g.elem_bytes = elem_bytes;
  g.tk = tile_k(elem_bytes);
  g.m = cout;
  g.n = cin;
  g.lin = lin;
  g.lout = lout;
  g.batch = batch;
  g.taps = taps;
  g.dil = dil;
  g.shift = shift;
  g.lin_pitch = padded_channels(lin, elem_bytes);
  g.lout_pitch = padded_channels(lout, elem_bytes);
  g.k_tiles = batch * ceil_div(lout, g.tk);
  const int blocks = ceil_div(cout, kTileM) * ceil_div(cin, kTileN) * taps;
  int splits = ceil_div(2 * sm_count, blocks);
  const int most = ceil_div(g.k_tiles, 4);
  if (splits > most) splits = most;
  if (splits < 1) splits = 1;
  g.k_per_split = ceil_div(g.k_tiles, splits);
  g.splits = ceil_div(g.k_tiles, g.k_per_split);  // no empty split
  return g;
}

struct Grid {
  int x, y, z;
};
STRAND_HD Grid grid_of(const Geom& g) {
  if (g.form == kForwardForm) return {ceil_div(g.lout, g.l_step), ceil_div(g.m, kTileM), g.batch};
  return {ceil_div(g.n, kTileN), ceil_div(g.m, kTileM), g.taps * g.splits};
}

// The maps' dims, strides and boxes (both boxes are tk x 128 x 1).
inline MapDesc map_a(const Geom& g) {
  const int64_t e = g.elem_bytes;
  if (g.form == kForwardForm) {
    return {{g.kc, g.m, g.taps}, {g.kc * e, int64_t{g.kc} * g.m * e}, {g.tk, kTileM, 1}};
  }
  return {{g.lout, g.m, g.batch},
          {g.lout_pitch * e, int64_t{g.lout_pitch} * g.m * e},
          {g.tk, kTileM, 1}};
}
inline MapDesc map_b(const Geom& g) {
  const int64_t e = g.elem_bytes;
  if (g.form == kForwardForm) {
    return {{g.kc, g.lin, g.batch}, {g.kc * e, int64_t{g.kc} * g.lin * e}, {g.tk, kTileN, 1}};
  }
  return {
      {g.lin, g.n, g.batch}, {g.lin_pitch * e, int64_t{g.lin_pitch} * g.n * e}, {g.tk, kTileN, 1}};
}
// Bytes one stage's two boxes deliver (the producer's expect_tx; zero-filled bytes count too).
STRAND_HD int stage_bytes(const Geom& g) { return (kTileM + kTileN) * g.tk * g.elem_bytes; }

// K steps block (.., .., bz) runs.
STRAND_HD int block_k_tiles(const Geom& g, int bz) {
  if (g.form == kForwardForm) return g.k_tiles;
  const int split = bz / g.taps;
  const int left = g.k_tiles - split * g.k_per_split;
  return left < g.k_per_split ? left : g.k_per_split;
}

// The two boxes of K step `it` of block (bx, by, bz).
STRAND_HD void k_step_boxes(const Geom& g, int bx, int by, int bz, int it, Box* a, Box* b) {
  if (g.form == kForwardForm) {
    const int ct = channel_tiles(g);
    const int t = it / ct, c = (it % ct) * g.tk;
    *a = {c, by * kTileM, t};
    *b = {c, bx * g.l_step + g.shift + t * g.dil, bz};
    return;
  }
  const int t = bz % g.taps, split = bz / g.taps;
  const int lt = ceil_div(g.lout, g.tk);
  const int kk = split * g.k_per_split + it;
  const int sample = kk / lt, p = (kk % lt) * g.tk;
  *a = {p, by * kTileM, sample};
  *b = {p + g.shift + t * g.dil, bx * kTileN, sample};
}

// Pipeline order: K step `it` uses stage it % kStages; the consumers wait for that stage's
// "full" barrier phase (it / kStages) & 1, the producer for its "empty" barrier's phase before
// (parity flipped: the first round passes at once).
STRAND_HD int stage_of(int it) { return it % kStages; }
STRAND_HD int full_parity(int it) { return (it / kStages) & 1; }
STRAND_HD int empty_parity(int it) { return full_parity(it) ^ 1; }

// Forward-form epilogue: consumer thread `tid` (0..127) of warpgroup `wg` (0, 1) owns rows
// wg*64 .. wg*64+63 of the C tile. Output item `idx` (tid, tid+128, ...) below 64*cols is
// (row, pooled column); its pool window reads tile columns col*pool .. col*pool+pool-1.
STRAND_HD int epi_cols(const Geom& g) { return g.l_step / g.pool; }
STRAND_HD int epi_items(const Geom& g) { return 64 * epi_cols(g); }
struct EpiItem {
  int row;   // tile row (0..127)
  int col;   // pooled tile column
  int chan;  // output channel (m)
  int pos;   // pooled output position
  bool valid;
};
STRAND_HD EpiItem epi_item(const Geom& g, int bx, int by, int wg, int idx) {
  const int cols = epi_cols(g);
  EpiItem e;
  e.row = wg * 64 + idx / cols;
  e.col = idx % cols;
  e.chan = by * kTileM + e.row;
  e.pos = bx * (g.l_step / g.pool) + e.col;
  e.valid = e.chan < g.m && e.pos < pooled_length(g);
  return e;
}
// Batch-norm statistics: thread tid sums half a row (tile columns half*64 .. half*64+63 that
// hold real output positions); the pair (tid, tid ^ 1) then adds its two halves, half 0 first.
STRAND_HD int stat_row(int wg, int tid) { return wg * 64 + tid / 2; }
STRAND_HD int stat_half(int tid) { return tid % 2; }
STRAND_HD bool stat_col_valid(const Geom& g, int bx, int col) {
  return col < g.l_step && bx * g.l_step + col < g.lout;
}

// The tap-major weights [taps][rows][kc] the forward form reads: element (t, r, c), c below the
// real channel count, is w[o][i][k] of the PyTorch weights [C_out][C_in][K]: forward r = o, c = i,
// k = t; backward-data (flip) r = i, c = o, k = K-1-t. Channels c >= the real count are zero.
STRAND_HD int64_t tap_major_source(bool flip, int t, int r, int c, int cin, int taps) {
  return flip ? (int64_t{c} * cin + r) * taps + (taps - 1 - t) : (int64_t{r} * cin + c) * taps + t;
}
// The channels-last copy [batch][len][kc] the forward form reads: element (b, l, c), c below the
// real count, is src[(b*channels + c)*len + l] of the NCL tensor.
STRAND_HD int64_t channels_last_source(int b, int l, int c, int channels, int len) {
  return (int64_t{b} * channels + c) * len + l;
}

// Weight-gradient epilogue: item idx (tid, tid+128, ...) below 64*128 adds tile element
// (wg*64 + idx/128, idx%128) into ws[(co*n + ci)*taps + t].
constexpr int kWgradItems = 64 * kTileN;

}  // namespace strand::kernels::cuda::detail::sm90
