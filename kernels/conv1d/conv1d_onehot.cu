// CUDA one-hot DNA conv1d (semantics in conv1d_onehot.h): a gather-sum forward that looks weight
// columns up by base code from shared memory, and a weight-gradient scatter-add that bins dy by
// base in registers and reduces per block.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/common/cuda_check.h"
#include "kernels/common/cuda_reduce.h"
#include "kernels/common/type_lists.h"
#include "kernels/conv1d/conv1d_cuda_impl.h"
#include "kernels/conv1d/conv1d_onehot_pool.h"

namespace strand::kernels::cuda {
namespace {

using detail::device_ptr;
using detail::DeviceType;

constexpr int kSlots = 6;  // 0..3 bases, 4 unknown (mean of the four), 5 padding (zero)
constexpr uint8_t kPadSlot = 5;

struct OnehotDims {
  int n, cout, lin, lout, k, stride, pad, dil, row_bytes;
  bool packed;
};

__host__ __device__ inline uint8_t read_base(const uint8_t* bases, const OnehotDims& d, int n,
                                             int p) {
  const uint8_t* row = bases + static_cast<long long>(n) * d.row_bytes;
  if (!d.packed) {
    const uint8_t v = row[p];
    return v > kBaseUnknown ? kBaseUnknown : v;
  }
  return static_cast<uint8_t>((row[p >> 2] >> (2 * (p & 3))) & 3u);
}

template <typename E>
__host__ __device__ inline E cast_out(float v) {
  if constexpr (std::is_same_v<E, __nv_bfloat16>) {
    return __float2bfloat16_rn(v);
  } else {
    return v;
  }
}

// Forward: block = (kFwdT output positions) x (kFwdO output channels) of one sample. Shared:
// table[(o_local*K + k)*6 + slot] (floats), then the slots of the input window the block reads.
// The two phases are host/device functions so the host emulation runs the kernel's own code.
constexpr int kFwdT = 128;
constexpr int kFwdO = 16;

__host__ __device__ inline int forward_window(const OnehotDims& d) {
  return (kFwdT - 1) * d.stride + (d.k - 1) * d.dil + 1;
}

size_t forward_smem_bytes(const OnehotDims& d) {
  return static_cast<size_t>(kFwdO) * d.k * kSlots * sizeof(float) +
         static_cast<size_t>(forward_window(d));
}

// Phase 1, thread tid of `threads`: its share of the weight table and of the base window of
// `span` slots that starts at the input position of output t0.
template <typename E>
__host__ __device__ void forward_fill(const OnehotDims& d, const uint8_t* bases, const E* w, int n,
                                      int o0, int t0, int span, int tid, int threads, float* table,
                                      uint8_t* window) {
  for (int i = tid; i < kFwdO * d.k; i += threads) {
    const int ol = i / d.k;
    const int k = i - ol * d.k;
    const int o = o0 + ol;
    float v[4] = {0.f, 0.f, 0.f, 0.f};
    if (o < d.cout) {
#pragma unroll
      for (int c = 0; c < 4; ++c) v[c] = static_cast<float>(w[(o * 4 + c) * d.k + k]);
    }
    float* row = table + i * kSlots;
#pragma unroll
    for (int c = 0; c < 4; ++c) row[c] = v[c];
    row[kBaseUnknown] = 0.25f * (v[0] + v[1] + v[2] + v[3]);
    row[kPadSlot] = 0.f;
  }
  // window[j] is input position t0*stride + j - pad_left.
  for (int j = tid; j < span; j += threads) {
    const long long p = static_cast<long long>(t0) * d.stride + j - d.pad;
    window[j] = (p >= 0 && p < d.lin) ? read_base(bases, d, n, static_cast<int>(p)) : kPadSlot;
  }
}

// Phase 2, after the block has filled table and window: output position t0 + tid.
template <typename E>
__host__ __device__ void forward_compute(const OnehotDims& d, const E* bias, E* y, int n, int o0,
                                         int t0, int tid, const float* table,
                                         const uint8_t* window) {
  const int t = t0 + tid;
  if (t >= d.lout) return;
  float acc[kFwdO];
#pragma unroll
  for (int ol = 0; ol < kFwdO; ++ol) {
    acc[ol] = (bias && o0 + ol < d.cout) ? static_cast<float>(bias[o0 + ol]) : 0.f;
  }
  for (int k = 0; k < d.k; ++k) {
    const int slot = window[tid * d.stride + k * d.dil];
#pragma unroll
    for (int ol = 0; ol < kFwdO; ++ol) acc[ol] += table[(ol * d.k + k) * kSlots + slot];
  }
#pragma unroll
  for (int ol = 0; ol < kFwdO; ++ol) {
    const int o = o0 + ol;
    if (o < d.cout) y[(static_cast<long long>(n) * d.cout + o) * d.lout + t] = cast_out<E>(acc[ol]);
  }
}

template <typename E>
__global__ void __launch_bounds__(kFwdT)
    onehot_forward_kernel(OnehotDims d, const uint8_t* bases, const E* w, const E* bias, E* y) {
  extern __shared__ __align__(16) unsigned char smem[];
  float* table = reinterpret_cast<float*>(smem);
  uint8_t* window = smem + static_cast<size_t>(kFwdO) * d.k * kSlots * sizeof(float);
  const int n = blockIdx.z;
  const int o0 = blockIdx.y * kFwdO;
  const int t0 = blockIdx.x * kFwdT;
  forward_fill(d, bases, w, n, o0, t0, forward_window(d), threadIdx.x, kFwdT, table, window);
  __syncthreads();
  forward_compute(d, bias, y, n, o0, t0, threadIdx.x, table, window);
}

// Forward fused with ReLU and max pooling (no padding): block = kPoolT pooled outputs x kFwdO
// channels of one sample. The table and a base window covering the block's conv outputs are
// filled as for the plain forward; thread tid then computes the pool window of pooled output
// j0 + tid (p.size conv outputs per channel) and writes only max(0, bias + max): ReLU and max
// commute, and the bias is the same over the window. The conv output never reaches memory.
constexpr int kPoolT = 128;

struct PoolDims {
  int size, stride, lout;  // lout: the pooled length
};

__host__ __device__ inline int pool_window(const OnehotDims& d, const PoolDims& p) {
  const int conv_outputs = (kPoolT - 1) * p.stride + p.size;
  return (conv_outputs - 1) * d.stride + (d.k - 1) * d.dil + 1;
}

size_t pool_smem_bytes(const OnehotDims& d, const PoolDims& p) {
  return static_cast<size_t>(kFwdO) * d.k * kSlots * sizeof(float) +
         static_cast<size_t>(pool_window(d, p));
}

template <typename E, typename Y>
__host__ __device__ void pool_compute(const OnehotDims& d, const PoolDims& p, const E* bias, Y* y,
                                      int n, int o0, int j0, int tid, const float* table,
                                      const uint8_t* window) {
  const int j = j0 + tid;
  if (j >= p.lout) return;
  float best[kFwdO];
#pragma unroll
  for (int ol = 0; ol < kFwdO; ++ol) best[ol] = -INFINITY;
  for (int q = 0; q < p.size; ++q) {
    // Conv output j*S + q sits (j - j0)*S + q outputs after the block's first, j0*S.
    const int at = (tid * p.stride + q) * d.stride;
    float acc[kFwdO];
#pragma unroll
    for (int ol = 0; ol < kFwdO; ++ol) acc[ol] = 0.f;
    for (int k = 0; k < d.k; ++k) {
      const int slot = window[at + k * d.dil];
#pragma unroll
      for (int ol = 0; ol < kFwdO; ++ol) acc[ol] += table[(ol * d.k + k) * kSlots + slot];
    }
#pragma unroll
    for (int ol = 0; ol < kFwdO; ++ol) best[ol] = fmaxf(best[ol], acc[ol]);
  }
#pragma unroll
  for (int ol = 0; ol < kFwdO; ++ol) {
    const int o = o0 + ol;
    if (o < d.cout) {
      const float v = best[ol] + (bias ? static_cast<float>(bias[o]) : 0.f);
      y[(static_cast<long long>(n) * d.cout + o) * p.lout + j] = cast_out<Y>(fmaxf(v, 0.f));
    }
  }
}

template <typename E, typename Y>
__global__ void __launch_bounds__(kPoolT)
    onehot_relu_pool_kernel(OnehotDims d, PoolDims p, const uint8_t* bases, const E* w,
                            const E* bias, Y* y) {
  extern __shared__ __align__(16) unsigned char smem[];
  float* table = reinterpret_cast<float*>(smem);
  uint8_t* window = smem + static_cast<size_t>(kFwdO) * d.k * kSlots * sizeof(float);
  const int n = blockIdx.z;
  const int o0 = blockIdx.y * kFwdO;
  const int j0 = blockIdx.x * kPoolT;
  forward_fill(d, bases, w, n, o0, j0 * p.stride, pool_window(d, p), threadIdx.x, kPoolT, table,
               window);
  __syncthreads();
  pool_compute(d, p, bias, y, n, o0, j0, threadIdx.x, table, window);
}

// Weight gradient: block = kBwdO output channels x kBwdT output positions x kBwdN samples. Each
// thread owns one tap k and a strided share of the positions (TapSplit) and sums dy into its own
// bins bin[o][slot] in registers over all the block's samples: no shuffle and no barrier per tap.
// The bins are reduced once per block through shared memory, in a fixed order, and added into
// the fp32 workspace with one atomic per (o, c, k). A kernel longer than kBwdThreads taps takes
// several passes over the taps.
constexpr int kBwdThreads = 256;
constexpr int kBwdO = 4;
constexpr int kBwdT = 256;
constexpr int kBwdN = 8;
constexpr int kBins = kBwdO * 5;  // per thread: 4 bases + unknown, per channel

struct TapSplit {
  int kb, taps, groups;  // taps kb.. in this pass; `groups` threads per tap
};
__host__ __device__ inline TapSplit tap_split(const OnehotDims& d, int kb) {
  const int taps = d.k - kb < kBwdThreads ? d.k - kb : kBwdThreads;
  return {kb, taps, kBwdThreads / taps};
}

__host__ __device__ inline int backward_window(const OnehotDims& d) {
  return (kBwdT - 1) * d.stride + (d.k - 1) * d.dil + 1;
}

size_t backward_smem_bytes(const OnehotDims& d) {
  return (static_cast<size_t>(kBwdO) * kBwdT + static_cast<size_t>(kBwdThreads) * kBins) *
             sizeof(float) +
         static_cast<size_t>(backward_window(d));
}

// Per sample, thread tid: its share of dys[ol * kBwdT + tt] = dy[n, o0 + ol, t0 + tt] (zero past
// the ends) and of the base window from the input position of output t0.
template <typename E>
__host__ __device__ void backward_load(const OnehotDims& d, const uint8_t* bases, const E* dy,
                                       int n, int o0, int t0, int tid, float* dys,
                                       uint8_t* window) {
  for (int i = tid; i < kBwdO * kBwdT; i += kBwdThreads) {
    const int ol = i / kBwdT, tt = i - ol * kBwdT;
    const int o = o0 + ol, t = t0 + tt;
    dys[i] = (o < d.cout && t < d.lout)
                 ? static_cast<float>(dy[(static_cast<long long>(n) * d.cout + o) * d.lout + t])
                 : 0.f;
  }
  const int span = backward_window(d);
  for (int j = tid; j < span; j += kBwdThreads) {
    const long long p = static_cast<long long>(t0) * d.stride + j - d.pad;
    window[j] = (p >= 0 && p < d.lin) ? read_base(bases, d, n, static_cast<int>(p)) : kPadSlot;
  }
}

// Thread tid's tap kb + tid / groups adds the loaded sample into its bins (padding: no bin).
__host__ __device__ inline void backward_bin(const OnehotDims& d, const TapSplit& sp, int tid,
                                             const float* dys, const uint8_t* window,
                                             float (&bin)[kBwdO][5]) {
  if (tid >= sp.taps * sp.groups) return;
  const int k = sp.kb + tid / sp.groups;
  for (int tt = tid % sp.groups; tt < kBwdT; tt += sp.groups) {
    const int slot = window[tt * d.stride + k * d.dil];
#pragma unroll
    for (int ol = 0; ol < kBwdO; ++ol) {
      const float v = dys[ol * kBwdT + tt];
#pragma unroll
      for (int c = 0; c < 5; ++c) bin[ol][c] += (slot == c) ? v : 0.f;
    }
  }
}

// Reduction item r (tap, channel, base) of the pass: the sum over the tap's threads, in order,
// of bin[c] + bin[unknown]/4, and the workspace index it adds to; false when r has no item.
__host__ __device__ inline bool backward_reduce(const OnehotDims& d, const TapSplit& sp, int o0,
                                                int r, const float* partial, int* index,
                                                float* value) {
  if (r >= sp.taps * kBwdO * 4) return false;
  const int kl = r / (kBwdO * 4), ol = (r / 4) % kBwdO, c = r % 4;
  const int o = o0 + ol;
  if (o >= d.cout) return false;
  float sum = 0.f;
  for (int g = 0; g < sp.groups; ++g) {
    const float* b = partial + (kl * sp.groups + g) * kBins + ol * 5;
    sum += b[c] + 0.25f * b[kBaseUnknown];
  }
  *index = (o * 4 + c) * d.k + sp.kb + kl;
  *value = sum;
  return true;
}

template <typename E>
__global__ void __launch_bounds__(kBwdThreads)
    onehot_backward_weight_kernel(OnehotDims d, const uint8_t* bases, const E* dy, float* ws) {
  extern __shared__ __align__(16) unsigned char smem[];
  float* dys = reinterpret_cast<float*>(smem);
  float* partial = dys + kBwdO * kBwdT;
  uint8_t* window = reinterpret_cast<uint8_t*>(partial + kBwdThreads * kBins);
  const int o0 = blockIdx.y * kBwdO;
  const int t0 = blockIdx.x * kBwdT;
  const int n0 = blockIdx.z * kBwdN;
  const int n_end = n0 + kBwdN < d.n ? n0 + kBwdN : d.n;
  const int tid = threadIdx.x;
  for (int kb = 0; kb < d.k; kb += kBwdThreads) {
    const TapSplit sp = tap_split(d, kb);
    float bin[kBwdO][5];
#pragma unroll
    for (int ol = 0; ol < kBwdO; ++ol)
#pragma unroll
      for (int c = 0; c < 5; ++c) bin[ol][c] = 0.f;
    for (int n = n0; n < n_end; ++n) {
      __syncthreads();  // the previous sample's tiles (or pass's partial sums) are read
      backward_load(d, bases, dy, n, o0, t0, tid, dys, window);
      __syncthreads();
      backward_bin(d, sp, tid, dys, window, bin);
    }
#pragma unroll
    for (int ol = 0; ol < kBwdO; ++ol)
#pragma unroll
      for (int c = 0; c < 5; ++c) partial[tid * kBins + ol * 5 + c] = bin[ol][c];
    __syncthreads();
    for (int r = tid; r < sp.taps * kBwdO * 4; r += kBwdThreads) {
      int index;
      float value;
      if (backward_reduce(d, sp, o0, r, partial, &index, &value)) atomicAdd(ws + index, value);
    }
  }
}

// Launch grids, shared by the launches and the host emulation.
struct Grid {
  unsigned x, y, z;
};
Grid forward_grid(const OnehotDims& d) {
  return {static_cast<unsigned>((d.lout + kFwdT - 1) / kFwdT),
          static_cast<unsigned>((d.cout + kFwdO - 1) / kFwdO), static_cast<unsigned>(d.n)};
}
Grid backward_grid(const OnehotDims& d) {
  return {static_cast<unsigned>((d.lout + kBwdT - 1) / kBwdT),
          static_cast<unsigned>((d.cout + kBwdO - 1) / kBwdO),
          static_cast<unsigned>((d.n + kBwdN - 1) / kBwdN)};
}
Grid pool_grid(const OnehotDims& d, const PoolDims& p) {
  return {static_cast<unsigned>((p.lout + kPoolT - 1) / kPoolT),
          static_cast<unsigned>((d.cout + kFwdO - 1) / kFwdO), static_cast<unsigned>(d.n)};
}

OnehotDims make_dims(const Conv1dShape& s, BaseEncoding encoding) {
  OnehotDims d{};
  d.n = static_cast<int>(s.batch);
  d.cout = static_cast<int>(s.out_channels);
  d.lin = static_cast<int>(s.in_length);
  d.lout = static_cast<int>(s.out_length());
  d.k = static_cast<int>(s.kernel_size);
  d.stride = static_cast<int>(s.stride);
  d.pad = static_cast<int>(s.pad_left);
  d.dil = static_cast<int>(s.dilation);
  d.packed = encoding == BaseEncoding::kPacked2;
  d.row_bytes = static_cast<int>(d.packed ? packed_row_bytes(s.in_length) : s.in_length);
  return d;
}

// Raises the kernel's dynamic shared-memory limit when it needs more than 48 KB, after checking
// the device has that much.
template <typename Kernel>
void set_smem(const Context& ctx, Kernel kernel, size_t smem, const Conv1dShape& s,
              const char* op) {
  int max_smem = 0;
  STRAND_CUDA_CHECK(
      cudaDeviceGetAttribute(&max_smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, ctx.device));
  STRAND_CHECK(smem <= static_cast<size_t>(max_smem),
               "{}: kernel_size {} with stride {} and dilation {} needs {} bytes of shared memory, "
               "the device has {}",
               op, s.kernel_size, s.stride, s.dilation, smem, max_smem);
  if (smem > 48 * 1024) {
    STRAND_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(smem)));
  }
}

}  // namespace

template <typename T>
void conv1d_onehot_forward(const Context& ctx, const Conv1dShape& s, BaseEncoding encoding,
                           const uint8_t* bases, const T* w, const T* bias, T* y) {
  check_onehot_shape(s, "conv1d_onehot_forward");
  STRAND_CHECK(bases && w && y, "conv1d_onehot_forward: bases, w and y must not be null");
  const OnehotDims d = make_dims(s, encoding);
  const size_t smem = forward_smem_bytes(d);
  using E = DeviceType<T>;
  set_smem(ctx, onehot_forward_kernel<E>, smem, s, "conv1d_onehot_forward");
  STRAND_CHECK(s.batch <= 65535 && (s.out_channels + kFwdO - 1) / kFwdO <= 65535,
               "conv1d_onehot_forward: batch {} or out_channels {} exceeds the grid limits",
               s.batch, s.out_channels);
  const Grid g = forward_grid(d);
  const dim3 grid(g.x, g.y, g.z);
  onehot_forward_kernel<E>
      <<<grid, kFwdT, smem, ctx.stream>>>(d, bases, device_ptr(w), device_ptr(bias), device_ptr(y));
  STRAND_CUDA_CHECK_LAUNCH("conv1d_onehot_forward");
}

template <typename T, typename Y>
void conv1d_onehot_relu_maxpool(const Context& ctx, const Conv1dShape& s, const OnehotPool& pool,
                                BaseEncoding encoding, const uint8_t* bases, const T* w,
                                const T* bias, Y* y) {
  const char* op = "conv1d_onehot_relu_maxpool";
  const int64_t pooled = check_onehot_pool(s, pool, op);
  STRAND_CHECK(bases && w && y, "{}: bases, w and y must not be null", op);
  const OnehotDims d = make_dims(s, encoding);
  const PoolDims p{static_cast<int>(pool.size), static_cast<int>(pool.stride),
                   static_cast<int>(pooled)};
  const size_t smem = pool_smem_bytes(d, p);
  using E = DeviceType<T>;
  using YE = DeviceType<Y>;
  set_smem(ctx, onehot_relu_pool_kernel<E, YE>, smem, s, op);
  STRAND_CHECK(s.batch <= 65535 && (s.out_channels + kFwdO - 1) / kFwdO <= 65535,
               "{}: batch {} or out_channels {} exceeds the grid limits", op, s.batch,
               s.out_channels);
  const Grid g = pool_grid(d, p);
  onehot_relu_pool_kernel<E, YE><<<dim3(g.x, g.y, g.z), kPoolT, smem, ctx.stream>>>(
      d, p, bases, device_ptr(w), device_ptr(bias), device_ptr(y));
  STRAND_CUDA_CHECK_LAUNCH(op);
}

template <typename T>
void conv1d_onehot_backward_weight(const Context& ctx, const Conv1dShape& s, BaseEncoding encoding,
                                   const uint8_t* bases, const T* dy, T* dw, bool accumulate) {
  check_onehot_shape(s, "conv1d_onehot_backward_weight");
  STRAND_CHECK(bases && dy && dw,
               "conv1d_onehot_backward_weight: bases, dy and dw must not be null");
  STRAND_CHECK(
      (s.out_channels + kBwdO - 1) / kBwdO <= 65535 && (s.batch + kBwdN - 1) / kBwdN <= 65535,
      "conv1d_onehot_backward_weight: out_channels {} or batch {} exceeds the grid limits",
      s.out_channels, s.batch);
  const OnehotDims d = make_dims(s, encoding);
  const size_t smem = backward_smem_bytes(d);
  using E = DeviceType<T>;
  set_smem(ctx, onehot_backward_weight_kernel<E>, smem, s, "conv1d_onehot_backward_weight");
  detail::StreamBuffer ws(ctx, static_cast<size_t>(s.w_numel()) * sizeof(float));
  ws.zero();
  const Grid g = backward_grid(d);
  onehot_backward_weight_kernel<E><<<dim3(g.x, g.y, g.z), kBwdThreads, smem, ctx.stream>>>(
      d, bases, device_ptr(dy), static_cast<float*>(ws.get()));
  STRAND_CUDA_CHECK_LAUNCH("conv1d_onehot_backward_weight");
  detail::finalize_weight_grad(ctx, static_cast<const float*>(ws.get()), dw, s.w_numel(),
                               accumulate);
}

#define INSTANTIATE(T)                                                                             \
  template void conv1d_onehot_forward<T>(const Context&, const Conv1dShape&, BaseEncoding,         \
                                         const uint8_t*, const T*, const T*, T*);                  \
  template void conv1d_onehot_relu_maxpool<T, T>(const Context&, const Conv1dShape&,               \
                                                 const OnehotPool&, BaseEncoding, const uint8_t*,  \
                                                 const T*, const T*, T*);                          \
  template void conv1d_onehot_backward_weight<T>(const Context&, const Conv1dShape&, BaseEncoding, \
                                                 const uint8_t*, const T*, T*, bool);
STRAND_CUDA_F32_BF16_TYPES(INSTANTIATE)
#undef INSTANTIATE
template void conv1d_onehot_relu_maxpool<float, BFloat16>(const Context&, const Conv1dShape&,
                                                          const OnehotPool&, BaseEncoding,
                                                          const uint8_t*, const float*,
                                                          const float*, BFloat16*);

namespace detail {

void onehot_emulate_forward(const Conv1dShape& s, BaseEncoding encoding, const uint8_t* bases,
                            const float* w, const float* bias, float* y) {
  check_onehot_shape(s, "onehot_emulate_forward");
  const OnehotDims d = make_dims(s, encoding);
  const Grid g = forward_grid(d);
  // Poisoned shared memory: a slot no thread fills turns into NaN or an out-of-range slot.
  std::vector<float> table(static_cast<size_t>(kFwdO) * d.k * kSlots);
  std::vector<uint8_t> window(static_cast<size_t>(forward_window(d)));
  for (unsigned z = 0; z < g.z; ++z)
    for (unsigned by = 0; by < g.y; ++by)
      for (unsigned bx = 0; bx < g.x; ++bx) {
        std::fill(table.begin(), table.end(), std::nanf(""));
        std::fill(window.begin(), window.end(), uint8_t{kSlots});
        const int o0 = static_cast<int>(by) * kFwdO, t0 = static_cast<int>(bx) * kFwdT;
        for (int tid = 0; tid < kFwdT; ++tid) {
          forward_fill(d, bases, w, static_cast<int>(z), o0, t0, forward_window(d), tid, kFwdT,
                       table.data(), window.data());
        }
        for (uint8_t slot : window) {
          STRAND_CHECK(slot < kSlots, "onehot_emulate_forward: window slot left unfilled");
        }
        for (int tid = 0; tid < kFwdT; ++tid) {
          forward_compute(d, bias, y, static_cast<int>(z), o0, t0, tid, table.data(),
                          window.data());
        }
      }
}

void onehot_emulate_relu_maxpool(const Conv1dShape& s, const OnehotPool& pool,
                                 BaseEncoding encoding, const uint8_t* bases, const float* w,
                                 const float* bias, float* y) {
  const int64_t pooled = check_onehot_pool(s, pool, "onehot_emulate_relu_maxpool");
  const OnehotDims d = make_dims(s, encoding);
  const PoolDims p{static_cast<int>(pool.size), static_cast<int>(pool.stride),
                   static_cast<int>(pooled)};
  const Grid g = pool_grid(d, p);
  std::vector<float> table(static_cast<size_t>(kFwdO) * d.k * kSlots);
  std::vector<uint8_t> window(static_cast<size_t>(pool_window(d, p)));
  for (unsigned z = 0; z < g.z; ++z)
    for (unsigned by = 0; by < g.y; ++by)
      for (unsigned bx = 0; bx < g.x; ++bx) {
        std::fill(table.begin(), table.end(), std::nanf(""));
        std::fill(window.begin(), window.end(), uint8_t{kSlots});
        const int o0 = static_cast<int>(by) * kFwdO, j0 = static_cast<int>(bx) * kPoolT;
        for (int tid = 0; tid < kPoolT; ++tid) {
          forward_fill(d, bases, w, static_cast<int>(z), o0, j0 * p.stride, pool_window(d, p), tid,
                       kPoolT, table.data(), window.data());
        }
        for (uint8_t slot : window) {
          STRAND_CHECK(slot < kSlots, "onehot_emulate_relu_maxpool: window slot left unfilled");
        }
        for (int tid = 0; tid < kPoolT; ++tid) {
          pool_compute(d, p, bias, y, static_cast<int>(z), o0, j0, tid, table.data(),
                       window.data());
        }
      }
}

void onehot_emulate_backward_weight(const Conv1dShape& s, BaseEncoding encoding,
                                    const uint8_t* bases, const float* dy, float* dw,
                                    bool accumulate) {
  check_onehot_shape(s, "onehot_emulate_backward_weight");
  const OnehotDims d = make_dims(s, encoding);
  const Grid g = backward_grid(d);
  std::vector<float> ws(static_cast<size_t>(s.w_numel()), 0.f);
  // Poisoned shared memory, refilled per sample as the kernel does.
  std::vector<float> dys(static_cast<size_t>(kBwdO) * kBwdT);
  std::vector<float> partial(static_cast<size_t>(kBwdThreads) * kBins);
  std::vector<uint8_t> window(static_cast<size_t>(backward_window(d)));
  std::vector<float> bins(static_cast<size_t>(kBwdThreads) * kBins);
  for (unsigned bz = 0; bz < g.z; ++bz)
    for (unsigned by = 0; by < g.y; ++by)
      for (unsigned bx = 0; bx < g.x; ++bx) {
        const int o0 = static_cast<int>(by) * kBwdO, t0 = static_cast<int>(bx) * kBwdT;
        const int n0 = static_cast<int>(bz) * kBwdN;
        const int n_end = std::min(n0 + kBwdN, d.n);
        for (int kb = 0; kb < d.k; kb += kBwdThreads) {
          const TapSplit sp = tap_split(d, kb);
          std::fill(bins.begin(), bins.end(), 0.f);
          for (int n = n0; n < n_end; ++n) {
            std::fill(dys.begin(), dys.end(), std::nanf(""));
            std::fill(window.begin(), window.end(), uint8_t{kSlots});
            for (int tid = 0; tid < kBwdThreads; ++tid) {
              backward_load(d, bases, dy, n, o0, t0, tid, dys.data(), window.data());
            }
            for (uint8_t slot : window) {
              STRAND_CHECK(slot < kSlots, "onehot_emulate_backward_weight: window slot unfilled");
            }
            for (int tid = 0; tid < kBwdThreads; ++tid) {
              backward_bin(d, sp, tid, dys.data(), window.data(),
                           *reinterpret_cast<float(*)[kBwdO][5]>(&bins[tid * kBins]));
            }
          }
          partial = bins;  // each thread stores its own bins
          for (int r = 0; r < sp.taps * kBwdO * 4; ++r) {
            int index = 0;
            float value = 0.f;
            if (backward_reduce(d, sp, o0, r, partial.data(), &index, &value)) ws[index] += value;
          }
        }
      }
  for (size_t i = 0; i < ws.size(); ++i) dw[i] = (accumulate ? dw[i] : 0.f) + ws[i];
}

}  // namespace detail
}  // namespace strand::kernels::cuda
