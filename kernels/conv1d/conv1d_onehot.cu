// CUDA one-hot DNA conv1d (semantics in conv1d_onehot.h): a gather-sum forward that looks weight
// columns up by base code from shared memory, and a weight-gradient scatter-add that bins dy by
// base in registers and reduces per block.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <vector>

#include "kernels/common/cuda_check.h"
#include "kernels/common/cuda_reduce.h"
#include "kernels/common/type_lists.h"
#include "kernels/conv1d/conv1d_cuda_impl.h"
#include "kernels/conv1d/conv1d_onehot.h"

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

// Phase 1, thread tid of kFwdT: its share of the weight table and of the base window.
template <typename E>
__host__ __device__ void forward_fill(const OnehotDims& d, const uint8_t* bases, const E* w, int n,
                                      int o0, int t0, int tid, float* table, uint8_t* window) {
  for (int i = tid; i < kFwdO * d.k; i += kFwdT) {
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
  const int span = forward_window(d);
  for (int j = tid; j < span; j += kFwdT) {
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
  forward_fill(d, bases, w, n, o0, t0, threadIdx.x, table, window);
  __syncthreads();
  forward_compute(d, bias, y, n, o0, t0, threadIdx.x, table, window);
}

// Weight gradient: block = one output channel x kBwdPer*kBwdThreads (n, t) positions. For each
// tap k, each thread bins its dy values by base slot, the block sums the bins, and one thread adds
// dW[o, c, k] += bin[c] + bin[unknown]/4 into the fp32 workspace.
constexpr int kBwdThreads = 256;
constexpr int kBwdPer = 8;

struct Positions {
  float v[kBwdPer];
  int n[kBwdPer], t[kBwdPer];
};

// The dy values and (n, t) of thread tid of block bx for channel o; past the end, v = 0.
template <typename E>
__host__ __device__ void load_positions(const OnehotDims& d, const E* dy, int o, int bx, int tid,
                                        Positions& pos) {
  const long long total = static_cast<long long>(d.n) * d.lout;
  const long long q0 = static_cast<long long>(bx) * kBwdPer * kBwdThreads + tid;
#pragma unroll
  for (int j = 0; j < kBwdPer; ++j) {
    const long long q = q0 + static_cast<long long>(j) * kBwdThreads;
    if (q < total) {
      pos.n[j] = static_cast<int>(q / d.lout);
      pos.t[j] = static_cast<int>(q - static_cast<long long>(pos.n[j]) * d.lout);
      pos.v[j] = static_cast<float>(
          dy[(static_cast<long long>(pos.n[j]) * d.cout + o) * d.lout + pos.t[j]]);
    } else {
      pos.n[j] = 0;
      pos.t[j] = 0;
      pos.v[j] = 0.f;  // contributes nothing whatever slot it reads
    }
  }
}

// One thread's dy summed by the slot its positions read at tap k (padding adds to no bin).
__host__ __device__ inline void bin_tap(const OnehotDims& d, const uint8_t* bases,
                                        const Positions& pos, int k, float (&bin)[5]) {
#pragma unroll
  for (int c = 0; c < 5; ++c) bin[c] = 0.f;
#pragma unroll
  for (int j = 0; j < kBwdPer; ++j) {
    const int p = pos.t[j] * d.stride + k * d.dil - d.pad;
    const int slot = (p >= 0 && p < d.lin) ? read_base(bases, d, pos.n[j], p) : kPadSlot;
#pragma unroll
    for (int c = 0; c < 5; ++c) bin[c] += (slot == c) ? pos.v[j] : 0.f;
  }
}

template <typename E>
__global__ void __launch_bounds__(kBwdThreads)
    onehot_backward_weight_kernel(OnehotDims d, const uint8_t* bases, const E* dy, float* ws) {
  const int o = blockIdx.y;
  Positions pos;
  load_positions(d, dy, o, blockIdx.x, threadIdx.x, pos);
  __shared__ float partial[kBwdThreads / 32][5];
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  for (int k = 0; k < d.k; ++k) {
    float bin[5];
    bin_tap(d, bases, pos, k, bin);
#pragma unroll
    for (int c = 0; c < 5; ++c) bin[c] = warp_sum(bin[c]);
    if (lane == 0) {
#pragma unroll
      for (int c = 0; c < 5; ++c) partial[warp][c] = bin[c];
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      float sum[5] = {0.f, 0.f, 0.f, 0.f, 0.f};
      for (int w = 0; w < kBwdThreads / 32; ++w) {
#pragma unroll
        for (int c = 0; c < 5; ++c) sum[c] += partial[w][c];
      }
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        atomicAdd(ws + (o * 4 + c) * d.k + k, sum[c] + 0.25f * sum[kBaseUnknown]);
      }
    }
    __syncthreads();  // partial is rewritten for the next tap
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
  const long long positions = static_cast<long long>(d.n) * d.lout;
  return {static_cast<unsigned>((positions + kBwdPer * kBwdThreads - 1) / (kBwdPer * kBwdThreads)),
          static_cast<unsigned>(d.cout), 1};
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

}  // namespace

template <typename T>
void conv1d_onehot_forward(const Context& ctx, const Conv1dShape& s, BaseEncoding encoding,
                           const uint8_t* bases, const T* w, const T* bias, T* y) {
  check_onehot_shape(s, "conv1d_onehot_forward");
  STRAND_CHECK(bases && w && y, "conv1d_onehot_forward: bases, w and y must not be null");
  const OnehotDims d = make_dims(s, encoding);
  const size_t smem = forward_smem_bytes(d);
  int max_smem = 0;
  STRAND_CUDA_CHECK(
      cudaDeviceGetAttribute(&max_smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, ctx.device));
  STRAND_CHECK(smem <= static_cast<size_t>(max_smem),
               "conv1d_onehot_forward: kernel_size {} with stride {} and dilation {} needs {} "
               "bytes of shared memory, the device has {}",
               s.kernel_size, s.stride, s.dilation, smem, max_smem);
  using E = DeviceType<T>;
  if (smem > 48 * 1024) {
    STRAND_CUDA_CHECK(cudaFuncSetAttribute(onehot_forward_kernel<E>,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(smem)));
  }
  STRAND_CHECK(s.batch <= 65535 && (s.out_channels + kFwdO - 1) / kFwdO <= 65535,
               "conv1d_onehot_forward: batch {} or out_channels {} exceeds the grid limits",
               s.batch, s.out_channels);
  const Grid g = forward_grid(d);
  const dim3 grid(g.x, g.y, g.z);
  onehot_forward_kernel<E>
      <<<grid, kFwdT, smem, ctx.stream>>>(d, bases, device_ptr(w), device_ptr(bias), device_ptr(y));
  STRAND_CUDA_CHECK_LAUNCH("conv1d_onehot_forward");
}

template <typename T>
void conv1d_onehot_backward_weight(const Context& ctx, const Conv1dShape& s, BaseEncoding encoding,
                                   const uint8_t* bases, const T* dy, T* dw, bool accumulate) {
  check_onehot_shape(s, "conv1d_onehot_backward_weight");
  STRAND_CHECK(bases && dy && dw,
               "conv1d_onehot_backward_weight: bases, dy and dw must not be null");
  STRAND_CHECK(s.out_channels <= 65535,
               "conv1d_onehot_backward_weight: out_channels {} exceeds the grid limit 65535",
               s.out_channels);
  const OnehotDims d = make_dims(s, encoding);
  detail::StreamBuffer ws(ctx, static_cast<size_t>(s.w_numel()) * sizeof(float));
  ws.zero();
  const Grid g = backward_grid(d);
  const dim3 grid(g.x, g.y, g.z);
  onehot_backward_weight_kernel<DeviceType<T>><<<grid, kBwdThreads, 0, ctx.stream>>>(
      d, bases, device_ptr(dy), static_cast<float*>(ws.get()));
  STRAND_CUDA_CHECK_LAUNCH("conv1d_onehot_backward_weight");
  detail::finalize_weight_grad(ctx, static_cast<const float*>(ws.get()), dw, s.w_numel(),
                               accumulate);
}

#define INSTANTIATE(T)                                                                             \
  template void conv1d_onehot_forward<T>(const Context&, const Conv1dShape&, BaseEncoding,         \
                                         const uint8_t*, const T*, const T*, T*);                  \
  template void conv1d_onehot_backward_weight<T>(const Context&, const Conv1dShape&, BaseEncoding, \
                                                 const uint8_t*, const T*, T*, bool);
STRAND_CUDA_F32_BF16_TYPES(INSTANTIATE)
#undef INSTANTIATE

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
          forward_fill(d, bases, w, static_cast<int>(z), o0, t0, tid, table.data(), window.data());
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

void onehot_emulate_backward_weight(const Conv1dShape& s, BaseEncoding encoding,
                                    const uint8_t* bases, const float* dy, float* dw,
                                    bool accumulate) {
  check_onehot_shape(s, "onehot_emulate_backward_weight");
  const OnehotDims d = make_dims(s, encoding);
  const Grid g = backward_grid(d);
  std::vector<float> ws(static_cast<size_t>(s.w_numel()), 0.f);
  std::vector<Positions> pos(kBwdThreads);
  for (unsigned o = 0; o < g.y; ++o)
    for (unsigned bx = 0; bx < g.x; ++bx) {
      for (int tid = 0; tid < kBwdThreads; ++tid) {
        load_positions(d, dy, static_cast<int>(o), static_cast<int>(bx), tid, pos[tid]);
      }
      for (int k = 0; k < d.k; ++k) {
        float sum[5] = {0.f, 0.f, 0.f, 0.f, 0.f};
        for (int tid = 0; tid < kBwdThreads; ++tid) {
          float bin[5];
          bin_tap(d, bases, pos[tid], k, bin);
          for (int c = 0; c < 5; ++c) sum[c] += bin[c];
        }
        for (int c = 0; c < 4; ++c) {
          ws[(o * 4 + c) * d.k + k] += sum[c] + 0.25f * sum[kBaseUnknown];
        }
      }
    }
  for (size_t i = 0; i < ws.size(); ++i) dw[i] = (accumulate ? dw[i] : 0.f) + ws[i];
}

}  // namespace detail
}  // namespace strand::kernels::cuda
