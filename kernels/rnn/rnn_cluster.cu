// Cluster recurrences for LSTM/GRU, forward and backward, on Hopper (compute capability 9.0): per
// direction, each thread-block cluster runs all T steps for a tile of samples. Its CTAs split the
// hidden units (blocks of 16, all gates), keep their W_hh rows in shared memory in tensor-core
// fragment order for the whole sequence, form the recurrent product with mma.sync (bf16 m16n8k16,
// or 3xTF32 m16n8k8 for f32, fp32 accumulation), run the fused cell update on the accumulators, and
// store each new h into every CTA's shared memory (distributed shared memory); one cluster barrier
// per step replaces the grid-wide barrier of rnn_persistent.cu. Backward is the same structure over
// W_hh^T, exchanging the gate gradients dgh instead of h. The tiling, fragment maps and layouts
// are rnn_persistent_tiling.h's, which tests/kernels/rnn_cluster_emulation_test.cpp replays on
// the CPU.
#include <cooperative_groups.h>
#include <cuda_bf16.h>

#include <map>
#include <tuple>
#include <type_traits>

#include "kernels/common/mma_sync.cuh"
#include "kernels/rnn/rnn_cuda_internal.h"
#include "kernels/rnn/rnn_persistent_tiling.h"

namespace strand::kernels::cuda::rnn_internal {
namespace {

namespace cg = cooperative_groups;
using detail::ClusterTiling;
using detail::kClusterSamples;
using detail::kClusterWarps;

constexpr int kThreads = kClusterWarps * 32;

struct ClusterArgs {
  int T, N, H, unit_blocks, k_steps, n_tiles, batch_tiles, batch_tile, h_stride;
  unsigned w_bytes, h_bytes;
};

__device__ __forceinline__ uint16_t to_bits(float v) {
  return __bfloat16_as_ushort(__float2bfloat16_rn(v));
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
// Stores v at the same shared-memory offset as `local` in CTA `rank` of this cluster.
__device__ __forceinline__ void store_cluster(const void* local, unsigned rank, uint16_t v) {
  const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(local));
  unsigned remote;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(addr), "r"(rank));
  asm volatile("st.shared::cluster.u16 [%0], %1;" ::"r"(remote), "h"(v) : "memory");
}
__device__ __forceinline__ void store_cluster(const void* local, unsigned rank, float v) {
  const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(local));
  unsigned remote;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(addr), "r"(rank));
  asm volatile("st.shared::cluster.f32 [%0], %1;" ::"r"(remote), "f"(v) : "memory");
}
// Every thread of every CTA of the cluster: release this CTA's stores, acquire the others'.
__device__ __forceinline__ void cluster_barrier() {
  asm volatile("barrier.cluster.arrive.release.aligned;\n\tbarrier.cluster.wait.acquire.aligned;" ::
                   : "memory");
}
#endif

// One k-step of gate `gate`'s product for this lane: acc += A(ub, gate, kk) B(kk).
template <typename W>
__device__ __forceinline__ void mma_step(float (&acc)[4], const uint32_t* w_s, const W* h, int lane,
                                         int n_base, int kk, const ClusterArgs& p, int ub, int gate,
                                         int gates) {
  constexpr bool bf16 = std::is_same_v<W, uint16_t>;
  const uint4 a = *reinterpret_cast<const uint4*>(
      w_s + detail::cluster_w_word(ub, gate, kk, lane, 0, gates, p.k_steps));
  const int k_step = bf16 ? 16 : 8;
  if constexpr (bf16) {
    // B registers: two consecutive k of one sample (half 0 low), at k rows 0 and 8.
    const detail::MmaCoord c0 = detail::mma_b_coord(true, lane, 0, 0);
    const detail::MmaCoord c1 = detail::mma_b_coord(true, lane, 1, 0);
    const uint32_t b0 = *reinterpret_cast<const uint32_t*>(
        h + detail::cluster_h_index(n_base + c0.col, kk * k_step + c0.row, p.h_stride));
    const uint32_t b1 = *reinterpret_cast<const uint32_t*>(
        h + detail::cluster_h_index(n_base + c1.col, kk * k_step + c1.row, p.h_stride));
    mma_bf16(acc, {a.x, a.y, a.z, a.w}, {b0, b1});
  } else {
    uint32_t ab[4], as[4], bb[2], bs[2];
    const uint32_t aw[4] = {a.x, a.y, a.z, a.w};
    float big, small;
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      detail::tf32_split(__uint_as_float(aw[r]), big, small);
      ab[r] = __float_as_uint(big), as[r] = __float_as_uint(small);
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const detail::MmaCoord c = detail::mma_b_coord(false, lane, r, 0);
      detail::tf32_split(
          h[detail::cluster_h_index(n_base + c.col, kk * k_step + c.row, p.h_stride)], big, small);
      bb[r] = __float_as_uint(big), bs[r] = __float_as_uint(small);
    }
    mma_3xtf32(acc, ab, as, bb, bs);
  }
}

// Where this CTA sits: its rank in the cluster, the cluster's size, direction and first sample.
// Grid: clusters flattened on x, cluster dims (cluster, 1, 1); cluster id = dir * batch_tiles +
// tile.
struct Place {
  int rank, size, dir, n0;
};
__device__ __forceinline__ Place place(const ClusterArgs& p) {
  cg::cluster_group cluster = cg::this_cluster();
  const int rank = static_cast<int>(cluster.block_rank());
  const int size = static_cast<int>(cluster.num_blocks());
  const int id = blockIdx.x / size;
  return {rank, size, detail::cluster_dir(id, p.batch_tiles),
          detail::cluster_first_sample(id, p.batch_tiles, p.batch_tile)};
}

// This CTA's A fragments in fragment order: A(fragment gate f, unit j, k) = value(f, j, k), zero
// where j >= H (padding rows) or k >= k_extent (padding columns).
template <typename W, typename Value>
__device__ void load_fragments(uint32_t* w_s, const ClusterArgs& p, int rank, int frag_gates,
                               int k_extent, Value value) {
  constexpr bool bf16 = std::is_same_v<W, uint16_t>;
  const int words = p.unit_blocks * frag_gates * p.k_steps * detail::kClusterFragWords;
  const int k_step = bf16 ? 16 : 8;
  for (int idx = threadIdx.x; idx < words; idx += blockDim.x) {
    const int reg = idx & 3, lane = (idx >> 2) & 31, frag = idx >> 7;
    const int kk = frag % p.k_steps, f = frag / p.k_steps % frag_gates;
    const int ub = frag / p.k_steps / frag_gates;
    uint32_t word = 0;
#pragma unroll
    for (int half = 0; half < (bf16 ? 2 : 1); ++half) {
      const detail::MmaCoord c = detail::mma_a_coord(bf16, lane, reg, half);
      const int j = detail::cluster_unit(rank, ub, c.row, p.unit_blocks);
      const int k = kk * k_step + c.col;
      if (j < p.H && k < k_extent) {
        const W v = value(f, j, k);
        if constexpr (bf16) {
          word |= static_cast<uint32_t>(v) << (16 * half);
        } else {
          word = __float_as_uint(v);
        }
      }
    }
    w_s[detail::cluster_w_word(ub, f, kk, lane, reg, frag_gates, p.k_steps)] = word;
  }
}

template <typename W>
__device__ __forceinline__ W exchanged(float v) {
  if constexpr (std::is_same_v<W, uint16_t>) {
    return to_bits(v);
  } else {
    return v;
  }
}

// Exchange buffer i at smem + w_bytes + i * h_bytes (no pointer array: a run-time index would
// put it in local memory).
template <typename W>
__device__ __forceinline__ W* exchange_buffer(unsigned char* smem, const ClusterArgs& p, int i) {
  return reinterpret_cast<W*>(smem + p.w_bytes + i * p.h_bytes);
}

// Stores v at dst in every CTA of the cluster (its own included).
template <typename W>
__device__ __forceinline__ void broadcast(W* dst, W v, int cluster_size) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  for (int r = 0; r < cluster_size; ++r) store_cluster(dst, r, v);
#endif
}

// Forward. Exchange buffer s%2 holds h_{s-1} (step order) of the tile's samples: [sample][unit].
template <typename W, int G>
__global__ void __launch_bounds__(kThreads, 1)
    cluster_forward_kernel(PersistentLayer<W> a, ClusterArgs p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  extern __shared__ __align__(16) unsigned char smem[];
  const Place at = place(p);
  const int H = p.H, N = p.N;
  uint32_t* w_s = reinterpret_cast<uint32_t*>(smem);
  // W_hh rows of this CTA's unit blocks, every gate: A(gate, j, k) = W_hh[gate * H + j][k].
  const W* w_g = a.w_hh[at.dir];
  load_fragments<W>(w_s, p, at.rank, G, H, [&](int gate, int j, int k) {
    return w_g[static_cast<size_t>(gate * H + j) * H + k];
  });
  // h_0 of the tile into buffer 0; buffer 1 zero (padding samples and units stay zero).
  const detail::RnnDirBuffers<float> b = a.bufs[at.dir];
  const detail::RnnDims dims = a.dims[at.dir];
  const size_t NH = static_cast<size_t>(N) * H;
  for (int idx = threadIdx.x; idx < p.batch_tile * p.h_stride; idx += blockDim.x) {
    const int nl = idx / p.h_stride, k = idx - nl * p.h_stride;
    const int n = at.n0 + nl;
    exchange_buffer<W>(smem, p, 0)[idx] =
        exchanged<W>(n < N && k < H ? b.hs[static_cast<size_t>(n) * H + k] : 0.f);
    exchange_buffer<W>(smem, p, 1)[idx] = W(0);
  }
  // Every CTA of the cluster has started and initialised its buffers before any remote store.
  cluster_barrier();

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  for (int s = 0; s < p.T; ++s) {
    const W* h = exchange_buffer<W>(smem, p, s & 1);
    W* h_next = exchange_buffer<W>(smem, p, (s + 1) & 1);
    for (int item = warp; item < p.unit_blocks * p.n_tiles; item += kClusterWarps) {
      const int ub = detail::cluster_item_block(item, p.n_tiles);
      const int n_base = detail::cluster_item_tile(item, p.n_tiles) * kClusterSamples;
      float acc[G][4];
#pragma unroll
      for (int g = 0; g < G; ++g) acc[g][0] = acc[g][1] = acc[g][2] = acc[g][3] = 0.f;
      for (int kk = 0; kk < p.k_steps; ++kk) {
#pragma unroll
        for (int g = 0; g < G; ++g) mma_step<W>(acc[g], w_s, h, lane, n_base, kk, p, ub, g, G);
      }
      // The cell update of the 4 (unit, sample) pairs this lane holds in C.
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const detail::MmaCoord c = detail::mma_c_coord(lane, i);
        const int j = detail::cluster_unit(at.rank, ub, c.row, p.unit_blocks);
        const int nl = n_base + c.col, n = at.n0 + nl;
        if (j >= H || n >= N) continue;
        float hh[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
        for (int g = 0; g < G; ++g) hh[g] = acc[g][i];
        // h_{s-1} in fp32 (this thread wrote it last step), not the exchanged (maybe bf16) copy.
        const float h_prev = b.hs[s * NH + static_cast<size_t>(n) * H + j];
        const float h_new = detail::rnn_forward_unit(b, dims, s, n, j, a.lengths[n], hh, h_prev);
        broadcast(h_next + detail::cluster_h_index(nl, j, p.h_stride), exchanged<W>(h_new),
                  at.size);
      }
    }
    // h_s is in every CTA's buffer (s+1)%2; everyone is done reading buffer s%2, which the next
    // step overwrites.
    cluster_barrier();
  }
#else
  __trap();  // launched only on compute capability 9.0 (cluster_fits)
#endif
}

// Backward through time, same ownership of units. Per step s (from T-1 down) each CTA forms
// dh_rec[j][n] = sum_r W_hh[r][j] dgh_{s+1}[n][r] for its units (A = W_hh^T rows, k over all G*H
// gate rows), runs the cell backward of its (unit, sample) pairs, and stores their G values of
// dgh_s into every CTA's exchange buffer s%2 ([sample][gate * H + unit]).
template <typename W, int G>
__global__ void __launch_bounds__(kThreads, 1)
    cluster_backward_kernel(PersistentBackwardLayer<W> a, ClusterArgs p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  extern __shared__ __align__(16) unsigned char smem[];
  const Place at = place(p);
  const int H = p.H, N = p.N, GH = G * H;
  uint32_t* w_s = reinterpret_cast<uint32_t*>(smem);
  const W* w_g = a.w_hh[at.dir];
  load_fragments<W>(w_s, p, at.rank, 1, GH,
                    [&](int, int j, int r) { return w_g[static_cast<size_t>(r) * H + j]; });
  // dgh of step T is zero: no recurrent term in the first step.
  for (int idx = threadIdx.x; idx < p.batch_tile * p.h_stride; idx += blockDim.x) {
    exchange_buffer<W>(smem, p, 0)[idx] = W(0);
    exchange_buffer<W>(smem, p, 1)[idx] = W(0);
  }
  const detail::RnnDirBuffers<float> b = a.bufs[at.dir];
  const detail::RnnDims dims = a.dims[at.dir];
  const size_t NH = static_cast<size_t>(N) * H;
  float* dh_carry = a.dh_carry + at.dir * NH;
  float* dc_carry = a.dc_carry + at.dir * NH;
  const float* dy = a.dy + at.dir * H;
  float* dgx = a.dgx[at.dir];
  float* dgh = a.dgh[at.dir];
  cluster_barrier();

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  for (int s = p.T - 1; s >= 0; --s) {
    const W* g_in = exchange_buffer<W>(smem, p, (s + 1) & 1);
    W* g_out = exchange_buffer<W>(smem, p, s & 1);
    for (int item = warp; item < p.unit_blocks * p.n_tiles; item += kClusterWarps) {
      const int ub = detail::cluster_item_block(item, p.n_tiles);
      const int n_base = detail::cluster_item_tile(item, p.n_tiles) * kClusterSamples;
      float acc[4] = {0.f, 0.f, 0.f, 0.f};
      if (s + 1 < p.T) {
        for (int kk = 0; kk < p.k_steps; ++kk)
          mma_step<W>(acc, w_s, g_in, lane, n_base, kk, p, ub, 0, 1);
      }
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const detail::MmaCoord c = detail::mma_c_coord(lane, i);
        const int j = detail::cluster_unit(at.rank, ub, c.row, p.unit_blocks);
        const int nl = n_base + c.col, n = at.n0 + nl;
        if (j >= H || n >= N) continue;
        detail::rnn_backward_unit(b, dims, s, n, j, a.lengths[n], acc[i], dh_carry, dc_carry, dy,
                                  dgx, dgh);
        // This thread's own dgh_s (zero past the length), in fp32 from where it just wrote it.
        const float* mine = dgh + (static_cast<size_t>(s) * N + n) * GH + j;
#pragma unroll
        for (int g = 0; g < G; ++g)
          broadcast(g_out + detail::cluster_h_index(nl, g * H + j, p.h_stride),
                    exchanged<W>(mine[g * H]), at.size);
      }
    }
    // dgh_s is in every CTA's buffer s%2; buffer (s+1)%2 is free for step s-1.
    cluster_barrier();
  }
#else
  __trap();  // launched only on compute capability 9.0 (cluster_fits)
#endif
}

template <typename W>
const void* kernel_for(int gates, bool backward) {
  if (backward)
    return gates == 4 ? reinterpret_cast<const void*>(&cluster_backward_kernel<W, 4>)
                      : reinterpret_cast<const void*>(&cluster_backward_kernel<W, 3>);
  return gates == 4 ? reinterpret_cast<const void*>(&cluster_forward_kernel<W, 4>)
                    : reinterpret_cast<const void*>(&cluster_forward_kernel<W, 3>);
}

struct Config {
  ClusterTiling t;
  const void* kernel = nullptr;
};

cudaLaunchConfig_t launch_config(const RnnShape& s, const ClusterTiling& t, cudaStream_t stream,
                                 cudaLaunchAttribute* attr) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(static_cast<unsigned>(s.dirs() * t.batch_tiles * t.cluster));
  cfg.blockDim = dim3(kThreads);
  cfg.dynamicSmemBytes = t.smem;
  cfg.stream = stream;
  attr->id = cudaLaunchAttributeClusterDimension;
  attr->val.clusterDim.x = static_cast<unsigned>(t.cluster);
  attr->val.clusterDim.y = 1;
  attr->val.clusterDim.z = 1;
  cfg.attrs = attr;
  cfg.numAttrs = 1;
  return cfg;
}

// The kernel attributes a launch of tiling t needs (per kernel, so set before every launch: another
// shape may have set others).
void set_attributes(const void* kernel, const ClusterTiling& t) {
  STRAND_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(t.smem)));
  STRAND_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed,
                                         t.cluster > 8 ? 1 : 0));
}

// The launch for this problem, or kernel == nullptr: not compute capability 9.0, or W_hh does
// not fit in the shared memory of the largest cluster the device schedules. Cached per device
// and shape: the occupancy query stays out of every call after the first.
Config configure(const Context& ctx, const RnnShape& s, size_t weight_bytes, bool backward) {
  using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, size_t, bool>;
  thread_local std::map<Key, Config> cache;
  const Key key{ctx.device, s.gates(), s.hidden_size, s.batch, s.dirs(), weight_bytes, backward};
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  Config c;
  int major = 0, minor = 0, sms = 0, max_smem = 0;
  STRAND_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, ctx.device));
  STRAND_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, ctx.device));
  if (major == 9 && minor == 0) {
    STRAND_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, ctx.device));
    STRAND_CUDA_CHECK(
        cudaDeviceGetAttribute(&max_smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, ctx.device));
    const int G = static_cast<int>(s.gates());
    const void* kernel =
        weight_bytes == 2 ? kernel_for<uint16_t>(G, backward) : kernel_for<float>(G, backward);
    // 16 CTAs per cluster is Hopper's non-portable size; 8 is always schedulable.
    for (int max_cluster : {16, 8}) {
      const ClusterTiling t =
          detail::cluster_tiling(s, weight_bytes, backward, sms, max_smem, max_cluster);
      if (!t.fits) continue;
      set_attributes(kernel, t);
      cudaLaunchAttribute attr;
      const cudaLaunchConfig_t cfg = launch_config(s, t, ctx.stream, &attr);
      int clusters = 0;
      if (cudaOccupancyMaxActiveClusters(&clusters, kernel, &cfg) != cudaSuccess) {
        cudaGetLastError();  // this cluster size is not schedulable here: try the next
        continue;
      }
      if (clusters < 1) continue;
      c.t = t;
      c.kernel = kernel;
      break;
    }
  }
  cache.emplace(key, c);
  return c;
}

}  // namespace

bool cluster_fits(const Context& ctx, const RnnShape& shape, size_t weight_bytes, bool backward) {
  return configure(ctx, shape, weight_bytes, backward).kernel != nullptr;
}

template <typename Layer>
void cluster_launch(const Context& ctx, const RnnShape& s, const Layer& layer, size_t weight_bytes,
                    bool backward) {
  const Config c = configure(ctx, s, weight_bytes, backward);
  STRAND_CHECK(c.kernel != nullptr,
               "RNN cluster {} kernel cannot run hidden {} on this device (it needs compute "
               "capability 9.0 and W_hh on one cluster's shared memory)",
               backward ? "backward" : "forward", s.hidden_size);
  const ClusterTiling& t = c.t;
  Layer a = layer;
  ClusterArgs p{static_cast<int>(s.seq_len),
                static_cast<int>(s.batch),
                static_cast<int>(s.hidden_size),
                t.unit_blocks,
                t.k_steps(),
                t.n_tiles(),
                t.batch_tiles,
                t.batch_tile,
                t.h_stride,
                static_cast<unsigned>(t.w_bytes),
                static_cast<unsigned>(t.h_bytes)};
  set_attributes(c.kernel, t);
  cudaLaunchAttribute attr;
  const cudaLaunchConfig_t cfg = launch_config(s, t, ctx.stream, &attr);
  void* args[] = {&a, &p};
  STRAND_CUDA_CHECK(cudaLaunchKernelExC(&cfg, c.kernel, args));
  STRAND_CUDA_CHECK_LAUNCH(backward ? "rnn cluster_backward_kernel" : "rnn cluster_forward_kernel");
}

void cluster_forward_f32(const Context& ctx, const RnnShape& shape,
                         const PersistentLayer<float>& layer) {
  cluster_launch(ctx, shape, layer, sizeof(float), false);
}
void cluster_forward_bf16(const Context& ctx, const RnnShape& shape,
                          const PersistentLayer<uint16_t>& layer) {
  cluster_launch(ctx, shape, layer, sizeof(uint16_t), false);
}
void cluster_backward_f32(const Context& ctx, const RnnShape& shape,
                          const PersistentBackwardLayer<float>& layer) {
  cluster_launch(ctx, shape, layer, sizeof(float), true);
}
void cluster_backward_bf16(const Context& ctx, const RnnShape& shape,
                           const PersistentBackwardLayer<uint16_t>& layer) {
  cluster_launch(ctx, shape, layer, sizeof(uint16_t), true);
}

}  // namespace strand::kernels::cuda::rnn_internal
