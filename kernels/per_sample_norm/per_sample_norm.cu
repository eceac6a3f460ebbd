// CUDA per-example gradient norms (per_sample_norm.h). One kernel per method, templated on how the
// input a is read (dense rows, im2col of a convolution's input, or the one-hot of base codes), so
// nothing is unfolded into memory:
//   materialized: a block owns a 32x32 tile of one example's weight gradient G_i, accumulates it
//     over the positions through shared memory, squares and sums it, and adds the tile's sum into
//     out[i] atomically. G_i never leaves the chip.
//   ghost: a block owns a 32x32 tile of (t, s) pairs of one example, builds both Gram tiles
//     (a_t . a_s and g_t . g_s) over the feature dimensions, and adds sum(A .* G) into out[i]; the
//     Gram matrices are symmetric, so only tiles with s >= t run and off-diagonal tiles count
//     twice.
//   input_gram (convolutions): per_sample_norm_gram.cu, on tensor cores.
//   Each kernel's loads and accumulations are host/device functions, so the host emulation
//   (per_sample_norm_emulate.h) runs the kernels' own index maps on the CPU for tests.
#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_check.h"
#include "kernels/common/cuda_reduce.h"
#include "kernels/common/hd.h"
#include "kernels/per_sample_norm/per_sample_norm.h"
#include "kernels/per_sample_norm/per_sample_norm_emulate.h"
#include "kernels/per_sample_norm/per_sample_norm_gram.h"

namespace strand::kernels::cuda {
namespace {

constexpr int kTile = 32;
constexpr int kRows = 8;  // threads per block: kTile x kRows; each thread owns kTile/kRows rows
constexpr int kPer = kTile / kRows;

struct DenseA {
  const float* data;
  int64_t sn, st, sk;
  STRAND_HD float operator()(int64_t i, int64_t t, int64_t k) const {
    return data[i * sn + t * st + k * sk];
  }
};

struct ConvA {
  const float* x;
  int64_t c_in, len, k_size, stride, pad, dil;
  STRAND_HD float operator()(int64_t i, int64_t t, int64_t k) const {
    const int64_t c = k / k_size, kk = k - c * k_size;
    const int64_t p = t * stride - pad + kk * dil;
    return (p >= 0 && p < len) ? x[(i * c_in + c) * len + p] : 0.f;
  }
};

struct BasesA {
  const uint8_t* bases;
  int64_t len, k_size, stride, pad, dil;
  STRAND_HD float operator()(int64_t i, int64_t t, int64_t k) const {
    const int64_t c = k / k_size, kk = k - c * k_size;
    const int64_t p = t * stride - pad + kk * dil;
    if (p < 0 || p >= len) return 0.f;
    const uint8_t code = bases[i * len + p];
    return code < 4 ? (code == c ? 1.f : 0.f) : 0.25f;
  }
};

struct Dims {
  int64_t positions, in_dim, out_dim;
};

// Sums v over the block and adds the total into *dst (one atomic per block).
__device__ void block_add(float v, float* dst) {
  const float total = block_sum(v);
  if (threadIdx.x == 0 && threadIdx.y == 0) atomicAdd(dst, total);
}

// Materialized, one position tile: thread (tx, ty) loads rows ty + 8r of both operand tiles.
template <typename A>
STRAND_HD void materialized_load(const Dims& d, const A& a, const DenseA& g, int64_t i, int64_t k0,
                                 int64_t o0, int64_t t0, int tx, int ty, float (*as)[kTile + 1],
                                 float (*gs)[kTile + 1]) {
  for (int r = 0; r < kPer; ++r) {
    const int row = ty + kRows * r;
    const int64_t t = t0 + row;
    as[row][tx] = (t < d.positions && k0 + tx < d.in_dim) ? a(i, t, k0 + tx) : 0.f;   // [t][k]
    gs[row][tx] = (t < d.positions && o0 + tx < d.out_dim) ? g(i, t, o0 + tx) : 0.f;  // [t][o]
  }
}
// ... and accumulates G_i[k0 + tx][o0 + ty + 8r] over the tile's positions.
STRAND_HD void materialized_accumulate(int tx, int ty, const float (*as)[kTile + 1],
                                       const float (*gs)[kTile + 1], float (&acc)[kPer]) {
#pragma unroll 8
  for (int tt = 0; tt < kTile; ++tt) {
    const float av = as[tt][tx];
    for (int r = 0; r < kPer; ++r) acc[r] += gs[tt][ty + kRows * r] * av;
  }
}

// grid (in tiles, out tiles, N), block (32, 8).
template <typename A>
__global__ void materialized_kernel(Dims d, A a, DenseA g, float* out) {
  __shared__ float as[kTile][kTile + 1];
  __shared__ float gs[kTile][kTile + 1];
  const int64_t i = blockIdx.z;
  const int64_t k0 = static_cast<int64_t>(blockIdx.x) * kTile;
  const int64_t o0 = static_cast<int64_t>(blockIdx.y) * kTile;
  const int tx = threadIdx.x, ty = threadIdx.y;
  float acc[kPer] = {};
  for (int64_t t0 = 0; t0 < d.positions; t0 += kTile) {
    materialized_load(d, a, g, i, k0, o0, t0, tx, ty, as, gs);
    __syncthreads();
    materialized_accumulate(tx, ty, as, gs, acc);
    __syncthreads();
  }
  float sum = 0.f;
  for (int r = 0; r < kPer; ++r) sum += acc[r] * acc[r];  // out-of-range entries stayed zero
  block_add(sum, out + i);
}

// Ghost, one feature tile c0 of the Gram tile dot(x_t, x_s), t in t0.., s in s0..: thread (tx, ty)
// loads rows ty + 8r of the t and s tiles ...
template <typename X>
STRAND_HD void gram_load(const X& x, int64_t i, int64_t t0, int64_t s0, int64_t positions,
                         int64_t c0, int64_t cols, int tx, int ty, float (*tile_t)[kTile + 1],
                         float (*tile_s)[kTile + 1]) {
  for (int r = 0; r < kPer; ++r) {
    const int row = ty + kRows * r;
    const bool col_ok = c0 + tx < cols;
    tile_t[row][tx] = (col_ok && t0 + row < positions) ? x(i, t0 + row, c0 + tx) : 0.f;
    tile_s[row][tx] = (col_ok && s0 + row < positions) ? x(i, s0 + row, c0 + tx) : 0.f;
  }
}
// ... and accumulates the pairs (t0 + ty + 8r, s0 + tx).
STRAND_HD void gram_accumulate(int tx, int ty, const float (*tile_t)[kTile + 1],
                               const float (*tile_s)[kTile + 1], float (&acc)[kPer]) {
#pragma unroll 8
  for (int cc = 0; cc < kTile; ++cc) {
    const float sv = tile_s[tx][cc];
    for (int r = 0; r < kPer; ++r) acc[r] += tile_t[ty + kRows * r][cc] * sv;
  }
}

template <typename X>
__device__ void gram_tile(const X& x, int64_t i, int64_t t0, int64_t s0, int64_t positions,
                          int64_t cols, float (*tile_t)[kTile + 1], float (*tile_s)[kTile + 1],
                          float (&acc)[kPer]) {
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
    gram_load(x, i, t0, s0, positions, c0, cols, tx, ty, tile_t, tile_s);
    __syncthreads();
    gram_accumulate(tx, ty, tile_t, tile_s, acc);
    __syncthreads();
  }
}

// Symmetric Gram matrices: only tiles with s >= t run; off-diagonal ones count twice.
STRAND_HD bool ghost_tile_runs(int64_t bx, int64_t by) { return by >= bx; }
STRAND_HD float ghost_tile_weight(int64_t bx, int64_t by) { return by != bx ? 2.f : 1.f; }

// grid (t tiles, s tiles, N), block (32, 8); thread (tx, ty) owns pairs (t0 + ty + 8r, s0 + tx).
template <typename A>
__global__ void ghost_kernel(Dims d, A a, DenseA g, float* out) {
  if (!ghost_tile_runs(blockIdx.x, blockIdx.y)) return;  // the (s, t) tile mirrors this one
  __shared__ float tile_t[kTile][kTile + 1];
  __shared__ float tile_s[kTile][kTile + 1];
  const int64_t i = blockIdx.z;
  const int64_t t0 = static_cast<int64_t>(blockIdx.x) * kTile;
  const int64_t s0 = static_cast<int64_t>(blockIdx.y) * kTile;
  float acc_a[kPer] = {}, acc_g[kPer] = {};
  gram_tile(a, i, t0, s0, d.positions, d.in_dim, tile_t, tile_s, acc_a);
  gram_tile(g, i, t0, s0, d.positions, d.out_dim, tile_t, tile_s, acc_g);
  float sum = 0.f;
  for (int r = 0; r < kPer; ++r) sum += acc_a[r] * acc_g[r];  // padded rows gave zeros
  block_add(sum * ghost_tile_weight(blockIdx.x, blockIdx.y), out + i);
}

// Bias: output column o of block (bx, i), thread (tx, ty), and its sum over positions.
STRAND_HD int64_t bias_column(int64_t bx, int tx, int ty) {
  return bx * (kTile * kRows) + ty * kTile + tx;
}
STRAND_HD float bias_sum(const Dims& d, const DenseA& g, int64_t i, int64_t o) {
  float s = 0.f;
  if (o < d.out_dim) {
    for (int64_t t = 0; t < d.positions; ++t) s += g(i, t, o);
  }
  return s;
}

// grid (out tiles of 256, N), block (32, 8): one thread per output column.
__global__ void bias_kernel(Dims d, DenseA g, float* out) {
  const int64_t i = blockIdx.y;
  const float s = bias_sum(d, g, i, bias_column(blockIdx.x, threadIdx.x, threadIdx.y));
  block_add(s * s, out + i);
}

DenseA rows_of(const SampleRows<float>& r) { return {r.data, r.stride_n, r.stride_t, r.stride_k}; }
ConvA conv_rows(const Conv1dShape& conv, const float* x) {
  return {x,           conv.in_channels, conv.in_length, conv.kernel_size,
          conv.stride, conv.pad_left,    conv.dilation};
}
BasesA bases_rows(const Conv1dShape& conv, const uint8_t* bases) {
  STRAND_CHECK(conv.in_channels == 4,
               "per-sample norm of base codes: in_channels must be 4, got {}", conv.in_channels);
  return {bases, conv.in_length, conv.kernel_size, conv.stride, conv.pad_left, conv.dilation};
}

// The kernels above run on the host, block by block and thread by thread, each phase for every
// thread before the next (what __syncthreads orders); block_add becomes a serial sum.
template <typename A>
void emulate(const PerSampleShape& s, const A& a, const SampleRows<float>& gr, NormMethod method,
             float* out) {
  s.validate();
  const Dims d{s.positions, s.in_dim, s.out_dim};
  const DenseA g = rows_of(gr);
  constexpr int kThreads = kTile * kRows;
  float t_tile[kTile][kTile + 1], s_tile[kTile][kTile + 1];
  for (int64_t i = 0; i < s.batch; ++i) {
    double total = 0;
    if (method == NormMethod::kMaterialized) {
      for (int64_t bx = 0; bx * kTile < s.in_dim; ++bx) {
        for (int64_t by = 0; by * kTile < s.out_dim; ++by) {
          std::vector<float> acc(kThreads * kPer, 0.f);
          for (int64_t t0 = 0; t0 < s.positions; t0 += kTile) {
            for (int ty = 0; ty < kRows; ++ty)
              for (int tx = 0; tx < kTile; ++tx)
                materialized_load(d, a, g, i, bx * kTile, by * kTile, t0, tx, ty, t_tile, s_tile);
            for (int ty = 0; ty < kRows; ++ty)
              for (int tx = 0; tx < kTile; ++tx)
                materialized_accumulate(
                    tx, ty, t_tile, s_tile,
                    *reinterpret_cast<float(*)[kPer]>(&acc[(ty * kTile + tx) * kPer]));
          }
          for (float v : acc) total += v * v;
        }
      }
    } else {
      const int64_t tiles = (s.positions + kTile - 1) / kTile;
      for (int64_t bx = 0; bx < tiles; ++bx) {
        for (int64_t by = 0; by < tiles; ++by) {
          if (!ghost_tile_runs(bx, by)) continue;
          std::vector<float> acc_a(kThreads * kPer, 0.f), acc_g(kThreads * kPer, 0.f);
          auto gram = [&](const auto& x, int64_t cols, std::vector<float>& acc) {
            for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
              for (int ty = 0; ty < kRows; ++ty)
                for (int tx = 0; tx < kTile; ++tx)
                  gram_load(x, i, bx * kTile, by * kTile, s.positions, c0, cols, tx, ty, t_tile,
                            s_tile);
              for (int ty = 0; ty < kRows; ++ty)
                for (int tx = 0; tx < kTile; ++tx)
                  gram_accumulate(
                      tx, ty, t_tile, s_tile,
                      *reinterpret_cast<float(*)[kPer]>(&acc[(ty * kTile + tx) * kPer]));
            }
          };
          gram(a, s.in_dim, acc_a);
          gram(g, s.out_dim, acc_g);
          double sum = 0;
          for (size_t k = 0; k < acc_a.size(); ++k) sum += acc_a[k] * acc_g[k];
          total += sum * ghost_tile_weight(bx, by);
        }
      }
    }
    out[i] = static_cast<float>(total);
  }
}

template <typename A>
void launch(const Context& ctx, const PerSampleShape& s, const A& a, const SampleRows<float>& g,
            NormMethod method, float* out) {
  s.validate();
  STRAND_CHECK(s.batch <= 65535, "per-sample norm (CUDA): batch {} exceeds 65535", s.batch);
  STRAND_CUDA_CHECK(cudaMemsetAsync(out, 0, s.batch * sizeof(float), ctx.stream));
  const Dims d{s.positions, s.in_dim, s.out_dim};
  const dim3 block(kTile, kRows);
  if (method == NormMethod::kMaterialized) {
    const int64_t in_tiles = (s.in_dim + kTile - 1) / kTile;
    const int64_t out_tiles = (s.out_dim + kTile - 1) / kTile;
    STRAND_CHECK(out_tiles <= 65535, "per-sample norm (CUDA): out_dim {} too large", s.out_dim);
    const dim3 grid(static_cast<unsigned>(in_tiles), static_cast<unsigned>(out_tiles),
                    static_cast<unsigned>(s.batch));
    materialized_kernel<<<grid, block, 0, ctx.stream>>>(d, a, rows_of(g), out);
    STRAND_CUDA_CHECK_LAUNCH("per_sample_norm materialized_kernel");
  } else {
    const int64_t tiles = (s.positions + kTile - 1) / kTile;
    STRAND_CHECK(tiles <= 65535, "per-sample norm (CUDA): {} positions too many for ghost norms",
                 s.positions);
    const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(tiles),
                    static_cast<unsigned>(s.batch));
    ghost_kernel<<<grid, block, 0, ctx.stream>>>(d, a, rows_of(g), out);
    STRAND_CUDA_CHECK_LAUNCH("per_sample_norm ghost_kernel");
  }
}

}  // namespace

template <typename T>
void per_sample_norm_dense(const Context& ctx, const PerSampleShape& s, SampleRows<T> a,
                           SampleRows<T> g, NormMethod method, T* out) {
  launch(ctx, s, rows_of(a), g, method, out);
}

template <typename T>
void per_sample_norm_conv1d(const Context& ctx, const Conv1dShape& conv, const T* x,
                            SampleRows<T> g, NormMethod method, T* out) {
  if (method == NormMethod::kInputGram)
    return detail::input_gram_norm(ctx, conv, x, nullptr, g, out);
  launch(ctx, conv_per_sample_shape(conv), conv_rows(conv, x), g, method, out);
}

template <typename T>
void per_sample_norm_bases(const Context& ctx, const Conv1dShape& conv, const uint8_t* bases,
                           SampleRows<T> g, NormMethod method, T* out) {
  if (method == NormMethod::kInputGram) {
    return detail::input_gram_norm(ctx, conv, nullptr, bases, g, out);
  }
  launch(ctx, conv_per_sample_shape(conv), bases_rows(conv, bases), g, method, out);
}

template <typename T>
void per_sample_bias_norm(const Context& ctx, const PerSampleShape& s, SampleRows<T> g, T* out) {
  STRAND_CHECK(s.batch > 0 && s.positions > 0 && s.out_dim > 0,
               "per-sample bias norm: batch ({}), positions ({}) and out_dim ({}) must be positive",
               s.batch, s.positions, s.out_dim);
  STRAND_CHECK(s.batch <= 65535, "per-sample norm (CUDA): batch {} exceeds 65535", s.batch);
  STRAND_CUDA_CHECK(cudaMemsetAsync(out, 0, s.batch * sizeof(float), ctx.stream));
  const Dims d{s.positions, s.in_dim, s.out_dim};
  const int64_t per_block = kTile * kRows;
  const dim3 grid(static_cast<unsigned>((s.out_dim + per_block - 1) / per_block),
                  static_cast<unsigned>(s.batch));
  bias_kernel<<<grid, dim3(kTile, kRows), 0, ctx.stream>>>(d, rows_of(g), out);
  STRAND_CUDA_CHECK_LAUNCH("per_sample_norm bias_kernel");
}

template void per_sample_norm_dense<float>(const Context&, const PerSampleShape&, SampleRows<float>,
                                           SampleRows<float>, NormMethod, float*);
template void per_sample_norm_conv1d<float>(const Context&, const Conv1dShape&, const float*,
                                            SampleRows<float>, NormMethod, float*);
template void per_sample_norm_bases<float>(const Context&, const Conv1dShape&, const uint8_t*,
                                           SampleRows<float>, NormMethod, float*);
template void per_sample_bias_norm<float>(const Context&, const PerSampleShape&, SampleRows<float>,
                                          float*);

namespace detail {

void per_sample_norm_emulate_dense(const PerSampleShape& s, SampleRows<float> a,
                                   SampleRows<float> g, NormMethod method, float* out) {
  emulate(s, rows_of(a), g, method, out);
}
void per_sample_norm_emulate_conv1d(const Conv1dShape& conv, const float* x, SampleRows<float> g,
                                    NormMethod method, float* out) {
  if (method == NormMethod::kInputGram) return input_gram_norm_emulate(conv, x, nullptr, g, out);
  emulate(conv_per_sample_shape(conv), conv_rows(conv, x), g, method, out);
}
void per_sample_norm_emulate_bases(const Conv1dShape& conv, const uint8_t* bases,
                                   SampleRows<float> g, NormMethod method, float* out) {
  if (method == NormMethod::kInputGram) {
    return input_gram_norm_emulate(conv, nullptr, bases, g, out);
  }
  emulate(conv_per_sample_shape(conv), bases_rows(conv, bases), g, method, out);
}
void per_sample_bias_norm_emulate(const PerSampleShape& s, SampleRows<float> g, float* out) {
  const Dims d{s.positions, s.in_dim, s.out_dim};
  const int64_t per_block = kTile * kRows;
  for (int64_t i = 0; i < s.batch; ++i) {
    double total = 0;
    for (int64_t bx = 0; bx * per_block < s.out_dim; ++bx)
      for (int ty = 0; ty < kRows; ++ty)
        for (int tx = 0; tx < kTile; ++tx) {
          const float v = bias_sum(d, rows_of(g), i, bias_column(bx, tx, ty));
          total += v * v;
        }
    out[i] = static_cast<float>(total);
  }
}

}  // namespace detail

}  // namespace strand::kernels::cuda
