// Persistent recurrent kernels for LSTM/GRU, forward and backward: one cooperative launch runs all
// T steps of both directions of a layer. Each block owns a slice of hidden units and keeps those
// units' rows of W_hh (all gates) in shared memory for the whole sequence; per step it reads
// h_{s-1} of every sample (L2), computes its units' gate products, applies the fused cell update,
// writes h_s, and the grid meets at one grid-wide barrier.
#include <cooperative_groups.h>
#include <cuda_bf16.h>

#include <algorithm>

#include "kernels/rnn/rnn_cuda_internal.h"
#include "kernels/rnn/rnn_persistent_tiling.h"

namespace strand::kernels::cuda::rnn_internal {
namespace {

namespace cg = cooperative_groups;

constexpr int kThreads = 512;

__device__ __forceinline__ float weight_value(float v) { return v; }
__device__ __forceinline__ float weight_value(uint16_t bits) {
  return __bfloat162float(__ushort_as_bfloat16(bits));
}

constexpr size_t align16(size_t bytes) { return (bytes + 15) / 16 * 16; }

// Shared memory: W slice [G][slice][H] (weight type), then an h tile [n_tile][H+1] fp32. The +1
// pad makes lanes that read the same k of consecutive samples hit distinct banks.
// Work item = (unit jl, sample group grp); the group's samples are grp + b*ngrp, b < NB, so
// consecutive lanes read consecutive padded rows.
template <typename W, int G, int NB>
__global__ void __launch_bounds__(kThreads, 1)
    persistent_forward_kernel(PersistentLayer<W> a, int T, int N, int H, int blocks_per_dir,
                              int slice, int n_tile) {
  extern __shared__ __align__(16) unsigned char smem[];
  // The host makes every block own at least one unit (rnn_persistent_tiling.h).
  const detail::PersistentBlock pb = detail::persistent_block(blockIdx.x, blocks_per_dir, slice, H);
  const int dir = pb.dir, j0 = pb.j0, js = pb.js;
  W* w_s = reinterpret_cast<W*>(smem);
  float* h_s = reinterpret_cast<float*>(smem + align16(sizeof(W) * G * slice * H));
  const int P = H + 1;

  const W* w_g = a.w_hh[dir];
  for (int idx = threadIdx.x; idx < G * js * H; idx += blockDim.x) {
    const int g = idx / (js * H), rem = idx - g * js * H, jl = rem / H, k = rem - jl * H;
    w_s[(g * slice + jl) * H + k] = w_g[static_cast<size_t>(g * H + j0 + jl) * H + k];
  }
  const detail::RnnDirBuffers<float> b = a.bufs[dir];
  const detail::RnnDims dims = a.dims[dir];
  const size_t NH = static_cast<size_t>(N) * H;
  cg::grid_group grid = cg::this_grid();

  for (int s = 0; s < T; ++s) {
    const float* h_prev = b.hs + s * NH;
    for (int n0 = 0; n0 < N; n0 += n_tile) {
      const int nt = min(n_tile, N - n0);
      __syncthreads();  // the previous tile's (or the weight load's) readers are done
      for (int idx = threadIdx.x; idx < nt * H; idx += blockDim.x) {
        const int nl = idx / H, k = idx - nl * H;
        // Written by other blocks during the previous step: bypass L1, which is not coherent.
        h_s[nl * P + k] = __ldcg(h_prev + static_cast<size_t>(n0 + nl) * H + k);
      }
      __syncthreads();
      const int ngrp = detail::persistent_groups(nt, NB);
      for (int item = threadIdx.x; item < js * ngrp; item += blockDim.x) {
        const int jl = detail::persistent_item_unit(item, ngrp);
        const int grp = detail::persistent_item_group(item, ngrp);
        float acc[NB][G];
        int rows[NB];
#pragma unroll
        for (int bb = 0; bb < NB; ++bb) {
          // Out-of-tile samples: computed, unused.
          rows[bb] = min(detail::persistent_sample(grp, bb, ngrp), nt - 1) * P;
#pragma unroll
          for (int g = 0; g < G; ++g) acc[bb][g] = 0.f;
        }
        const W* wr = w_s + jl * H;
#pragma unroll 4
        for (int k = 0; k < H; ++k) {
          float wv[G];
#pragma unroll
          for (int g = 0; g < G; ++g) wv[g] = weight_value(wr[g * slice * H + k]);
#pragma unroll
          for (int bb = 0; bb < NB; ++bb) {
            const float hv = h_s[rows[bb] + k];
#pragma unroll
            for (int g = 0; g < G; ++g) acc[bb][g] = fmaf(wv[g], hv, acc[bb][g]);
          }
        }
#pragma unroll
        for (int bb = 0; bb < NB; ++bb) {
          const int nl = detail::persistent_sample(grp, bb, ngrp);
          if (nl >= nt) continue;
          const int n = n0 + nl, j = j0 + jl;
          float hh[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
          for (int g = 0; g < G; ++g) hh[g] = acc[bb][g];
          detail::rnn_forward_unit(b, dims, s, n, j, a.lengths[n], hh, h_s[nl * P + j]);
        }
      }
    }
    // h_s of every unit is written; the next step reads all of them.
    grid.sync();
  }
}

// Backward through time, same ownership: a block owns hidden units [j0, j0+js) and keeps the
// matching columns of W_hh (all G*H rows) on chip, transposed to [slice][G*H]. Per step s (from
// T-1 down) it reads dgh of step s+1 for every sample (written by all blocks one step earlier),
// forms dh_rec = (dgh W_hh)[n][j] for its units, and runs the fused cell backward, which writes
// dgh of step s for its units. One grid barrier per step.
template <typename W, int G, int NB>
__global__ void __launch_bounds__(kThreads, 1)
    persistent_backward_kernel(PersistentBackwardLayer<W> a, int T, int N, int H,
                               int blocks_per_dir, int slice, int n_tile) {
  extern __shared__ __align__(16) unsigned char smem[];
  const detail::PersistentBlock pb = detail::persistent_block(blockIdx.x, blocks_per_dir, slice, H);
  const int dir = pb.dir, j0 = pb.j0, js = pb.js;
  const int GH = G * H, P = GH + 1;
  W* w_s = reinterpret_cast<W*>(smem);
  float* g_s = reinterpret_cast<float*>(smem + align16(sizeof(W) * slice * GH));

  const W* w_g = a.w_hh[dir];
  for (int idx = threadIdx.x; idx < js * GH; idx += blockDim.x) {
    const int jl = idx / GH, r = idx - jl * GH;
    w_s[jl * GH + r] = w_g[static_cast<size_t>(r) * H + j0 + jl];
  }
  const detail::RnnDirBuffers<float> b = a.bufs[dir];
  const detail::RnnDims dims = a.dims[dir];
  const size_t NH = static_cast<size_t>(N) * H;
  float* dh_carry = a.dh_carry + dir * NH;
  float* dc_carry = a.dc_carry + dir * NH;
  const float* dy = a.dy + dir * H;
  float* dgx = a.dgx[dir];
  float* dgh = a.dgh[dir];
  cg::grid_group grid = cg::this_grid();

  for (int s = T - 1; s >= 0; --s) {
    // Step s+1 wrote dgh for every (sample, unit), active or not (zeros past the length).
    const bool rec = s + 1 < T;
    for (int n0 = 0; n0 < N; n0 += n_tile) {
      const int nt = min(n_tile, N - n0);
      __syncthreads();
      if (rec) {
        const float* src = dgh + (static_cast<size_t>(s + 1) * N + n0) * GH;
        for (int idx = threadIdx.x; idx < nt * GH; idx += blockDim.x) {
          const int nl = idx / GH, r = idx - nl * GH;
          g_s[nl * P + r] = __ldcg(src + static_cast<size_t>(nl) * GH + r);
        }
      }
      __syncthreads();
      const int ngrp = detail::persistent_groups(nt, NB);
      for (int item = threadIdx.x; item < js * ngrp; item += blockDim.x) {
        const int jl = detail::persistent_item_unit(item, ngrp);
        const int grp = detail::persistent_item_group(item, ngrp);
        float acc[NB];
        int rows[NB];
#pragma unroll
        for (int bb = 0; bb < NB; ++bb) {
          rows[bb] = min(detail::persistent_sample(grp, bb, ngrp), nt - 1) * P;
          acc[bb] = 0.f;
        }
        if (rec) {
          const W* wr = w_s + jl * GH;
#pragma unroll 4
          for (int r = 0; r < GH; ++r) {
            const float wv = weight_value(wr[r]);
#pragma unroll
            for (int bb = 0; bb < NB; ++bb) acc[bb] = fmaf(wv, g_s[rows[bb] + r], acc[bb]);
          }
        }
#pragma unroll
        for (int bb = 0; bb < NB; ++bb) {
          const int nl = detail::persistent_sample(grp, bb, ngrp);
          if (nl >= nt) continue;
          const int n = n0 + nl;
          detail::rnn_backward_unit(b, dims, s, n, j0 + jl, a.lengths[n], acc[bb], dh_carry,
                                    dc_carry, dy, dgx, dgh);
        }
      }
    }
    grid.sync();
  }
}

struct Config {
  int blocks_per_dir = 0, slice = 0, n_tile = 0, nb = 1;
  size_t smem = 0;
  const void* kernel = nullptr;
};

template <typename W>
const void* kernel_for(bool backward, int gates, int nb) {
  if (backward)  // one sample per item: its tiles are too small for 4-sample register tiles
    return gates == 4 ? reinterpret_cast<const void*>(&persistent_backward_kernel<W, 4, 1>)
                      : reinterpret_cast<const void*>(&persistent_backward_kernel<W, 3, 1>);
  if (gates == 4)
    return nb == 4 ? reinterpret_cast<const void*>(&persistent_forward_kernel<W, 4, 4>)
                   : reinterpret_cast<const void*>(&persistent_forward_kernel<W, 4, 1>);
  return nb == 4 ? reinterpret_cast<const void*>(&persistent_forward_kernel<W, 3, 4>)
                 : reinterpret_cast<const void*>(&persistent_forward_kernel<W, 3, 1>);
}

// The launch shape for this problem, or kernel == nullptr when W_hh does not fit on chip or the
// grid cannot be co-resident (then the caller uses the per-step GEMM path).
Config configure(const Context& ctx, const RnnShape& s, size_t weight_bytes, bool backward) {
  Config c;
  int sms = 0, coop = 0, max_smem = 0;
  STRAND_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, ctx.device));
  STRAND_CUDA_CHECK(cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, ctx.device));
  STRAND_CUDA_CHECK(
      cudaDeviceGetAttribute(&max_smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, ctx.device));
  if (!coop) return c;
  const detail::PersistentTiling t =
      detail::persistent_tiling(s, weight_bytes, backward, sms, max_smem);
  if (!t.fits) return c;
  c.blocks_per_dir = t.blocks_per_dir;
  c.slice = t.slice;
  c.n_tile = t.n_tile;
  c.smem = t.smem;
  c.nb = t.nb;
  const int D = static_cast<int>(s.dirs()), G = static_cast<int>(s.gates());
  const void* kernel = weight_bytes == 2 ? kernel_for<uint16_t>(backward, G, c.nb)
                                         : kernel_for<float>(backward, G, c.nb);
  STRAND_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(c.smem)));
  int per_sm = 0;
  STRAND_CUDA_CHECK(
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, c.smem));
  // A grid barrier with blocks that cannot all be resident deadlocks: require co-residency.
  if (per_sm < 1 || per_sm * sms < D * c.blocks_per_dir) return c;
  c.kernel = kernel;
  return c;
}

template <typename Layer>
void launch(const Context& ctx, const RnnShape& s, const Layer& layer, size_t weight_bytes,
            bool backward) {
  const Config c = configure(ctx, s, weight_bytes, backward);
  STRAND_CHECK(c.kernel != nullptr,
               "RNN persistent {} kernel cannot run hidden {} batch {} on this device (W_hh "
               "slice does not fit on chip or the grid is not co-resident)",
               backward ? "backward" : "forward", s.hidden_size, s.batch);
  Layer a = layer;
  int T = static_cast<int>(s.seq_len), N = static_cast<int>(s.batch),
      H = static_cast<int>(s.hidden_size), bpd = c.blocks_per_dir, slice = c.slice,
      n_tile = c.n_tile;
  void* args[] = {&a, &T, &N, &H, &bpd, &slice, &n_tile};
  STRAND_CUDA_CHECK(cudaLaunchCooperativeKernel(c.kernel, dim3(s.dirs() * bpd), dim3(kThreads),
                                                args, c.smem, ctx.stream));
  STRAND_CUDA_CHECK_LAUNCH(backward ? "rnn persistent_backward_kernel"
                                    : "rnn persistent_forward_kernel");
}

}  // namespace

bool persistent_fits(const Context& ctx, const RnnShape& shape, size_t weight_bytes,
                     bool backward) {
  return configure(ctx, shape, weight_bytes, backward).kernel != nullptr;
}

void persistent_forward_f32(const Context& ctx, const RnnShape& shape,
                            const PersistentLayer<float>& layer) {
  launch(ctx, shape, layer, sizeof(float), false);
}
void persistent_forward_bf16(const Context& ctx, const RnnShape& shape,
                             const PersistentLayer<uint16_t>& layer) {
  launch(ctx, shape, layer, sizeof(uint16_t), false);
}
void persistent_backward_f32(const Context& ctx, const RnnShape& shape,
                             const PersistentBackwardLayer<float>& layer) {
  launch(ctx, shape, layer, sizeof(float), true);
}
void persistent_backward_bf16(const Context& ctx, const RnnShape& shape,
                              const PersistentBackwardLayer<uint16_t>& layer) {
  launch(ctx, shape, layer, sizeof(uint16_t), true);
}

}  // namespace strand::kernels::cuda::rnn_internal
