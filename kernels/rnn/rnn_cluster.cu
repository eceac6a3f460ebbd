// Cluster recurrence for LSTM/GRU forward on Hopper (compute capability 9.0): per direction, each
// thread-block cluster runs all T steps for a tile of samples. Its CTAs split the hidden units
// (blocks of 16, all gates), keep their W_hh rows in shared memory in tensor-core fragment order
// for the whole sequence, form the recurrent product with mma.sync (bf16 m16n8k16, or 3xTF32
// m16n8k8 for f32, fp32 accumulation), run the fused cell update on the accumulators, and store
// each new h into every CTA's shared memory (distributed shared memory); one cluster barrier per
// step replaces the grid-wide barrier of rnn_persistent.cu. The tiling, fragment maps and layouts
// are rnn_persistent_tiling.h's, which tests/kernels/rnn_cluster_emulation_test.cpp replays on
// the CPU.
#include <cooperative_groups.h>
#include <cuda_bf16.h>

#include <map>
#include <tuple>
#include <type_traits>

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

// acc[4] += A (16 x 16 bf16) B (16 x 8 bf16).
__device__ __forceinline__ void mma_bf16(float acc[4], const uint4& a, uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};"
      : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
      : "r"(a.x), "r"(a.y), "r"(a.z), "r"(a.w), "r"(b0), "r"(b1));
}
// acc[4] += A (16 x 8 tf32) B (8 x 8 tf32).
__device__ __forceinline__ void mma_tf32(float acc[4], const float a[4], const float b[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};"
      : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
      : "r"(__float_as_uint(a[0])), "r"(__float_as_uint(a[1])), "r"(__float_as_uint(a[2])),
        "r"(__float_as_uint(a[3])), "r"(__float_as_uint(b[0])), "r"(__float_as_uint(b[1])));
}

// One k-step of gate `gate`'s product for this lane: acc += A(ub, gate, kk) B(kk).
template <typename W>
__device__ __forceinline__ void mma_step(float acc[4], const uint32_t* w_s, const W* h, int lane,
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
    mma_bf16(acc, a, b0, b1);
  } else {
    float ab[4], as[4], bb[2], bs[2];
    const uint32_t aw[4] = {a.x, a.y, a.z, a.w};
#pragma unroll
    for (int r = 0; r < 4; ++r) detail::tf32_split(__uint_as_float(aw[r]), ab[r], as[r]);
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const detail::MmaCoord c = detail::mma_b_coord(false, lane, r, 0);
      detail::tf32_split(
          h[detail::cluster_h_index(n_base + c.col, kk * k_step + c.row, p.h_stride)], bb[r],
          bs[r]);
    }
    // Small terms first: they are the least significant.
    mma_tf32(acc, as, bb);
    mma_tf32(acc, ab, bs);
    mma_tf32(acc, ab, bb);
  }
}

// W: uint16_t (bf16 bits) or float. Grid: 2-D clusters flattened on x, cluster dims (cluster, 1,
// 1); blockIdx.x / cluster = dir * batch_tiles + tile.
template <typename W, int G>
__global__ void __launch_bounds__(kThreads, 1)
    cluster_forward_kernel(PersistentLayer<W> a, ClusterArgs p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  constexpr bool bf16 = std::is_same_v<W, uint16_t>;
  extern __shared__ __align__(16) unsigned char smem[];
  cg::cluster_group cluster = cg::this_cluster();
  const int rank = static_cast<int>(cluster.block_rank());
  const int cluster_size = static_cast<int>(cluster.num_blocks());
  const int cluster_id = blockIdx.x / cluster_size;
  const int dir = detail::cluster_dir(cluster_id, p.batch_tiles);
  const int n0 = detail::cluster_first_sample(cluster_id, p.batch_tiles, p.batch_tile);
  const int H = p.H, N = p.N;
  uint32_t* w_s = reinterpret_cast<uint32_t*>(smem);
  // Buffer i at smem + w_bytes + i * h_bytes (no pointer array: a run-time index would put it in
  // local memory).
  auto h_buf = [&](int i) { return reinterpret_cast<W*>(smem + p.w_bytes + i * p.h_bytes); };

  // W_hh rows of this CTA's unit blocks, every gate, into fragment order; zero past H.
  const W* w_g = a.w_hh[dir];
  const int words = p.unit_blocks * G * p.k_steps * detail::kClusterFragWords;
  const int k_step = bf16 ? 16 : 8;
  for (int idx = threadIdx.x; idx < words; idx += blockDim.x) {
    const int reg = idx & 3, lane = (idx >> 2) & 31, frag = idx >> 7;
    const int kk = frag % p.k_steps, gate = frag / p.k_steps % G, ub = frag / p.k_steps / G;
    uint32_t word = 0;
#pragma unroll
    for (int half = 0; half < (bf16 ? 2 : 1); ++half) {
      const detail::MmaCoord c = detail::mma_a_coord(bf16, lane, reg, half);
      const int j = detail::cluster_unit(rank, ub, c.row, p.unit_blocks);
      const int k = kk * k_step + c.col;
      if (j < H && k < H) {
        const W v = w_g[static_cast<size_t>(gate * H + j) * H + k];
        if constexpr (bf16) {
          word |= static_cast<uint32_t>(v) << (16 * half);
        } else {
          word = __float_as_uint(v);
        }
      }
    }
    w_s[detail::cluster_w_word(ub, gate, kk, lane, reg, G, p.k_steps)] = word;
  }
  // h_0 of the tile into buffer 0; buffer 1 zero (padding samples and units stay zero).
  const detail::RnnDirBuffers<float> b = a.bufs[dir];
  const detail::RnnDims dims = a.dims[dir];
  const size_t NH = static_cast<size_t>(N) * H;
  for (int idx = threadIdx.x; idx < p.batch_tile * p.h_stride; idx += blockDim.x) {
    const int nl = idx / p.h_stride, k = idx - nl * p.h_stride;
    const float v = (n0 + nl < N && k < H) ? b.hs[static_cast<size_t>(n0 + nl) * H + k] : 0.f;
    if constexpr (bf16) {
      h_buf(0)[idx] = to_bits(v);
    } else {
      h_buf(0)[idx] = v;
    }
    h_buf(1)[idx] = W(0);
  }
  // Every CTA of the cluster has started and initialised its buffers before any remote store.
  cluster_barrier();

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  for (int s = 0; s < p.T; ++s) {
    const W* h = h_buf(s & 1);
    W* h_next = h_buf((s + 1) & 1);
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
        const int j = detail::cluster_unit(rank, ub, c.row, p.unit_blocks);
        const int nl = n_base + c.col, n = n0 + nl;
        if (j >= H || n >= N) continue;
        float hh[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
        for (int g = 0; g < G; ++g) hh[g] = acc[g][i];
        // h_{s-1} in fp32 (this thread wrote it last step), not the exchanged (maybe bf16) copy.
        const float h_prev = b.hs[s * NH + static_cast<size_t>(n) * H + j];
        const float h_new = detail::rnn_forward_unit(b, dims, s, n, j, a.lengths[n], hh, h_prev);
        W v;
        if constexpr (bf16) {
          v = to_bits(h_new);
        } else {
          v = h_new;
        }
        W* dst = h_next + detail::cluster_h_index(nl, j, p.h_stride);
        for (int r = 0; r < cluster_size; ++r) store_cluster(dst, r, v);
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

template <typename W>
const void* kernel_for(int gates) {
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
Config configure(const Context& ctx, const RnnShape& s, size_t weight_bytes) {
  using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, size_t>;
  thread_local std::map<Key, Config> cache;
  const Key key{ctx.device, s.gates(), s.hidden_size, s.batch, s.dirs(), weight_bytes};
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
    const void* kernel = weight_bytes == 2 ? kernel_for<uint16_t>(G) : kernel_for<float>(G);
    // 16 CTAs per cluster is Hopper's non-portable size; 8 is always schedulable.
    for (int max_cluster : {16, 8}) {
      const ClusterTiling t = detail::cluster_tiling(s, weight_bytes, sms, max_smem, max_cluster);
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

bool cluster_fits(const Context& ctx, const RnnShape& shape, size_t weight_bytes) {
  return configure(ctx, shape, weight_bytes).kernel != nullptr;
}

template <typename W>
void cluster_forward(const Context& ctx, const RnnShape& s, const PersistentLayer<W>& layer) {
  const Config c = configure(ctx, s, sizeof(W));
  STRAND_CHECK(c.kernel != nullptr,
               "RNN cluster kernel cannot run hidden {} on this device (it needs compute "
               "capability 9.0 and W_hh on one cluster's shared memory)",
               s.hidden_size);
  const ClusterTiling& t = c.t;
  PersistentLayer<W> a = layer;
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
  STRAND_CUDA_CHECK_LAUNCH("rnn cluster_forward_kernel");
}

void cluster_forward_f32(const Context& ctx, const RnnShape& shape,
                         const PersistentLayer<float>& layer) {
  cluster_forward(ctx, shape, layer);
}
void cluster_forward_bf16(const Context& ctx, const RnnShape& shape,
                          const PersistentLayer<uint16_t>& layer) {
  cluster_forward(ctx, shape, layer);
}

}  // namespace strand::kernels::cuda::rnn_internal
