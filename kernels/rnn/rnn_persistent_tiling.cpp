// See rnn_persistent_tiling.h. Plain C++: the launcher (rnn_persistent.cu) and CPU tests share it.
#include "kernels/rnn/rnn_persistent_tiling.h"

#include <algorithm>

namespace strand::kernels::detail {
namespace {
constexpr size_t align16(size_t bytes) { return (bytes + 15) / 16 * 16; }
}  // namespace

PersistentTiling persistent_tiling(const RnnShape& s, size_t weight_bytes, bool backward, int sms,
                                   int max_smem) {
  PersistentTiling c;
  const int D = static_cast<int>(s.dirs()), H = static_cast<int>(s.hidden_size);
  const int G = static_cast<int>(s.gates()), N = static_cast<int>(s.batch);
  if (sms < D) return c;
  const int want = std::max(1, sms / D);
  c.slice = (H + want - 1) / want;
  c.blocks_per_dir = (H + c.slice - 1) / c.slice;  // no block without units
  c.w_bytes = align16(weight_bytes * G * c.slice * H);
  // The per-sample tile row: h_{s-1} (forward) or dgh of step s+1 (backward), padded by one.
  c.row_bytes = static_cast<size_t>((backward ? G * H : H) + 1) * sizeof(float);
  if (c.w_bytes + c.row_bytes > static_cast<size_t>(max_smem)) return c;
  c.n_tile = static_cast<int>(std::min<size_t>(N, (max_smem - c.w_bytes) / c.row_bytes));
  c.smem = c.w_bytes + c.row_bytes * c.n_tile;
  // Register tiles of 4 samples reuse each weight load 4 times; only worth it with enough items
  // to keep the block's threads busy.
  c.nb = !backward && c.slice * ((c.n_tile + 3) / 4) >= 128 ? 4 : 1;
  c.fits = true;
  return c;
}

ClusterTiling cluster_tiling(const RnnShape& s, size_t weight_bytes, bool backward, int sms,
                             int max_smem, int max_cluster) {
  ClusterTiling c;
  const int D = static_cast<int>(s.dirs()), H = static_cast<int>(s.hidden_size);
  const int G = static_cast<int>(s.gates()), N = static_cast<int>(s.batch);
  const bool bf16 = weight_bytes == 2;
  if (max_cluster < 1 || (weight_bytes != 2 && weight_bytes != 4)) return c;
  const int blocks = (H + kClusterUnits - 1) / kClusterUnits;
  c.unit_blocks = (blocks + max_cluster - 1) / max_cluster;
  c.cluster = (blocks + c.unit_blocks - 1) / c.unit_blocks;  // no CTA without units
  c.frag_gates = backward ? 1 : G;
  c.k_pad = ((backward ? G * H : H) + 15) / 16 * 16;
  c.k_step = bf16 ? 16 : 8;
  c.h_stride = c.k_pad + static_cast<int>(16 / weight_bytes);
  c.w_bytes =
      static_cast<size_t>(c.unit_blocks) * c.frag_gates * c.k_steps() * kClusterFragWords * 4;
  const size_t row = static_cast<size_t>(c.h_stride) * weight_bytes;  // per sample, per buffer
  if (c.w_bytes + 2 * row * kClusterSamples > static_cast<size_t>(max_smem)) return c;
  const int most = static_cast<int>((max_smem - c.w_bytes) / (2 * row)) / 8 * 8;
  int tile = std::min(most, (N + 7) / 8 * 8);
  auto tiles = [&](int t) { return (N + t - 1) / t; };
  for (;;) {
    const int half = (tile / 2 + 7) / 8 * 8;
    if (half >= tile || D * tiles(half) * c.cluster > sms) break;
    tile = half;
  }
  c.batch_tile = tile;
  c.batch_tiles = tiles(tile);
  c.h_bytes = row * tile;
  c.smem = c.w_bytes + 2 * c.h_bytes;
  c.fits = true;
  return c;
}

}  // namespace strand::kernels::detail
