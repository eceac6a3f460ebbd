// The custom CUDA conv1d: an implicit-GEMM convolution on tensor cores (inline PTX mma.sync:
// m16n8k8 TF32 and m16n8k16 BF16, fp32 accumulation; fp32-accurate mode by 3xTF32) for the
// forward, backward-data and backward-weight passes, gathering operands straight from the NCL
// tensors (no im2col buffer in device memory).
//
// Per group g the three passes are GEMMs C[M, Ncol] = sum_kk A[M, kk] B[kk, Ncol]:
//   forward          M = C_out/g (o)  Ncol = N*L_out (n,t)   kk = (c,k) over C_in/g * K
//                    A = W[o, c, k]   B = x[n, c, t*s + k*d - pl]                 -> y[n, o, t]
//   backward-data    M = C_in/g (c)   Ncol = N*L_in (n,i)    kk = (o,k) over C_out/g * K
//                    A = W[o, c, k]   B = dy[n, o, (i + pl - k*d) / s] when exact  -> dx[n, c, i]
//   backward-weight  M = C_out/g (o)  Ncol = C_in/g*K (c,k)  kk = (n,t) over N * L_out
//                    A = dy[n, o, t]  B = x[n, c, t*s + k*d - pl]      -> dw[o, c, k] (split-K)
// Tiling: 128 threads (4 warps, 2x2), block tile 64x64, k-tile 32, warp tile 32x32 = 2 m16 x 4 n8
// mma tiles. Each k-tile is gathered into registers (16 A and 16 B elements per thread), stored to
// a double-buffered shared tile, and the next tile's global loads are issued before computing the
// current one, so one __syncthreads per k-tile suffices. Shared A is [m][k] (k contiguous), shared
// B is [k][n] (n contiguous); the paddings make every fragment read bank-conflict free.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/common/cuda_check.h"
#include "kernels/common/mma_layout.h"
#include "kernels/common/mma_sync.cuh"
#include "kernels/common/type_lists.h"
#include "kernels/conv1d/conv1d_cuda_impl.h"

namespace strand::kernels::cuda::detail {
namespace {

constexpr int kBM = 64;
constexpr int kBN = 64;
constexpr int kBK = 32;
constexpr int kThreads = 128;
constexpr int kPerThread = kBM * kBK / kThreads;  // 16 A and 16 B elements per thread per tile
static_assert(kBK * kBN / kThreads == kPerThread, "A and B tiles hold the same element count");

enum class Mode { kTf32, kTf32x3, kBf16 };

// Where thread `tid` puts its j-th gathered element in the shared tiles, and which accumulator
// element e (0..3) of its (mi, ni) mma tile holds which tile coordinate. Shared by the kernel and
// its host emulation, so the emulation checks the very mapping the kernel uses.
__host__ __device__ constexpr int a_tile_row(int tid, int j) { return tid / 32 + 4 * j; }
__host__ __device__ constexpr int a_tile_col(int tid) { return tid % 32; }
__host__ __device__ constexpr int b_tile_row(int tid, int j) { return tid / 64 + 2 * j; }
__host__ __device__ constexpr int b_tile_col(int tid) { return tid % 64; }
// Warps 2x2 over the 64x64 tile; in an m16n8 accumulator, c0,c1 sit at (groupID, 2*tid4 + {0,1})
// and c2,c3 at (groupID + 8, 2*tid4 + {0,1}), groupID = lane/4, tid4 = lane%4.
__host__ __device__ constexpr int acc_row(int tid, int mi, int e) {
  return (tid / 64) * 32 + mi * 16 + (tid % 32) / 4 + (e >= 2 ? 8 : 0);
}
__host__ __device__ constexpr int acc_col(int tid, int ni, int e) {
  return ((tid / 32) % 2) * 32 + ni * 8 + 2 * (tid % 4) + (e & 1);
}
static_assert(a_tile_row(kThreads - 1, kPerThread - 1) == kBM - 1 &&
              a_tile_col(kThreads - 1) == kBK - 1);
static_assert(b_tile_row(kThreads - 1, kPerThread - 1) == kBK - 1 &&
              b_tile_col(kThreads - 1) == kBN - 1);
static_assert(acc_row(kThreads - 1, 1, 3) == kBM - 1 && acc_col(kThreads - 1, 3, 3) == kBN - 1);

// Which shared-tile element each mma operand register of a lane reads, relative to the 16x8 (A)
// or 8x8 (B) sub-tile at the current k step; kernel and host emulation share these.
//   TF32 m16n8k8: A register r holds one element, B register r one element.
//   BF16 m16n8k16: A register r holds (row, col) and (row, col + 1); B register r holds
//   (k, n) and (k + 1, n), the lower k in the low half.
__host__ __device__ constexpr int tf32_a_row(int lane, int r) { return lane / 4 + (r & 1) * 8; }
__host__ __device__ constexpr int tf32_a_col(int lane, int r) { return lane % 4 + (r >> 1) * 4; }
__host__ __device__ constexpr int tf32_b_k(int lane, int r) { return lane % 4 + r * 4; }
__host__ __device__ constexpr int bf16_a_row(int lane, int r) { return lane / 4 + (r & 1) * 8; }
__host__ __device__ constexpr int bf16_a_col(int lane, int r) {
  return 2 * (lane % 4) + (r >> 1) * 8;
}
__host__ __device__ constexpr int bf16_b_k(int lane, int r) { return 2 * (lane % 4) + r * 8; }
__host__ __device__ constexpr int frag_n(int lane) { return lane / 4; }

// The k-tiles split `split` reduces: [begin, end).
struct TileRange {
  int begin, end;
};

struct ConvDims {
  int n, cin, cout, lin, lout, k, stride, pad, dil, cin_g, cout_g;
  int gemm_m, gemm_n, gemm_k;  // per group
  int splits, tiles_per_split;
};

__host__ __device__ inline TileRange tile_range(const ConvDims& d, int split) {
  const int tiles = (d.gemm_k + kBK - 1) / kBK;
  const int begin = split * d.tiles_per_split;
  const int end = begin + d.tiles_per_split;
  return {begin, end < tiles ? end : tiles};
}

// ---- tensor-core primitives -------------------------------------------------------------------

// Two bf16 as one .b32 operand: the lower k index in the low 16 bits.
__device__ __forceinline__ uint32_t pack_bf16(__nv_bfloat16 lo, __nv_bfloat16 hi) {
  return static_cast<uint32_t>(__bfloat16_as_ushort(lo)) |
         (static_cast<uint32_t>(__bfloat16_as_ushort(hi)) << 16);
}

template <typename E>
__host__ __device__ __forceinline__ E zero_elem() {
  return E(0.0f);
}

template <typename E>
__host__ __device__ __forceinline__ E from_float(float v) {
  if constexpr (std::is_same_v<E, __nv_bfloat16>) {
    return __float2bfloat16_rn(v);
  } else {
    return v;
  }
}

// ---- the three passes: operand gathers and epilogues ------------------------------------------
// Thread roles inside a tile: A element j is (m = tid/32 + 4j, kk = tid%32); B element j is
// (kk = tid/64 + 2j, col = tid%64). Threads of a warp thus walk the contiguous dimension of A
// (kk) and of B (col) in global memory for the forward and backward-data passes.

template <typename E>
struct ForwardPass {
  using Elem = E;
  ConvDims d;
  const E* x;
  const E* w;
  const E* bias;
  E* y;
  // Per-thread state set by setup().
  int group, m0, a_row0, a_kk, b_kk0;
  bool b_col_ok;
  const E* wg;
  const E* xb;
  int b_pos0;

  __host__ __device__ void setup(int g, int m0_, int col0, int tid) {
    group = g;
    m0 = m0_;
    a_row0 = m0 + a_tile_row(tid, 0);
    a_kk = a_tile_col(tid);
    b_kk0 = b_tile_row(tid, 0);
    wg = w + static_cast<long long>(g) * d.cout_g * d.gemm_k;
    const int col = col0 + b_tile_col(tid);
    b_col_ok = col < d.gemm_n;
    const int nn = b_col_ok ? col / d.lout : 0;
    const int t = b_col_ok ? col % d.lout : 0;
    xb = x + (static_cast<long long>(nn) * d.cin + static_cast<long long>(g) * d.cin_g) * d.lin;
    b_pos0 = t * d.stride - d.pad;
  }
  __host__ __device__ void load_a(int k0, E (&r)[kPerThread]) const {
    const int kk = k0 + a_kk;
    const bool ok = kk < d.gemm_k;
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      const int m = a_row0 + 4 * j;
      r[j] = (ok && m < d.gemm_m) ? wg[static_cast<long long>(m) * d.gemm_k + kk] : zero_elem<E>();
    }
  }
  __host__ __device__ void load_b(int k0, E (&r)[kPerThread]) const {
    int kk = k0 + b_kk0;
    int c = kk / d.k;
    int k = kk - c * d.k;
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      E v = zero_elem<E>();
      if (b_col_ok && kk < d.gemm_k) {
        const int p = b_pos0 + k * d.dil;
        if (p >= 0 && p < d.lin) v = xb[static_cast<long long>(c) * d.lin + p];
      }
      r[j] = v;
      kk += 2;
      k += 2;
      while (k >= d.k) {
        k -= d.k;
        ++c;
      }
    }
  }
  __host__ __device__ void store(int m, int col, float v) const {
    if (m >= d.gemm_m || col >= d.gemm_n) return;
    const int o = group * d.cout_g + m;
    const int nn = col / d.lout;
    const int t = col - nn * d.lout;
    if (bias) v += static_cast<float>(bias[o]);
    y[(static_cast<long long>(nn) * d.cout + o) * d.lout + t] = from_float<E>(v);
  }
};

template <typename E>
struct BackwardDataPass {
  using Elem = E;
  ConvDims d;
  const E* dy;
  const E* w;
  E* dx;
  int group, a_row0, a_kk, b_kk0;
  bool b_col_ok;
  const E* dyb;
  int b_q0;

  __host__ __device__ void setup(int g, int m0, int col0, int tid) {
    group = g;
    a_row0 = m0 + a_tile_row(tid, 0);
    a_kk = a_tile_col(tid);
    b_kk0 = b_tile_row(tid, 0);
    const int col = col0 + b_tile_col(tid);
    b_col_ok = col < d.gemm_n;
    const int nn = b_col_ok ? col / d.lin : 0;
    const int i = b_col_ok ? col % d.lin : 0;
    dyb =
        dy + (static_cast<long long>(nn) * d.cout + static_cast<long long>(g) * d.cout_g) * d.lout;
    b_q0 = i + d.pad;
  }
  // A[c, (o,k)] = W[g*C_out/g + o, c, k]
  __host__ __device__ void load_a(int k0, E (&r)[kPerThread]) const {
    const int kk = k0 + a_kk;
    const bool ok = kk < d.gemm_k;
    const int o = ok ? kk / d.k : 0;
    const int k = ok ? kk - o * d.k : 0;
    const E* base = w + (static_cast<long long>(group) * d.cout_g + o) * d.cin_g * d.k + k;
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      const int m = a_row0 + 4 * j;
      r[j] = (ok && m < d.gemm_m) ? base[static_cast<long long>(m) * d.k] : zero_elem<E>();
    }
  }
  // B[(o,k), (n,i)] = dy[n, o, t] where t*stride = i + pad_left - k*dilation exactly.
  __host__ __device__ void load_b(int k0, E (&r)[kPerThread]) const {
    int kk = k0 + b_kk0;
    int o = kk / d.k;
    int k = kk - o * d.k;
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      E v = zero_elem<E>();
      if (b_col_ok && kk < d.gemm_k) {
        const int num = b_q0 - k * d.dil;
        if (num >= 0) {
          const int t = d.stride == 1 ? num : num / d.stride;
          if (t * d.stride == num && t < d.lout) v = dyb[static_cast<long long>(o) * d.lout + t];
        }
      }
      r[j] = v;
      kk += 2;
      k += 2;
      while (k >= d.k) {
        k -= d.k;
        ++o;
      }
    }
  }
  __host__ __device__ void store(int m, int col, float v) const {
    if (m >= d.gemm_m || col >= d.gemm_n) return;
    const int nn = col / d.lin;
    const int i = col - nn * d.lin;
    dx[(static_cast<long long>(nn) * d.cin + group * d.cin_g + m) * d.lin + i] = from_float<E>(v);
  }
};

template <typename E>
struct BackwardWeightPass {
  using Elem = E;
  ConvDims d;
  const E* x;
  const E* dy;
  float* ws;  // fp32 [C_out, C_in/g * K], added to with atomics (split-K)
  int group, a_row0, a_kk, b_kk0;
  bool b_col_ok;
  const E* xb;
  int b_off;

  __host__ __device__ void setup(int g, int m0, int col0, int tid) {
    group = g;
    a_row0 = m0 + a_tile_row(tid, 0);
    a_kk = a_tile_col(tid);
    b_kk0 = b_tile_row(tid, 0);
    const int col = col0 + b_tile_col(tid);
    b_col_ok = col < d.gemm_n;
    const int c = b_col_ok ? col / d.k : 0;
    const int k = b_col_ok ? col % d.k : 0;
    xb = x + (static_cast<long long>(g) * d.cin_g + c) * d.lin;
    b_off = k * d.dil - d.pad;
  }
  // A[o, (n,t)] = dy[n, g*C_out/g + o, t]
  __host__ __device__ void load_a(int k0, E (&r)[kPerThread]) const {
    const int kk = k0 + a_kk;
    const bool ok = kk < d.gemm_k;
    const int nn = ok ? kk / d.lout : 0;
    const int t = ok ? kk - nn * d.lout : 0;
    const E* base =
        dy +
        (static_cast<long long>(nn) * d.cout + static_cast<long long>(group) * d.cout_g) * d.lout +
        t;
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      const int m = a_row0 + 4 * j;
      r[j] = (ok && m < d.gemm_m) ? base[static_cast<long long>(m) * d.lout] : zero_elem<E>();
    }
  }
  // B[(n,t), (c,k)] = x[n, g*C_in/g + c, t*stride + k*dilation - pad_left]
  __host__ __device__ void load_b(int k0, E (&r)[kPerThread]) const {
    int kk = k0 + b_kk0;
    int nn = kk / d.lout;
    int t = kk - nn * d.lout;
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      E v = zero_elem<E>();
      if (b_col_ok && kk < d.gemm_k) {
        const int p = t * d.stride + b_off;
        if (p >= 0 && p < d.lin) v = xb[static_cast<long long>(nn) * d.cin * d.lin + p];
      }
      r[j] = v;
      kk += 2;
      t += 2;
      while (t >= d.lout) {
        t -= d.lout;
        ++nn;
      }
    }
  }
  __host__ __device__ void store(int m, int col, float v) const {
    if (m >= d.gemm_m || col >= d.gemm_n) return;
    float* slot = ws + (static_cast<long long>(group) * d.cout_g + m) * d.gemm_n + col;
#ifdef __CUDA_ARCH__
    atomicAdd(slot, v);
#else
    *slot += v;  // host emulation: one thread at a time
#endif
  }
};

// ---- the main loop ----------------------------------------------------------------------------

template <Mode kMode, class Pass>
__global__ void __launch_bounds__(kThreads) igemm_kernel(const Pass pass_in) {
  using E = typename Pass::Elem;
  static_assert((kMode == Mode::kBf16) == std::is_same_v<E, __nv_bfloat16>, "mode/type mismatch");
  // Row paddings: 36 floats / 40 bf16 for A, 72 elements for B (see the header comment).
  constexpr int kPadA = std::is_same_v<E, float> ? 4 : 8;
  constexpr int kPadB = 8;
  __shared__ __align__(16) E As[2][kBM][kBK + kPadA];
  __shared__ __align__(16) E Bs[2][kBK][kBN + kPadB];

  const int tid = threadIdx.x;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int wm = (warp / 2) * 32;
  const int wn = (warp % 2) * 32;
  const int group = blockIdx.z / pass_in.d.splits;
  const int split = blockIdx.z % pass_in.d.splits;
  const int m0 = blockIdx.y * kBM;
  const int col0 = blockIdx.x * kBN;

  Pass pass = pass_in;
  pass.setup(group, m0, col0, tid);

  const TileRange range = tile_range(pass.d, split);
  const int tile_begin = range.begin;
  const int tile_end = range.end;

  float acc[2][4][4];
#pragma unroll
  for (int mi = 0; mi < 2; ++mi)
#pragma unroll
    for (int ni = 0; ni < 4; ++ni)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[mi][ni][e] = 0.f;

  E ra[kPerThread], rb[kPerThread];
  if (tile_begin < tile_end) {
    pass.load_a(tile_begin * kBK, ra);
    pass.load_b(tile_begin * kBK, rb);
  }
  int buf = 0;
  for (int kt = tile_begin; kt < tile_end; ++kt, buf ^= 1) {
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      As[buf][a_tile_row(tid, j)][a_tile_col(tid)] = ra[j];
      Bs[buf][b_tile_row(tid, j)][b_tile_col(tid)] = rb[j];
    }
    __syncthreads();
    if (kt + 1 < tile_end) {
      pass.load_a((kt + 1) * kBK, ra);
      pass.load_b((kt + 1) * kBK, rb);
    }
    if constexpr (kMode == Mode::kBf16) {
#pragma unroll
      for (int ks = 0; ks < kBK; ks += 16) {
        uint32_t a[2][4], b[4][2];
#pragma unroll
        for (int mi = 0; mi < 2; ++mi) {
#pragma unroll
          for (int r = 0; r < 4; ++r) {
            a[mi][r] = *reinterpret_cast<const uint32_t*>(
                &As[buf][wm + mi * 16 + bf16_a_row(lane, r)][ks + bf16_a_col(lane, r)]);
          }
        }
#pragma unroll
        for (int ni = 0; ni < 4; ++ni) {
          const int c = wn + ni * 8 + frag_n(lane);
#pragma unroll
          for (int r = 0; r < 2; ++r) {
            const int k = ks + bf16_b_k(lane, r);
            b[ni][r] = pack_bf16(Bs[buf][k][c], Bs[buf][k + 1][c]);
          }
        }
#pragma unroll
        for (int mi = 0; mi < 2; ++mi)
#pragma unroll
          for (int ni = 0; ni < 4; ++ni) mma_bf16(acc[mi][ni], a[mi], b[ni]);
      }
    } else {
#pragma unroll
      for (int ks = 0; ks < kBK; ks += 8) {
        uint32_t a_hi[2][4], b_hi[4][2];
        uint32_t a_lo[2][4], b_lo[4][2];
#pragma unroll
        for (int mi = 0; mi < 2; ++mi) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const float v = As[buf][wm + mi * 16 + tf32_a_row(lane, e)][ks + tf32_a_col(lane, e)];
            if constexpr (kMode == Mode::kTf32x3) {
              split_tf32(v, a_hi[mi][e], a_lo[mi][e]);
            } else {
              a_hi[mi][e] = to_tf32(v);
            }
          }
        }
#pragma unroll
        for (int ni = 0; ni < 4; ++ni) {
          const int c = wn + ni * 8 + frag_n(lane);
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const float v = Bs[buf][ks + tf32_b_k(lane, e)][c];
            if constexpr (kMode == Mode::kTf32x3) {
              split_tf32(v, b_hi[ni][e], b_lo[ni][e]);
            } else {
              b_hi[ni][e] = to_tf32(v);
            }
          }
        }
#pragma unroll
        for (int mi = 0; mi < 2; ++mi) {
#pragma unroll
          for (int ni = 0; ni < 4; ++ni) {
            if constexpr (kMode == Mode::kTf32x3) {
              mma_3xtf32(acc[mi][ni], a_hi[mi], a_lo[mi], b_hi[ni], b_lo[ni]);
            } else {
              mma_tf32(acc[mi][ni], a_hi[mi], b_hi[ni]);
            }
          }
        }
      }
    }
  }

#pragma unroll
  for (int mi = 0; mi < 2; ++mi) {
#pragma unroll
    for (int ni = 0; ni < 4; ++ni) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        pass.store(m0 + acc_row(tid, mi, e), col0 + acc_col(tid, ni, e), acc[mi][ni][e]);
      }
    }
  }
}

// ---- host emulation ------------------------------------------------------------------------
// The kernel on the host, one simulated thread at a time: the same Pass gathers, shared-tile
// placement, split-K ranges, mma operand reads (the *_row/_col/_k helpers above) and epilogue
// coordinates. Each warp-level mma is executed per the PTX ISA's fragment layouts, written out
// independently of the helpers in kernels/common/mma_layout.h, so a helper that disagrees with
// the hardware layout corrupts the product.
// Values stay fp32 (no TF32/BF16 rounding): this checks indexing, not arithmetic. Shared tiles
// start as NaN, so a slot no thread fills poisons the result.

namespace spec = mma_layout;

// One k-tile of one warp's 2x4 mma tiles, accumulated into acc[lane][mi][ni][e].
void emulate_warp_tile(const std::vector<float>& a_tile, const std::vector<float>& b_tile, int warp,
                       bool bf16, float (*acc)[2][4][4]) {
  const int wm = (warp / 2) * 32;
  const int wn = (warp % 2) * 32;
  const int kstep = bf16 ? 16 : 8;
  for (int ks = 0; ks < kBK; ks += kstep) {
    for (int mi = 0; mi < 2; ++mi) {
      for (int ni = 0; ni < 4; ++ni) {
        float a[16][16], b[16][8];
        int a_seen[16][16] = {}, b_seen[16][8] = {};
        auto tile_a = [&](int row, int col) {
          return a_tile[(wm + mi * 16 + row) * kBK + ks + col];
        };
        auto tile_b = [&](int k, int col) { return b_tile[(ks + k) * kBN + wn + ni * 8 + col]; };
        for (int lane = 0; lane < 32; ++lane) {
          // What the kernel loads into each register, placed where the hardware reads it from.
          if (!bf16) {
            for (int r = 0; r < 4; ++r) {
              const spec::Coord c = spec::tf32_a(lane, r);
              a[c.row][c.col] = tile_a(tf32_a_row(lane, r), tf32_a_col(lane, r));
              ++a_seen[c.row][c.col];
            }
            for (int r = 0; r < 2; ++r) {
              const spec::Coord c = spec::tf32_b(lane, r);
              b[c.row][c.col] = tile_b(tf32_b_k(lane, r), frag_n(lane));
              ++b_seen[c.row][c.col];
            }
          } else {
            for (int r = 0; r < 4; ++r) {
              for (int half = 0; half < 2; ++half) {
                const spec::Coord c = spec::bf16_a(lane, 2 * r + half);
                a[c.row][c.col] = tile_a(bf16_a_row(lane, r), bf16_a_col(lane, r) + half);
                ++a_seen[c.row][c.col];
              }
            }
            for (int r = 0; r < 2; ++r) {
              for (int half = 0; half < 2; ++half) {
                const spec::Coord c = spec::bf16_b(lane, 2 * r + half);
                b[c.row][c.col] = tile_b(bf16_b_k(lane, r) + half, frag_n(lane));
                ++b_seen[c.row][c.col];
              }
            }
          }
        }
        for (int r = 0; r < 16; ++r)
          for (int k = 0; k < kstep; ++k)
            STRAND_CHECK(a_seen[r][k] == 1,
                         "igemm emulation: A fragment slot ({}, {}) filled {} times", r, k,
                         a_seen[r][k]);
        for (int k = 0; k < kstep; ++k)
          for (int n = 0; n < 8; ++n)
            STRAND_CHECK(b_seen[k][n] == 1,
                         "igemm emulation: B fragment slot ({}, {}) filled {} times", k, n,
                         b_seen[k][n]);
        for (int lane = 0; lane < 32; ++lane) {
          for (int e = 0; e < 4; ++e) {
            const spec::Coord c = spec::f32_c(lane, e);
            float d = 0.f;
            for (int k = 0; k < kstep; ++k) d += a[c.row][k] * b[k][c.col];
            acc[warp * 32 + lane][mi][ni][e] += d;
          }
        }
      }
    }
  }
}

template <class Pass>
void emulate(const Pass& pass_in, long long groups, bool bf16_fragments) {
  static_assert(std::is_same_v<typename Pass::Elem, float>);
  const ConvDims& d = pass_in.d;
  const int m_tiles = (d.gemm_m + kBM - 1) / kBM;
  const int n_tiles = (d.gemm_n + kBN - 1) / kBN;
  std::vector<Pass> threads(kThreads, pass_in);
  std::vector<float> a_tile(kBM * kBK), b_tile(kBK * kBN);
  std::vector<float> acc_store(static_cast<size_t>(kThreads) * 2 * 4 * 4);
  auto acc = reinterpret_cast<float(*)[2][4][4]>(acc_store.data());
  float regs[kPerThread];
  for (long long z = 0; z < groups * d.splits; ++z) {
    const int group = static_cast<int>(z / d.splits);
    const int split = static_cast<int>(z % d.splits);
    const TileRange range = tile_range(d, split);
    for (int by = 0; by < m_tiles; ++by) {
      for (int bx = 0; bx < n_tiles; ++bx) {
        for (int tid = 0; tid < kThreads; ++tid) {
          threads[tid] = pass_in;
          threads[tid].setup(group, by * kBM, bx * kBN, tid);
        }
        std::fill(acc_store.begin(), acc_store.end(), 0.f);
        for (int kt = range.begin; kt < range.end; ++kt) {
          std::fill(a_tile.begin(), a_tile.end(), std::nanf(""));
          std::fill(b_tile.begin(), b_tile.end(), std::nanf(""));
          for (int tid = 0; tid < kThreads; ++tid) {
            threads[tid].load_a(kt * kBK, regs);
            for (int j = 0; j < kPerThread; ++j) {
              a_tile[a_tile_row(tid, j) * kBK + a_tile_col(tid)] = regs[j];
            }
            threads[tid].load_b(kt * kBK, regs);
            for (int j = 0; j < kPerThread; ++j) {
              b_tile[b_tile_row(tid, j) * kBN + b_tile_col(tid)] = regs[j];
            }
          }
          for (int warp = 0; warp < kThreads / 32; ++warp) {
            emulate_warp_tile(a_tile, b_tile, warp, bf16_fragments, acc);
          }
        }
        for (int tid = 0; tid < kThreads; ++tid) {
          for (int mi = 0; mi < 2; ++mi)
            for (int ni = 0; ni < 4; ++ni)
              for (int e = 0; e < 4; ++e) {
                threads[tid].store(by * kBM + acc_row(tid, mi, e), bx * kBN + acc_col(tid, ni, e),
                                   acc[tid][mi][ni][e]);
              }
        }
      }
    }
  }
}

ConvDims make_dims(const Conv1dShape& s, Conv1dPass pass) {
  ConvDims d{};
  d.n = static_cast<int>(s.batch);
  d.cin = static_cast<int>(s.in_channels);
  d.cout = static_cast<int>(s.out_channels);
  d.lin = static_cast<int>(s.in_length);
  d.lout = static_cast<int>(s.out_length());
  d.k = static_cast<int>(s.kernel_size);
  d.stride = static_cast<int>(s.stride);
  d.pad = static_cast<int>(s.pad_left);
  d.dil = static_cast<int>(s.dilation);
  d.cin_g = static_cast<int>(s.in_per_group());
  d.cout_g = static_cast<int>(s.out_per_group());
  switch (pass) {
    case Conv1dPass::kForward:
      d.gemm_m = d.cout_g, d.gemm_n = d.n * d.lout, d.gemm_k = d.cin_g * d.k;
      break;
    case Conv1dPass::kBackwardData:
      d.gemm_m = d.cin_g, d.gemm_n = d.n * d.lin, d.gemm_k = d.cout_g * d.k;
      break;
    case Conv1dPass::kBackwardWeight:
      d.gemm_m = d.cout_g, d.gemm_n = d.cin_g * d.k, d.gemm_k = d.n * d.lout;
      break;
  }
  d.splits = 1;
  d.tiles_per_split = (d.gemm_k + kBK - 1) / kBK;
  return d;
}

int ceil_div(long long a, long long b) { return static_cast<int>((a + b - 1) / b); }

// Splits the reduction of the weight gradient so the grid fills the GPU ~4 waves deep.
void choose_splits(ConvDims& d, long long groups, int sm_count) {
  const long long tiles_mn =
      static_cast<long long>(ceil_div(d.gemm_m, kBM)) * ceil_div(d.gemm_n, kBN) * groups;
  const int k_tiles = ceil_div(d.gemm_k, kBK);
  long long want = (4LL * sm_count + tiles_mn - 1) / tiles_mn;
  want = std::min<long long>({want, k_tiles, 65535 / std::max<long long>(groups, 1)});
  want = std::max<long long>(want, 1);
  d.tiles_per_split = ceil_div(k_tiles, want);
  d.splits = ceil_div(k_tiles, d.tiles_per_split);  // no empty split
}

template <Mode kMode, class Pass>
void launch(const Context& ctx, const Pass& pass, long long groups, const char* name) {
  const dim3 grid(ceil_div(pass.d.gemm_n, kBN), ceil_div(pass.d.gemm_m, kBM),
                  static_cast<unsigned>(groups * pass.d.splits));
  igemm_kernel<kMode, Pass><<<grid, kThreads, 0, ctx.stream>>>(pass);
  STRAND_CUDA_CHECK_LAUNCH(name);
}

template <class Pass>
void launch_for(const Context& ctx, const Pass& pass, long long groups, Conv1dPrecision precision,
                const char* name) {
  if constexpr (std::is_same_v<typename Pass::Elem, __nv_bfloat16>) {
    launch<Mode::kBf16>(ctx, pass, groups, name);
  } else if (precision == Conv1dPrecision::kTf32) {
    launch<Mode::kTf32>(ctx, pass, groups, name);
  } else {
    launch<Mode::kTf32x3>(ctx, pass, groups, name);
  }
}

void check_supported(const Conv1dShape& s) {
  const char* why = igemm_unsupported_reason(s);
  STRAND_CHECK(why == nullptr, "conv1d custom CUDA kernel cannot run {}: {}", s.to_string(),
               why ? why : "");
}

}  // namespace

const char* igemm_unsupported_reason(const Conv1dShape& s) {
  s.validate();
  // grid.y counts M tiles (<= 65535); grid.z counts groups (times splits, which adapt).
  if ((std::max(s.in_per_group(), s.out_per_group()) + kBM - 1) / kBM > 65535) {
    return "more than 65535*64 channels per group";
  }
  if (s.groups > 65535) return "more than 65535 groups";
  return nullptr;
}

template <typename T>
void igemm_forward(const Context& ctx, const Conv1dShape& s, const T* x, const T* w, const T* bias,
                   T* y, Conv1dPrecision precision) {
  check_supported(s);
  using E = DeviceType<T>;
  ForwardPass<E> pass{};
  pass.d = make_dims(s, Conv1dPass::kForward);
  pass.x = device_ptr(x);
  pass.w = device_ptr(w);
  pass.bias = device_ptr(bias);
  pass.y = device_ptr(y);
  launch_for(ctx, pass, s.groups, precision, "conv1d_igemm_forward");
}

template <typename T>
void igemm_backward_data(const Context& ctx, const Conv1dShape& s, const T* dy, const T* w, T* dx,
                         Conv1dPrecision precision) {
  check_supported(s);
  using E = DeviceType<T>;
  BackwardDataPass<E> pass{};
  pass.d = make_dims(s, Conv1dPass::kBackwardData);
  pass.dy = device_ptr(dy);
  pass.w = device_ptr(w);
  pass.dx = device_ptr(dx);
  launch_for(ctx, pass, s.groups, precision, "conv1d_igemm_backward_data");
}

template <typename T>
void igemm_backward_weight(const Context& ctx, const Conv1dShape& s, const T* x, const T* dy, T* dw,
                           bool accumulate, Conv1dPrecision precision) {
  check_supported(s);
  using E = DeviceType<T>;
  int sm_count = 0;
  STRAND_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, ctx.device));
  BackwardWeightPass<E> pass{};
  pass.d = make_dims(s, Conv1dPass::kBackwardWeight);
  choose_splits(pass.d, s.groups, sm_count);
  StreamBuffer ws(ctx, static_cast<size_t>(s.w_numel()) * sizeof(float));
  ws.zero();
  pass.x = device_ptr(x);
  pass.dy = device_ptr(dy);
  pass.ws = static_cast<float*>(ws.get());
  launch_for(ctx, pass, s.groups, precision, "conv1d_igemm_backward_weight");
  finalize_weight_grad(ctx, pass.ws, dw, s.w_numel(), accumulate);
}

void igemm_emulate_forward(const Conv1dShape& s, const float* x, const float* w, const float* bias,
                           float* y, bool bf16_fragments) {
  check_supported(s);
  ForwardPass<float> pass{};
  pass.d = make_dims(s, Conv1dPass::kForward);
  pass.x = x;
  pass.w = w;
  pass.bias = bias;
  pass.y = y;
  emulate(pass, s.groups, bf16_fragments);
}

void igemm_emulate_backward_data(const Conv1dShape& s, const float* dy, const float* w, float* dx,
                                 bool bf16_fragments) {
  check_supported(s);
  BackwardDataPass<float> pass{};
  pass.d = make_dims(s, Conv1dPass::kBackwardData);
  pass.dy = dy;
  pass.w = w;
  pass.dx = dx;
  emulate(pass, s.groups, bf16_fragments);
}

void igemm_emulate_backward_weight(const Conv1dShape& s, const float* x, const float* dy, float* dw,
                                   bool accumulate, int sm_count, bool bf16_fragments) {
  check_supported(s);
  BackwardWeightPass<float> pass{};
  pass.d = make_dims(s, Conv1dPass::kBackwardWeight);
  choose_splits(pass.d, s.groups, sm_count);
  std::vector<float> ws(static_cast<size_t>(s.w_numel()), 0.f);
  pass.x = x;
  pass.dy = dy;
  pass.ws = ws.data();
  emulate(pass, s.groups, bf16_fragments);
  for (size_t i = 0; i < ws.size(); ++i) dw[i] = (accumulate ? dw[i] : 0.f) + ws[i];
}

int igemm_weight_splits(const Conv1dShape& s, int sm_count) {
  ConvDims d = make_dims(s, Conv1dPass::kBackwardWeight);
  choose_splits(d, s.groups, sm_count);
  return d.splits;
}

#define STRAND_IGEMM_INSTANTIATE(T)                                                                \
  template void igemm_forward<T>(const Context&, const Conv1dShape&, const T*, const T*, const T*, \
                                 T*, Conv1dPrecision);                                             \
  template void igemm_backward_data<T>(const Context&, const Conv1dShape&, const T*, const T*, T*, \
                                       Conv1dPrecision);                                           \
  template void igemm_backward_weight<T>(const Context&, const Conv1dShape&, const T*, const T*,   \
                                         T*, bool, Conv1dPrecision);

STRAND_CUDA_F32_BF16_TYPES(STRAND_IGEMM_INSTANTIATE)
#undef STRAND_IGEMM_INSTANTIATE

}  // namespace strand::kernels::cuda::detail
