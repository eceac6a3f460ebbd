// The public CUDA conv1d entry points: argument checks, the choice between the custom implicit
// GEMM and cuDNN (forced, or `auto`: timed per device/pass/shape/precision on first use and
// cached, thread-safe), plus the small kernels both paths share (bias add, bias gradient, fp32
// weight-gradient finalize) and the stream-ordered scratch buffer.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "kernels/common/cuda_check.h"
#include "kernels/common/cuda_reduce.h"
#include "kernels/common/mem_pool.h"
#include "kernels/common/type_lists.h"
#include "kernels/conv1d/conv1d_cuda_impl.h"
#include "kernels/conv1d/conv1d_safety_net.h"
#include "kernels/conv1d/conv1d_sm90.h"

namespace strand::kernels::cuda {
namespace detail {

StreamBuffer::StreamBuffer(const Context& ctx, size_t bytes) : ctx_(ctx), bytes_(bytes) {
  // Callers of the kernels alone (benchmarks) get the runtime's pool setting too: without it each
  // synchronisation returns this scratch to the driver and the next call re-maps it.
  keep_freed_pool_memory(ctx_.device);
  if (bytes_ > 0) STRAND_CUDA_CHECK(cudaMallocAsync(&ptr_, bytes_, ctx_.stream));
}

StreamBuffer::~StreamBuffer() {
  if (ptr_) cudaFreeAsync(ptr_, ctx_.stream);  // a destructor cannot throw; the pool owns it
}

void StreamBuffer::zero() {
  if (bytes_ > 0) STRAND_CUDA_CHECK(cudaMemsetAsync(ptr_, 0, bytes_, ctx_.stream));
}

namespace {

template <typename E>
__device__ __forceinline__ E cast_out(float v) {
  if constexpr (std::is_same_v<E, __nv_bfloat16>) {
    return __float2bfloat16_rn(v);
  } else {
    return v;
  }
}

template <typename E>
__global__ void add_bias_kernel(E* y, const E* bias, int cout, int lout, long long total) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int o = static_cast<int>((i / lout) % cout);
    y[i] = cast_out<E>(static_cast<float>(y[i]) + static_cast<float>(bias[o]));
  }
}

template <typename E>
__global__ void finalize_kernel(const float* ws, E* dw, long long count, bool accumulate) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const float old = accumulate ? static_cast<float>(dw[i]) : 0.f;
    dw[i] = cast_out<E>(old + ws[i]);
  }
}

// One block per output channel: db[o] = sum over n, t of dy[n, o, t].
constexpr int kBiasThreads = 256;
template <typename E>
__global__ void __launch_bounds__(kBiasThreads)
    bias_grad_kernel(const E* dy, E* db, int n, int cout, int lout, bool accumulate) {
  const int o = blockIdx.x;
  float acc = 0.f;
  const long long per_channel = static_cast<long long>(n) * lout;
  for (long long q = threadIdx.x; q < per_channel; q += kBiasThreads) {
    const long long nn = q / lout;
    const long long t = q - nn * lout;
    acc += static_cast<float>(dy[(nn * cout + o) * lout + t]);
  }
  // Warps reduce by shuffles, then thread 0 adds the warps' sums in order.
  acc = warp_sum(acc);
  __shared__ float partial[kBiasThreads / 32];
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = acc;
  __syncthreads();
  if (threadIdx.x == 0) {
    float total = 0.f;
    for (int i = 0; i < kBiasThreads / 32; ++i) total += partial[i];
    if (accumulate) total += static_cast<float>(db[o]);
    db[o] = cast_out<E>(total);
  }
}

// The forward epilogue as its own pass (the kernels without a fused one): one block per (n, o)
// row of conv [N, C_out, L_out]: batch-norm sums, then ReLU and max pooling into y.
constexpr int kEpiThreads = 256;
template <typename E>
__global__ void __launch_bounds__(kEpiThreads)
    epilogue_kernel(const E* conv, E* y, int cout, int lout, int pool, int relu, float* bn_sum,
                    float* bn_sumsq) {
  const int row = blockIdx.x, o = row % cout;
  const E* in = conv + static_cast<long long>(row) * lout;
  if (bn_sum) {
    float s = 0.f, sq = 0.f;
    for (int t = threadIdx.x; t < lout; t += kEpiThreads) {
      const float v = static_cast<float>(in[t]);
      s += v;
      sq += v * v;
    }
    s = warp_sum(s);
    sq = warp_sum(sq);
    if (threadIdx.x % 32 == 0) {
      atomicAdd(bn_sum + o, s);
      atomicAdd(bn_sumsq + o, sq);
    }
  }
  const int lp = lout / pool;
  E* out = y + static_cast<long long>(row) * lp;
  for (int p = threadIdx.x; p < lp; p += kEpiThreads) {
    float v = static_cast<float>(in[p * pool]);
    for (int q = 1; q < pool; ++q) v = fmaxf(v, static_cast<float>(in[p * pool + q]));
    out[p] = cast_out<E>(relu ? fmaxf(v, 0.f) : v);
  }
}

int grid_for(long long count, int threads) {
  return static_cast<int>(std::min<long long>((count + threads - 1) / threads, 65535LL * 8));
}

}  // namespace

template <typename T>
void add_bias(const Context& ctx, const Conv1dShape& s, const T* bias, T* y) {
  const long long total = s.y_numel();
  add_bias_kernel<<<grid_for(total, 256), 256, 0, ctx.stream>>>(
      device_ptr(y), device_ptr(bias), static_cast<int>(s.out_channels),
      static_cast<int>(s.out_length()), total);
  STRAND_CUDA_CHECK_LAUNCH("conv1d_add_bias");
}

template <typename T>
void finalize_weight_grad(const Context& ctx, const float* ws, T* dw, int64_t count,
                          bool accumulate) {
  finalize_kernel<<<grid_for(count, 256), 256, 0, ctx.stream>>>(ws, device_ptr(dw), count,
                                                                accumulate);
  STRAND_CUDA_CHECK_LAUNCH("conv1d_finalize_weight_grad");
}

template <typename T>
void apply_epilogue(const Context& ctx, const Conv1dShape& s, const T* conv, T* y,
                    const Conv1dEpilogue& epi) {
  const long long rows = s.batch * s.out_channels;
  epilogue_kernel<<<static_cast<unsigned>(rows), kEpiThreads, 0, ctx.stream>>>(
      device_ptr(conv), device_ptr(y), static_cast<int>(s.out_channels),
      static_cast<int>(s.out_length()), static_cast<int>(epi.pool), epi.relu ? 1 : 0, epi.bn_sum,
      epi.bn_sumsq);
  STRAND_CUDA_CHECK_LAUNCH("conv1d_epilogue");
}

#define INSTANTIATE(T)                                                              \
  template void apply_epilogue<T>(const Context&, const Conv1dShape&, const T*, T*, \
                                  const Conv1dEpilogue&);                           \
  template void add_bias<T>(const Context&, const Conv1dShape&, const T*, T*);      \
  template void finalize_weight_grad<T>(const Context&, const float*, T*, int64_t, bool);
STRAND_CUDA_F32_BF16_TYPES(INSTANTIATE)
#undef INSTANTIATE

}  // namespace detail

namespace {

using detail::StreamBuffer;

template <typename T>
void check_precision(Conv1dPrecision p, const char* op) {
  if constexpr (std::is_same_v<T, BFloat16>) {
    STRAND_CHECK(p == Conv1dPrecision::kBf16,
                 "{}: BFloat16 tensors run in precision bf16, but {} was asked for", op,
                 to_string(p));
  } else {
    STRAND_CHECK(p != Conv1dPrecision::kBf16,
                 "{}: precision bf16 needs BFloat16 tensors, these are float", op);
  }
}

void check_pointers(const char* op, const void* a, const char* an, const void* b, const char* bn,
                    const void* c, const char* cn) {
  STRAND_CHECK(a != nullptr, "{}: {} is null", op, an);
  STRAND_CHECK(b != nullptr, "{}: {} is null", op, bn);
  STRAND_CHECK(c != nullptr, "{}: {} is null", op, cn);
}

// Whether `custom` runs the Hopper kernel for this call: compute capability exactly 9.0, a shape
// and precision it takes, the TMA-read tensors 16-byte aligned, and options.custom not
// kPortable. options.custom == kSm90 where it cannot run is an Error naming why.
bool use_sm90(const Context& ctx, Conv1dPass pass, const Conv1dShape& s, Conv1dGpuOptions options,
              std::initializer_list<const void*> tma_read) {
  if (options.custom == Conv1dCustomKernel::kPortable) return false;
  const bool forced = options.custom == Conv1dCustomKernel::kSm90;
  const char* why = conv1d_sm90_unsupported_reason(pass, s, options.precision);
  if (why == nullptr && !detail::sm90_device(ctx)) {
    why = "the Hopper kernel needs compute capability 9.0 (this device differs)";
  }
  for (const void* p : tma_read) {
    if (why == nullptr && reinterpret_cast<uintptr_t>(p) % 16 != 0) {
      why = "the Hopper kernel reads its inputs by TMA, which needs 16-byte aligned pointers";
    }
  }
  STRAND_CHECK(!forced || why == nullptr, "conv1d {}: custom kernel sm90 cannot run {} ({}): {}",
               to_string(pass), s.to_string(), to_string(options.precision), why ? why : "");
  return why == nullptr;
}

struct AutoKey {
  int device;
  Conv1dPass pass;
  Conv1dShape shape;
  Conv1dPrecision precision;
  Conv1dCustomKernel custom = Conv1dCustomKernel::kBest;  // which kernel "custom" timed
  auto operator<=>(const AutoKey&) const = default;
};

std::mutex& auto_mutex() {
  static std::mutex m;
  return m;
}
std::map<AutoKey, Conv1dGpuAlgo>& auto_cache() {
  static std::map<AutoKey, Conv1dGpuAlgo> cache;
  return cache;
}

// Milliseconds per run of `run` on ctx.stream: one warm-up, then the best of three.
template <typename Run>
float time_ms(const Context& ctx, Run&& run) {
  run();
  cudaEvent_t start, stop;
  STRAND_CUDA_CHECK(cudaEventCreate(&start));
  STRAND_CUDA_CHECK(cudaEventCreate(&stop));
  float best = 1e30f;
  for (int i = 0; i < 3; ++i) {
    STRAND_CUDA_CHECK(cudaEventRecord(start, ctx.stream));
    run();
    STRAND_CUDA_CHECK(cudaEventRecord(stop, ctx.stream));
    STRAND_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0.f;
    STRAND_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    best = std::min(best, ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return best;
}

// Which algorithm runs. `time_one(algo)` runs algo once into scratch outputs (never the caller's).
// The host-side rules are conv1d_gpu_plan (CPU-tested); here only the timing. cuDNN may refuse
// a shape only when it runs (CudnnUnsupported): `auto` then keeps the custom kernel for good.
template <typename TimeOne>
Conv1dGpuAlgo resolve(const Context& ctx, Conv1dPass pass, const Conv1dShape& s,
                      Conv1dGpuOptions options, TimeOne&& time_one) {
  std::string cudnn_no;
  conv1d_cudnn_supports(s, &cudnn_no);
  const Conv1dGpuAlgo planned =
      detail::conv1d_gpu_plan(pass, s, options.algo, detail::igemm_unsupported_reason(s), cudnn_no);
  if (planned != Conv1dGpuAlgo::kAuto) return planned;
  const AutoKey key{ctx.device, pass, s, options.precision, options.custom};
  std::lock_guard<std::mutex> lock(auto_mutex());  // first-use timing happens once per key
  auto it = auto_cache().find(key);
  if (it != auto_cache().end()) return it->second;
  const float custom_ms = time_ms(ctx, [&] { time_one(Conv1dGpuAlgo::kCustom); });
  float cudnn_ms = -1.f;
  try {
    cudnn_ms = time_ms(ctx, [&] { time_one(Conv1dGpuAlgo::kCudnn); });
  } catch (const detail::CudnnUnsupported&) {
    // Stays -1: not supported for this shape and precision, so the custom kernel runs.
  }
  Conv1dGpuAlgo pick = detail::conv1d_gpu_pick_timed(custom_ms, cudnn_ms);
  // The safety net: a custom kernel that disagrees with cuDNN on a small input is not used.
  if (pick == Conv1dGpuAlgo::kCustom && cudnn_ms >= 0.f &&
      !conv1d_safety_net_keeps_custom(
          ctx, use_sm90(ctx, pass, s, options, {}) ? "conv1d sm90 kernel" : "conv1d implicit GEMM",
          pass, s, options)) {
    pick = Conv1dGpuAlgo::kCudnn;
  }
  auto_cache().emplace(key, pick);
  return pick;
}

}  // namespace

template <typename T>
void conv1d_forward(const Context& ctx, const Conv1dShape& s, const T* x, const T* w, const T* bias,
                    T* y, Conv1dGpuOptions options) {
  s.validate();
  check_precision<T>(options.precision, "conv1d_forward");
  check_pointers("conv1d_forward", x, "x", w, "w", y, "y");
  auto run = [&](Conv1dGpuAlgo algo, T* out) {
    if (algo == Conv1dGpuAlgo::kCustom && use_sm90(ctx, Conv1dPass::kForward, s, options, {})) {
      detail::sm90_forward(ctx, s, x, w, bias, out, Conv1dEpilogue{});
    } else if (algo == Conv1dGpuAlgo::kCustom) {
      detail::igemm_forward(ctx, s, x, w, bias, out, options.precision);
    } else {
      detail::cudnn_forward(ctx, s, x, w, bias, out, options.precision);
    }
  };
  std::unique_ptr<StreamBuffer> scratch;
  const Conv1dGpuAlgo algo = resolve(ctx, Conv1dPass::kForward, s, options, [&](Conv1dGpuAlgo a) {
    if (!scratch) scratch = std::make_unique<StreamBuffer>(ctx, s.y_numel() * sizeof(T));
    run(a, static_cast<T*>(scratch->get()));
  });
  run(algo, y);
}

template <typename T>
void conv1d_forward_fused(const Context& ctx, const Conv1dShape& s, const T* x, const T* w,
                          const T* bias, T* y, const Conv1dEpilogue& epi,
                          Conv1dGpuOptions options) {
  s.validate();
  check_precision<T>(options.precision, "conv1d_forward_fused");
  check_pointers("conv1d_forward_fused", x, "x", w, "w", y, "y");
  STRAND_CHECK(epi.pool >= 1 && epi.pool <= s.out_length(),
               "conv1d_forward_fused: pool {} outside 1..L_out {} for {}", epi.pool, s.out_length(),
               s.to_string());
  STRAND_CHECK((epi.bn_sum == nullptr) == (epi.bn_sumsq == nullptr),
               "conv1d_forward_fused: give both bn_sum and bn_sumsq or neither");
  if (options.algo != Conv1dGpuAlgo::kCudnn &&
      use_sm90(ctx, Conv1dPass::kForward, s, options, {})) {
    detail::sm90_forward(ctx, s, x, w, bias, y, epi);
    return;
  }
  StreamBuffer conv(ctx, s.y_numel() * sizeof(T));
  conv1d_forward(ctx, s, x, w, bias, static_cast<T*>(conv.get()), options);
  detail::apply_epilogue(ctx, s, static_cast<const T*>(conv.get()), y, epi);
}

template <typename T>
void conv1d_backward_data(const Context& ctx, const Conv1dShape& s, const T* dy, const T* w, T* dx,
                          Conv1dGpuOptions options) {
  s.validate();
  check_precision<T>(options.precision, "conv1d_backward_data");
  check_pointers("conv1d_backward_data", dy, "dy", w, "w", dx, "dx");
  auto run = [&](Conv1dGpuAlgo algo, T* out) {
    if (algo == Conv1dGpuAlgo::kCustom &&
        use_sm90(ctx, Conv1dPass::kBackwardData, s, options, {})) {
      detail::sm90_backward_data(ctx, s, dy, w, out);
    } else if (algo == Conv1dGpuAlgo::kCustom) {
      detail::igemm_backward_data(ctx, s, dy, w, out, options.precision);
    } else {
      detail::cudnn_backward_data(ctx, s, dy, w, out, options.precision);
    }
  };
  std::unique_ptr<StreamBuffer> scratch;
  const Conv1dGpuAlgo algo =
      resolve(ctx, Conv1dPass::kBackwardData, s, options, [&](Conv1dGpuAlgo a) {
        if (!scratch) scratch = std::make_unique<StreamBuffer>(ctx, s.x_numel() * sizeof(T));
        run(a, static_cast<T*>(scratch->get()));
      });
  run(algo, dx);
}

template <typename T>
void conv1d_backward_weight(const Context& ctx, const Conv1dShape& s, const T* x, const T* dy,
                            T* dw, bool accumulate, Conv1dGpuOptions options) {
  s.validate();
  check_precision<T>(options.precision, "conv1d_backward_weight");
  check_pointers("conv1d_backward_weight", x, "x", dy, "dy", dw, "dw");
  auto run = [&](Conv1dGpuAlgo algo, T* out, bool acc) {
    if (algo == Conv1dGpuAlgo::kCustom &&
        use_sm90(ctx, Conv1dPass::kBackwardWeight, s, options, {x, dy})) {
      detail::sm90_backward_weight(ctx, s, x, dy, out, acc);
    } else if (algo == Conv1dGpuAlgo::kCustom) {
      detail::igemm_backward_weight(ctx, s, x, dy, out, acc, options.precision);
    } else {
      detail::cudnn_backward_weight(ctx, s, x, dy, out, acc, options.precision);
    }
  };
  std::unique_ptr<StreamBuffer> scratch;
  const Conv1dGpuAlgo algo =
      resolve(ctx, Conv1dPass::kBackwardWeight, s, options, [&](Conv1dGpuAlgo a) {
        if (!scratch) scratch = std::make_unique<StreamBuffer>(ctx, s.w_numel() * sizeof(T));
        run(a, static_cast<T*>(scratch->get()), false);
      });
  run(algo, dw, accumulate);
}

template <typename T>
void conv1d_backward_bias(const Context& ctx, const Conv1dShape& s, const T* dy, T* db,
                          bool accumulate) {
  s.validate();
  check_pointers("conv1d_backward_bias", dy, "dy", db, "db", db, "db");
  STRAND_CHECK(s.out_channels <= 0x7fffffff, "conv1d_backward_bias: too many channels");
  detail::bias_grad_kernel<<<static_cast<unsigned>(s.out_channels), detail::kBiasThreads, 0,
                             ctx.stream>>>(
      detail::device_ptr(dy), detail::device_ptr(db), static_cast<int>(s.batch),
      static_cast<int>(s.out_channels), static_cast<int>(s.out_length()), accumulate);
  STRAND_CUDA_CHECK_LAUNCH("conv1d_backward_bias");
}

Conv1dGpuAlgo conv1d_auto_choice(const Context& ctx, Conv1dPass pass, const Conv1dShape& shape,
                                 Conv1dPrecision precision) {
  std::lock_guard<std::mutex> lock(auto_mutex());
  auto it = auto_cache().find(AutoKey{ctx.device, pass, shape, precision});
  return it == auto_cache().end() ? Conv1dGpuAlgo::kAuto : it->second;
}

void conv1d_clear_auto_cache() {
  std::lock_guard<std::mutex> lock(auto_mutex());
  auto_cache().clear();
}

#define STRAND_CONV1D_CUDA_INSTANTIATE(T)                                                         \
  template void conv1d_forward<T>(const Context&, const Conv1dShape&, const T*, const T*,         \
                                  const T*, T*, Conv1dGpuOptions);                                \
  template void conv1d_forward_fused<T>(const Context&, const Conv1dShape&, const T*, const T*,   \
                                        const T*, T*, const Conv1dEpilogue&, Conv1dGpuOptions);   \
  template void conv1d_backward_data<T>(const Context&, const Conv1dShape&, const T*, const T*,   \
                                        T*, Conv1dGpuOptions);                                    \
  template void conv1d_backward_weight<T>(const Context&, const Conv1dShape&, const T*, const T*, \
                                          T*, bool, Conv1dGpuOptions);                            \
  template void conv1d_backward_bias<T>(const Context&, const Conv1dShape&, const T*, T*, bool);

STRAND_CUDA_F32_BF16_TYPES(STRAND_CONV1D_CUDA_INSTANTIATE)
#undef STRAND_CONV1D_CUDA_INSTANTIATE

}  // namespace strand::kernels::cuda
