// Per-example conv norms through the input Gram (per_sample_norm_gram.h), on tensor cores.
//   gram_kernel: per example, the Gram G[p][q] = sum_f A[f][p] A[f][q] of an operand with F
//     features at P positions (the input: F = C_in, P = L_in; the output gradient: F = C_out,
//     P = L_out). A block owns a 64x64 tile of (p, q); only tiles with q0 >= p0 run (the Gram is
//     symmetric) and off-diagonal tiles also write their mirror. 4 warps of 2x4 m16n8k8 TF32 mma
//     tiles over 32-feature k-tiles in shared memory; each product is split 3xTF32 (hi*hi +
//     hi*lo + lo*hi), so the sums keep fp32 accuracy.
//   combine_kernel: per example, sum over pairs s >= t (off-diagonal counted twice) of
//     GG[t][s] * sum_k P[t*stride + k*dil - pad][s*stride + k*dil - pad], added into out[n].
// Examples run in chunks so the two Gram workspaces stay under kWorkspaceBytes.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_check.h"
#include "kernels/common/cuda_reduce.h"
#include "kernels/common/hd.h"
#include "kernels/common/mma_layout.h"
#include "kernels/common/mma_sync.cuh"
#include "kernels/per_sample_norm/per_sample_norm_gram.h"

namespace strand::kernels::cuda::detail {
namespace {

constexpr int kGT = 64;                                // Gram tile: positions per side
constexpr int kGK = 32;                                // features per k-tile
constexpr int kGThreads = 128;                         // 4 warps, 2x2 over the tile
constexpr int kGPad = 72;                              // shared row stride: conflict-free reads
constexpr int kGPer = kGT * kGK / kGThreads;           // elements each thread loads per tile
constexpr size_t kWorkspaceBytes = size_t{256} << 20;  // both Gram workspaces, per chunk

// Element (n, f, p) of an operand at data[n*sn + f*sf + p*sp].
struct GramOperand {
  const float* data;
  long long sn, sf, sp;
  int features, positions;
};

// Thread tid's j-th load: feature row and position column of the [kGK][kGT] tile.
STRAND_HD int load_row(int tid, int j) { return tid / kGT + (kGThreads / kGT) * j; }
STRAND_HD int load_col(int tid) { return tid % kGT; }
static_assert(kGThreads / kGT * kGPer == kGK, "the loads cover the tile");

// Which tile element each operand register of a lane reads at a k step (m16n8k8 TF32): A[m][k]
// (m: a p of the tile, k: a feature) register r; B[k][n] (n: a q of the tile) register r.
STRAND_HD int a_m(int lane, int r) { return lane / 4 + (r & 1) * 8; }
STRAND_HD int a_k(int lane, int r) { return lane % 4 + (r >> 1) * 4; }
STRAND_HD int b_k(int lane, int r) { return lane % 4 + r * 4; }
STRAND_HD int b_n(int lane) { return lane / 4; }
// Warp w's 32x32 corner of the tile, and the tile coordinates accumulator element e of its
// (mi, ni) mma tile holds.
STRAND_HD int warp_m(int warp) { return (warp / 2) * 32; }
STRAND_HD int warp_n(int warp) { return (warp % 2) * 32; }
STRAND_HD int acc_m(int lane, int mi, int e) { return mi * 16 + lane / 4 + (e >= 2 ? 8 : 0); }
STRAND_HD int acc_n(int lane, int ni, int e) { return ni * 8 + 2 * (lane % 4) + (e & 1); }

STRAND_HD bool gram_tile_runs(int bx, int by) { return by >= bx; }

// Thread tid's share of the [kGK][kGPad] tile of features f0.. at positions p0.. (zero outside).
STRAND_HD void gram_load(const GramOperand& op, int n, int f0, int p0, int tid, float* tile) {
  for (int j = 0; j < kGPer; ++j) {
    const int row = load_row(tid, j), col = load_col(tid);
    const int f = f0 + row, p = p0 + col;
    tile[row * kGPad + col] =
        (f < op.features && p < op.positions) ? op.data[n * op.sn + f * op.sf + p * op.sp] : 0.f;
  }
}

// The workspace element(s) accumulator value v at tile coordinates (m, c) goes to: (p, q), and
// its mirror (q, p) on an off-diagonal tile. Returns how many of idx[] are set.
STRAND_HD int gram_store_index(int positions, int bx, int by, int m, int c, long long* idx) {
  const int p = bx * kGT + m, q = by * kGT + c;
  if (p >= positions || q >= positions) return 0;
  idx[0] = static_cast<long long>(p) * positions + q;
  if (bx == by) return 1;
  idx[1] = static_cast<long long>(q) * positions + p;
  return 2;
}

// a_t . a_s of the unfolded input from the input Gram gx(n, p, q), zero in the padding.
struct CombineDims {
  int positions, len, k, stride, pad, dil;
};
struct DenseGram {
  const float* data;
  int len;
  STRAND_HD float operator()(int n, int p, int q) const {
    return data[(static_cast<long long>(n) * len + p) * len + q];
  }
};
struct BasesGram {
  const uint8_t* bases;
  int len;
  STRAND_HD float operator()(int n, int p, int q) const {
    const uint8_t a = bases[static_cast<long long>(n) * len + p];
    const uint8_t b = bases[static_cast<long long>(n) * len + q];
    return (a < 4 && b < 4) ? (a == b ? 1.f : 0.f) : 0.25f;
  }
};
// Pair r = t * T + s of example n: its term of the norm (0 below the diagonal).
template <class InputGram>
STRAND_HD float combine_term(const CombineDims& c, const InputGram& gx, const float* gg, int n,
                             int r) {
  const int t = r / c.positions;  // 32-bit: the host checks T * T fits
  const int s = r - t * c.positions;
  if (s < t) return 0.f;
  float dot = 0.f;
  for (int k = 0; k < c.k; ++k) {
    const int p = t * c.stride + k * c.dil - c.pad, q = s * c.stride + k * c.dil - c.pad;
    if (p >= 0 && p < c.len && q >= 0 && q < c.len) dot += gx(n, p, q);
  }
  const float w = s == t ? 1.f : 2.f;
  return w * dot * gg[(static_cast<long long>(n) * c.positions + t) * c.positions + s];
}

// grid (P tiles, P tiles, examples), block kGThreads; out [examples][P][P].
__global__ void __launch_bounds__(kGThreads) gram_kernel(GramOperand op, float* out) {
#if defined(__CUDA_ARCH__)
  const int bx = blockIdx.x, by = blockIdx.y;
  if (!gram_tile_runs(bx, by)) return;  // the mirror tile writes it
  __shared__ float tp[kGK * kGPad];
  __shared__ float tq[kGK * kGPad];
  const int n = blockIdx.z, tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int wm = warp_m(warp), wn = warp_n(warp);
  float acc[2][4][4] = {};
  for (int f0 = 0; f0 < op.features; f0 += kGK) {
    gram_load(op, n, f0, bx * kGT, tid, tp);
    gram_load(op, n, f0, by * kGT, tid, tq);
    __syncthreads();
#pragma unroll
    for (int ks = 0; ks < kGK; ks += 8) {
      uint32_t a_hi[2][4], a_lo[2][4], b_hi[4][2], b_lo[4][2];
#pragma unroll
      for (int mi = 0; mi < 2; ++mi) {
#pragma unroll
        for (int r = 0; r < 4; ++r) {
          const float v = tp[(ks + a_k(lane, r)) * kGPad + wm + mi * 16 + a_m(lane, r)];
          split_tf32(v, a_hi[mi][r], a_lo[mi][r]);
        }
      }
#pragma unroll
      for (int ni = 0; ni < 4; ++ni) {
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          const float v = tq[(ks + b_k(lane, r)) * kGPad + wn + ni * 8 + b_n(lane)];
          split_tf32(v, b_hi[ni][r], b_lo[ni][r]);
        }
      }
#pragma unroll
      for (int mi = 0; mi < 2; ++mi) {
#pragma unroll
        for (int ni = 0; ni < 4; ++ni) {
          mma_3xtf32(acc[mi][ni], a_hi[mi], a_lo[mi], b_hi[ni], b_lo[ni]);
        }
      }
    }
    __syncthreads();
  }
  float* dst = out + static_cast<long long>(n) * op.positions * op.positions;
#pragma unroll
  for (int mi = 0; mi < 2; ++mi) {
#pragma unroll
    for (int ni = 0; ni < 4; ++ni) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        long long idx[2];
        const int count = gram_store_index(op.positions, bx, by, wm + acc_m(lane, mi, e),
                                           wn + acc_n(lane, ni, e), idx);
        for (int i = 0; i < count; ++i) dst[idx[i]] = acc[mi][ni][e];
      }
    }
  }
#endif
}

constexpr int kCombineThreads = 256;

// grid (pair blocks, examples): each thread sums its pairs, the block adds into out[n].
template <class InputGram>
__global__ void __launch_bounds__(kCombineThreads)
    combine_kernel(CombineDims c, InputGram gx, const float* gg, float* out) {
  const int n = blockIdx.y;
  const int pairs = c.positions * c.positions;
  float sum = 0.f;
  for (int r = blockIdx.x * kCombineThreads + threadIdx.x; r < pairs;
       r += gridDim.x * kCombineThreads) {
    sum += combine_term(c, gx, gg, n, r);
  }
  const float total = block_sum(sum);
  if (threadIdx.x == 0) atomicAdd(out + n, total);
}

// ---- the host side ---------------------------------------------------------------------------

GramOperand input_operand(const Conv1dShape& conv, const float* x) {
  return {x, conv.in_channels * conv.in_length,  conv.in_length,
          1, static_cast<int>(conv.in_channels), static_cast<int>(conv.in_length)};
}
GramOperand grad_operand(const Conv1dShape& conv, const SampleRows<float>& g) {
  return {g.data,
          g.stride_n,
          g.stride_k,
          g.stride_t,
          static_cast<int>(conv.out_channels),
          static_cast<int>(conv.out_length())};
}
CombineDims combine_dims(const Conv1dShape& conv) {
  return {static_cast<int>(conv.out_length()), static_cast<int>(conv.in_length),
          static_cast<int>(conv.kernel_size),  static_cast<int>(conv.stride),
          static_cast<int>(conv.pad_left),     static_cast<int>(conv.dilation)};
}
// The operand of examples n0.. (the same strides, the pointer moved).
GramOperand from(GramOperand op, long long n0) {
  op.data += n0 * op.sn;
  return op;
}
int tiles(int positions) { return (positions + kGT - 1) / kGT; }

// Examples per chunk: both workspaces under kWorkspaceBytes (at least one example).
int64_t chunk_examples(const Conv1dShape& conv, bool dense) {
  const double lin = static_cast<double>(conv.in_length),
               t = static_cast<double>(conv.out_length());
  const double per = ((dense ? lin * lin : 0.0) + t * t) * sizeof(float);
  return std::clamp<int64_t>(static_cast<int64_t>(kWorkspaceBytes / per), 1, 65535);
}

void check_args(const Conv1dShape& conv, const float* x, const uint8_t* bases,
                const SampleRows<float>& g) {
  conv_per_sample_shape(conv);  // validates; groups == 1
  STRAND_CHECK((x == nullptr) != (bases == nullptr),
               "per-sample input-Gram norm: exactly one of x and bases must be given");
  STRAND_CHECK(g.data != nullptr, "per-sample input-Gram norm: the output gradient is null");
  STRAND_CHECK(conv.out_length() <= 46340,
               "per-sample input-Gram norm: {} output positions exceed 46340 (use ghost or "
               "materialized)",
               conv.out_length());
  STRAND_CHECK(!bases || conv.in_channels == 4,
               "per-sample norm of base codes: in_channels must be 4, got {}", conv.in_channels);
}

}  // namespace

void input_gram_norm(const Context& ctx, const Conv1dShape& conv, const float* x,
                     const uint8_t* bases, SampleRows<float> g, float* out) {
  check_args(conv, x, bases, g);
  const bool dense = x != nullptr;
  const CombineDims cd = combine_dims(conv);
  const int lin = cd.len, t = cd.positions;
  const int64_t chunk = std::min<int64_t>(chunk_examples(conv, dense), conv.batch);
  const size_t x_floats = dense ? static_cast<size_t>(chunk) * lin * lin : 0;
  const size_t g_floats = static_cast<size_t>(chunk) * t * t;
  // Stream-ordered scratch, returned to the pool on every exit (an error too).
  struct Workspace {
    const Context& ctx;
    float* ptr = nullptr;
    ~Workspace() {
      if (ptr) cudaFreeAsync(ptr, ctx.stream);
    }
  } ws{ctx};
  STRAND_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&ws.ptr),
                                    (x_floats + g_floats) * sizeof(float), ctx.stream));
  STRAND_CUDA_CHECK(cudaMemsetAsync(out, 0, conv.batch * sizeof(float), ctx.stream));
  float* px = ws.ptr;
  float* pg = ws.ptr + x_floats;
  const long long pairs = static_cast<long long>(t) * t;
  const unsigned pair_blocks = static_cast<unsigned>(
      std::min<long long>((pairs + kCombineThreads - 1) / kCombineThreads, 1024));
  for (int64_t n0 = 0; n0 < conv.batch; n0 += chunk) {
    const unsigned nb = static_cast<unsigned>(std::min<int64_t>(chunk, conv.batch - n0));
    if (dense) {
      const unsigned tx = static_cast<unsigned>(tiles(lin));
      gram_kernel<<<dim3(tx, tx, nb), kGThreads, 0, ctx.stream>>>(from(input_operand(conv, x), n0),
                                                                  px);
      STRAND_CUDA_CHECK_LAUNCH("per_sample_norm gram_kernel (input)");
    }
    const unsigned tg = static_cast<unsigned>(tiles(t));
    gram_kernel<<<dim3(tg, tg, nb), kGThreads, 0, ctx.stream>>>(from(grad_operand(conv, g), n0),
                                                                pg);
    STRAND_CUDA_CHECK_LAUNCH("per_sample_norm gram_kernel (output gradient)");
    if (dense) {
      combine_kernel<<<dim3(pair_blocks, nb), kCombineThreads, 0, ctx.stream>>>(
          cd, DenseGram{px, lin}, pg, out + n0);
    } else {
      combine_kernel<<<dim3(pair_blocks, nb), kCombineThreads, 0, ctx.stream>>>(
          cd, BasesGram{bases + n0 * lin, lin}, pg, out + n0);
    }
    STRAND_CUDA_CHECK_LAUNCH("per_sample_norm combine_kernel");
  }
}

namespace {

// gram_kernel on the host for examples [0, count) of op into out [count][P][P].
void emulate_gram(const GramOperand& op, int count, float* out) {
  namespace spec = mma_layout;
  const int nt = tiles(op.positions);
  std::vector<float> tp(kGK * kGPad), tq(kGK * kGPad);
  for (int n = 0; n < count; ++n)
    for (int by = 0; by < nt; ++by)
      for (int bx = 0; bx < nt; ++bx) {
        if (!gram_tile_runs(bx, by)) continue;
        std::vector<float> acc(kGThreads * 32, 0.f);  // [tid][mi][ni][e]
        for (int f0 = 0; f0 < op.features; f0 += kGK) {
          std::fill(tp.begin(), tp.end(), std::nanf(""));  // padding columns stay NaN: unread
          std::fill(tq.begin(), tq.end(), std::nanf(""));
          for (int tid = 0; tid < kGThreads; ++tid) {
            gram_load(op, n, f0, bx * kGT, tid, tp.data());
            gram_load(op, n, f0, by * kGT, tid, tq.data());
          }
          for (int warp = 0; warp < kGThreads / 32; ++warp) {
            const int wm = warp_m(warp), wn = warp_n(warp);
            for (int ks = 0; ks < kGK; ks += 8)
              for (int mi = 0; mi < 2; ++mi)
                for (int ni = 0; ni < 4; ++ni) {
                  float a[16][8], b[8][8];
                  int a_seen[16][8] = {}, b_seen[8][8] = {};
                  for (int lane = 0; lane < 32; ++lane) {
                    for (int r = 0; r < 4; ++r) {
                      const spec::Coord c = spec::tf32_a(lane, r);
                      a[c.row][c.col] =
                          tp[(ks + a_k(lane, r)) * kGPad + wm + mi * 16 + a_m(lane, r)];
                      ++a_seen[c.row][c.col];
                    }
                    for (int r = 0; r < 2; ++r) {
                      const spec::Coord c = spec::tf32_b(lane, r);
                      b[c.row][c.col] = tq[(ks + b_k(lane, r)) * kGPad + wn + ni * 8 + b_n(lane)];
                      ++b_seen[c.row][c.col];
                    }
                  }
                  for (int i = 0; i < 16 * 8; ++i) {
                    STRAND_CHECK(a_seen[i / 8][i % 8] == 1, "gram emulation: A slot {} filled {}",
                                 i, a_seen[i / 8][i % 8]);
                  }
                  for (int i = 0; i < 8 * 8; ++i) {
                    STRAND_CHECK(b_seen[i / 8][i % 8] == 1, "gram emulation: B slot {} filled {}",
                                 i, b_seen[i / 8][i % 8]);
                  }
                  for (int lane = 0; lane < 32; ++lane)
                    for (int e = 0; e < 4; ++e) {
                      const spec::Coord c = spec::f32_c(lane, e);
                      float d = 0.f;
                      for (int k = 0; k < 8; ++k) d += a[c.row][k] * b[k][c.col];
                      acc[(warp * 32 + lane) * 32 + (mi * 4 + ni) * 4 + e] += d;
                    }
                }
          }
        }
        float* dst = out + static_cast<long long>(n) * op.positions * op.positions;
        for (int tid = 0; tid < kGThreads; ++tid) {
          const int lane = tid % 32, warp = tid / 32;
          for (int mi = 0; mi < 2; ++mi)
            for (int ni = 0; ni < 4; ++ni)
              for (int e = 0; e < 4; ++e) {
                long long idx[2];
                const int count_idx =
                    gram_store_index(op.positions, bx, by, warp_m(warp) + acc_m(lane, mi, e),
                                     warp_n(warp) + acc_n(lane, ni, e), idx);
                for (int i = 0; i < count_idx; ++i) {
                  dst[idx[i]] = acc[tid * 32 + (mi * 4 + ni) * 4 + e];
                }
              }
        }
      }
}

}  // namespace

void input_gram_norm_emulate(const Conv1dShape& conv, const float* x, const uint8_t* bases,
                             SampleRows<float> g, float* out) {
  check_args(conv, x, bases, g);
  const CombineDims cd = combine_dims(conv);
  const int n = static_cast<int>(conv.batch), lin = cd.len, t = cd.positions;
  std::vector<float> px, pg(static_cast<size_t>(n) * t * t, std::nanf(""));
  if (x) {
    px.assign(static_cast<size_t>(n) * lin * lin, std::nanf(""));
    emulate_gram(input_operand(conv, x), n, px.data());
  }
  emulate_gram(grad_operand(conv, g), n, pg.data());
  for (int i = 0; i < n; ++i) {
    double total = 0;
    for (int r = 0; r < t * t; ++r) {
      total += x ? combine_term(cd, DenseGram{px.data(), lin}, pg.data(), i, r)
                 : combine_term(cd, BasesGram{bases, lin}, pg.data(), i, r);
    }
    out[i] = static_cast<float>(total);
  }
}

}  // namespace strand::kernels::cuda::detail
