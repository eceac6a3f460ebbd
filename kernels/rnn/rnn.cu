// CUDA LSTM/GRU, custom path: input projections as one cuBLAS GEMM per layer and direction, the
// recurrence, forward and backward, either as the persistent kernels (rnn_persistent.cu) or as one
// GEMM per step plus one fused elementwise kernel; weight gradients as GEMMs over all steps.
// State and arithmetic are fp32; bf16 inputs are converted on the way in.
#include <cuda_bf16.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "kernels/collectives/concurrent_collectives.h"
#include "kernels/common/cublas_handle.h"
#include "kernels/common/type_lists.h"
#include "kernels/rnn/rnn_cuda_internal.h"
#include "kernels/rnn/rnn_safety_net.h"

namespace strand::kernels::cuda {
namespace ri = rnn_internal;
namespace {

using detail::RnnDims;
using detail::RnnDirBuffers;
using detail::RnnReserveLayout;

// Host element type -> the device type with the same bits.
template <typename T>
using Dev = std::conditional_t<std::is_same_v<T, BFloat16>, __nv_bfloat16, T>;
template <typename T>
const Dev<T>* dev(const T* p) {
  return reinterpret_cast<const Dev<T>*>(p);
}
template <typename T>
Dev<T>* dev(T* p) {
  return reinterpret_cast<Dev<T>*>(p);
}

__device__ __forceinline__ float to_f(float v) { return v; }
__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename D>
__device__ __forceinline__ D from_f(float v) {
  if constexpr (std::is_same_v<D, float>) {
    return v;
  } else {
    return __float2bfloat16(v);
  }
}

constexpr int kThreads = 256;
int blocks_for(int64_t n) {
  return static_cast<int>(std::min<int64_t>((n + kThreads - 1) / kThreads, int64_t{1} << 20));
}

// [T][N][F] with either layout on either side; lengths (device, optional) zero the padding.
template <typename S, typename D>
__global__ void sequence_copy_kernel(const S* src, D* dst, int64_t T, int64_t N, int64_t F,
                                     bool src_bf, bool dst_bf, const int* lengths) {
  const int64_t count = T * N * F;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t f = i % F, tn = i / F, n = tn % N, t = tn / N;
    const int64_t si = src_bf ? (n * T + t) * F + f : i;
    const int64_t di = dst_bf ? (n * T + t) * F + f : i;
    const bool pad = lengths && t >= lengths[n];
    dst[di] = from_f<D>(pad ? 0.f : to_f(src[si]));
  }
}

template <typename S, typename D>
void sequence_copy(const Context& ctx, const S* src, D* dst, int64_t T, int64_t N, int64_t F,
                   bool src_bf, bool dst_bf, const int* lengths) {
  sequence_copy_kernel<<<blocks_for(T * N * F), kThreads, 0, ctx.stream>>>(src, dst, T, N, F,
                                                                           src_bf, dst_bf, lengths);
  STRAND_CUDA_CHECK_LAUNCH("rnn sequence_copy_kernel");
}

// dst = src (converted), or zero when src is null.
template <typename S, typename D>
__global__ void convert_kernel(const S* src, D* dst, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count;
       i += int64_t{gridDim.x} * blockDim.x)
    dst[i] = from_f<D>(src ? to_f(src[i]) : 0.f);
}
template <typename S, typename D>
void convert(const Context& ctx, const S* src, D* dst, int64_t count) {
  if (count == 0) return;
  convert_kernel<<<blocks_for(count), kThreads, 0, ctx.stream>>>(src, dst, count);
  STRAND_CUDA_CHECK_LAUNCH("rnn convert_kernel");
}

template <typename D>
__global__ void accumulate_kernel(const float* src, D* dst, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count;
       i += int64_t{gridDim.x} * blockDim.x)
    dst[i] = from_f<D>(to_f(dst[i]) + src[i]);
}
template <typename D>
void accumulate_into(const Context& ctx, const float* src, D* dst, int64_t count) {
  if (count == 0 || dst == nullptr) return;
  accumulate_kernel<<<blocks_for(count), kThreads, 0, ctx.stream>>>(src, dst, count);
  STRAND_CUDA_CHECK_LAUNCH("rnn accumulate_kernel");
}

template <typename M>
__global__ void mask_kernel(const float* src, const M* mask, float* dst, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count;
       i += int64_t{gridDim.x} * blockDim.x)
    dst[i] = src[i] * to_f(mask[i]);
}
template <typename M>
void apply_mask(const Context& ctx, const float* src, const M* mask, float* dst, int64_t count) {
  mask_kernel<<<blocks_for(count), kThreads, 0, ctx.stream>>>(src, mask, dst, count);
  STRAND_CUDA_CHECK_LAUNCH("rnn mask_kernel");
}

__global__ void fill_kernel(float* dst, int64_t count, float value) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count;
       i += int64_t{gridDim.x} * blockDim.x)
    dst[i] = value;
}

// Every row of gx starts as the folded bias: b_ih + b_hh (LSTM), b_ih + [b_hr, b_hz, 0] (GRU).
__global__ void bias_rows_kernel(float* gx, int64_t rows, int64_t GH, int64_t H, bool lstm,
                                 const float* b_ih, const float* b_hh) {
  const int64_t count = rows * GH;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i % GH;
    float b = b_ih ? b_ih[r] : 0.f;
    if (b_hh && (lstm || r < 2 * H)) b += b_hh[r];
    gx[i] = b;
  }
}

// Row-major C = alpha op(A) op(B) + beta C on cuBLAS (column-major: computes C^T = B^T A^T).
void gemm(cublasHandle_t h, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc) {
  STRAND_CUBLAS_CHECK(cublasSgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                  static_cast<int>(n), static_cast<int>(m), static_cast<int>(k),
                                  &alpha, b, static_cast<int>(ldb), a, static_cast<int>(lda), &beta,
                                  c, static_cast<int>(ldc)));
}

struct StepLayer {
  RnnDirBuffers<float> bufs[2];
  RnnDims dims[2];
  const int* lengths = nullptr;
  int64_t D = 1, N = 0, H = 0, G = 4;
  const float* hh = nullptr;  // forward: [D][N][G*H] W_hh h products of this step
  // backward
  const float* dh_rec = nullptr;  // [D][N][H]
  float* dh_carry = nullptr;
  float* dc_carry = nullptr;
  const float* dy = nullptr;  // [T][N][D*H]
  float* dgx[2] = {nullptr, nullptr};
  float* dgh[2] = {nullptr, nullptr};
};

StepLayer step_layer(const RnnShape& s, const int* lengths) {
  StepLayer st;
  st.lengths = lengths;
  st.D = s.dirs();
  st.N = s.batch;
  st.H = s.hidden_size;
  st.G = s.gates();
  return st;
}

__global__ void step_forward_kernel(StepLayer a, int64_t s) {
  const int64_t NH = a.N * a.H, GH = a.G * a.H;
  const int64_t count = a.D * NH;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t d = i / NH, u = i % NH, n = u / a.H, j = u % a.H;
    const int64_t len = a.lengths[n];
    float hh[4] = {0.f, 0.f, 0.f, 0.f};
    if (s < len) {
      const float* row = a.hh + (d * a.N + n) * GH + j;
      // Constant indices only (unrolled, G <= 4 guarded): a run-time index put hh in a 16-byte
      // local-memory stack frame, which the ptxas guard (-warn-lmem-usage) now refuses.
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        if (k < a.G) hh[k] = row[k * a.H];
      }
    }
    detail::rnn_forward_unit(a.bufs[d], a.dims[d], s, n, j, len, hh, a.bufs[d].hs[s * NH + u]);
  }
}

__global__ void step_backward_kernel(StepLayer a, int64_t s, bool rec) {
  const int64_t NH = a.N * a.H;
  const int64_t count = a.D * NH;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t d = i / NH, u = i % NH, n = u / a.H, j = u % a.H;
    detail::rnn_backward_unit(a.bufs[d], a.dims[d], s, n, j, int64_t{a.lengths[n]},
                              rec ? a.dh_rec[i] : 0.f, a.dh_carry + d * NH, a.dc_carry + d * NH,
                              a.dy + d * a.H, a.dgx[d], a.dgh[d]);
  }
}

// Workspace of the custom path, byte offsets; forward uses a prefix of what backward uses.
struct CustomPlan {
  CustomPlan(const RnnShape& s, DType dtype) {
    const size_t TN = s.seq_len * s.batch, H = s.hidden_size, D = s.dirs(), GH = s.gates() * H;
    const size_t NH = s.batch * H, Imax = std::max<int64_t>(s.input_size, s.output_size());
    size_t params = 0;
    for (const auto& p : rnn_parameters(s)) {
      param_offsets.push_back(params);
      size_t c = 1;
      for (int64_t d : p.shape) c *= d;
      params += c;
    }
    const bool convert = dtype == DType::kBF16;
    size_t at = 0;
    auto take = [&](size_t bytes) {
      const size_t here = at;
      at += ri::align_up(bytes);
      return here;
    };
    lengths = take(s.batch * sizeof(int));
    w32 = take(convert ? params * 4 : 0);
    gx = take(D * TN * GH * 4);
    hh = take(D * s.batch * GH * 4);
    scratch = take(TN * Imax * 4);
    hn32 = take(s.num_layers * D * NH * 4);
    cn32 = take(s.num_layers * D * NH * 4);
    forward_bytes = at;
    g32 = take(convert ? params * 4 : 0);
    ones = take(TN * 4);
    dy = take(TN * D * H * 4);
    dgx = take(D * TN * GH * 4);
    dgh = take(D * TN * GH * 4);
    dh_rec = take(D * NH * 4);
    dh_carry = take(D * NH * 4);
    dc_carry = take(D * NH * 4);
    dx = take(TN * Imax * 4);
    total = at;
  }
  std::vector<size_t> param_offsets;  // elements, rnn_parameters order
  size_t lengths, w32, gx, hh, scratch, hn32, cn32, forward_bytes;
  size_t g32, ones, dy, dgx, dgh, dh_rec, dh_carry, dc_carry, dx, total;
};

enum class Path { kCluster, kPersistent, kStepGemm, kCudnn };

bool is_cudnn(RnnAlgo algo) {
  return algo == RnnAlgo::kCudnn || algo == RnnAlgo::kCudnnPersistStatic ||
         algo == RnnAlgo::kCudnnPersistSmallH;
}

Path resolve(const Context& ctx, const RnnShape& s, DType dtype, RnnAlgo algo) {
  validate(s);
  STRAND_CHECK(dtype == DType::kF32 || dtype == DType::kBF16,
               "CUDA RNN supports f32 and bf16, got {}", dtype_name(dtype));
  if (is_cudnn(algo)) {
    STRAND_CHECK(dtype == DType::kF32, "cuDNN RNN path supports f32 only, got {}",
                 dtype_name(dtype));
    return Path::kCudnn;
  }
  if (algo == RnnAlgo::kCustomStepGemm) return Path::kStepGemm;
  if (algo == RnnAlgo::kCustomCluster) {
    STRAND_CHECK(ri::cluster_fits(ctx, s, dtype_size(dtype), false),
                 "RNN cluster kernel cannot run hidden {} {} here: it needs compute capability "
                 "9.0 and W_hh in one thread-block cluster's shared memory",
                 s.hidden_size, dtype_name(dtype));
    return Path::kCluster;
  }
  if (algo == RnnAlgo::kCustomPersistent) {
    STRAND_CHECK(rnn_persistent_allowed(s.hidden_size, concurrent_collectives(ctx.device)) &&
                     ri::persistent_fits(ctx, s, dtype_size(dtype), false),
                 "RNN persistent kernel cannot run hidden {} {} here: it needs hidden <= 512, no "
                 "NCCL communicator on the device, W_hh's slices on chip and a co-resident grid",
                 s.hidden_size, dtype_name(dtype));
    return Path::kPersistent;
  }
  // The on-chip recurrences are for the latency-bound sizes. Clusters are scheduled whole and
  // wait on no other block, so they may run beside NCCL kernels; the grid barrier of the
  // persistent kernel may not (concurrent_collectives.h).
  Path path = Path::kStepGemm;
  if (s.hidden_size <= 512 && ri::cluster_fits(ctx, s, dtype_size(dtype), false))
    path = Path::kCluster;
  else if (rnn_persistent_allowed(s.hidden_size, concurrent_collectives(ctx.device)) &&
           ri::persistent_fits(ctx, s, dtype_size(dtype), false))
    path = Path::kPersistent;
  // The safety net: auto runs cuDNN where the custom recurrence disagrees with it (f32: cuDNN's).
  const RnnAlgo custom = path == Path::kCluster      ? RnnAlgo::kCustomCluster
                         : path == Path::kPersistent ? RnnAlgo::kCustomPersistent
                                                     : RnnAlgo::kCustomStepGemm;
  if (algo == RnnAlgo::kAuto && dtype == DType::kF32 &&
      !rnn_safety_net_keeps_custom(ctx, s, custom))
    return Path::kCudnn;
  return path;
}

// Device lengths (every sample T when none given) and their maximum.
int64_t upload_lengths(const Context& ctx, const RnnShape& s, std::span<const int32_t> lengths,
                       int* dst) {
  std::vector<int> host(s.batch, static_cast<int>(s.seq_len));
  if (!lengths.empty()) std::copy(lengths.begin(), lengths.end(), host.begin());
  // Pageable source: the copy is staged before the call returns, so host may go out of scope.
  STRAND_CUDA_CHECK(cudaMemcpyAsync(dst, host.data(), host.size() * sizeof(int),
                                    cudaMemcpyHostToDevice, ctx.stream));
  return *std::max_element(host.begin(), host.end());
}

// fp32 views of the weights: the caller's own for f32, converted copies in the workspace for bf16.
template <typename T>
std::vector<RnnLayerWeights<float>> weights_f32(const Context& ctx, const RnnShape& s,
                                                const RnnInputs<T>& in, const CustomPlan& plan,
                                                char* ws) {
  std::vector<RnnLayerWeights<float>> out;
  const auto infos = rnn_parameters(s);
  const int64_t per = s.bias ? 4 : 2;
  for (int64_t i = 0; i < s.num_layers * s.dirs(); ++i) {
    const RnnLayerWeights<T>& w = in.weights[i];
    if constexpr (std::is_same_v<T, float>) {
      out.push_back(w);
    } else {
      float* base = reinterpret_cast<float*>(ws + plan.w32);
      const T* src[4] = {w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh};
      float* dst[4] = {nullptr, nullptr, nullptr, nullptr};
      for (int64_t k = 0; k < per; ++k) {
        const auto& info = infos[i * per + k];
        int64_t count = 1;
        for (int64_t d : info.shape) count *= d;
        dst[k] = base + plan.param_offsets[i * per + k];
        convert(ctx, dev(src[k]), dst[k], count);
      }
      out.push_back({dst[0], dst[1], dst[2], dst[3]});
    }
  }
  return out;
}

// Layer l's fp32 time-major input: reserve x, or the previous output times its dropout mask.
template <typename T>
const float* layer_input(const Context& ctx, const RnnShape& s, const RnnInputs<T>& in,
                         const float* R, const RnnReserveLayout& lay, int64_t l, float* scratch) {
  if (l == 0) return R + lay.x();
  const float* prev = R + lay.y(l - 1);
  if (in.dropout_masks.empty()) return prev;
  apply_mask(ctx, prev, dev(in.dropout_masks[l - 1]), scratch,
             s.seq_len * s.batch * s.output_size());
  return scratch;
}

template <typename T>
void custom_forward(const Context& ctx, const RnnShape& sh, const RnnInputs<T>& in,
                    const RnnOutputs<T>& out, Path path, void* reserve, void* workspace,
                    size_t workspace_bytes) {
  const CustomPlan plan(sh, dtype_of<T>);
  STRAND_CHECK(workspace && workspace_bytes >= plan.forward_bytes,
               "RNN workspace too small: {} bytes, need {}", workspace_bytes, plan.forward_bytes);
  const int64_t T_ = sh.seq_len, N = sh.batch, H = sh.hidden_size, D = sh.dirs(), G = sh.gates();
  const int64_t GH = G * H, NH = N * H, TN = T_ * N;
  const bool lstm = sh.mode == RnnMode::kLstm;
  char* ws = static_cast<char*>(workspace);
  float* R = static_cast<float*>(reserve);
  const RnnReserveLayout lay(sh);
  cublasHandle_t blas = cublas_handle(ctx);
  int* dlen = reinterpret_cast<int*>(ws + plan.lengths);
  const int64_t max_len = upload_lengths(ctx, sh, in.lengths, dlen);
  const auto w32 = weights_f32(ctx, sh, in, plan, ws);
  float* gx = reinterpret_cast<float*>(ws + plan.gx);
  float* hh = reinterpret_cast<float*>(ws + plan.hh);
  float* scratch = reinterpret_cast<float*>(ws + plan.scratch);
  float* hn32 = reinterpret_cast<float*>(ws + plan.hn32);
  float* cn32 = reinterpret_cast<float*>(ws + plan.cn32);
  sequence_copy(ctx, dev(in.input), R + lay.x(), T_, N, sh.input_size, sh.batch_first, false, dlen);

  for (int64_t l = 0; l < sh.num_layers; ++l) {
    const int64_t I = sh.layer_input_size(l);
    const float* xin = layer_input(ctx, sh, in, R, lay, l, scratch);
    StepLayer st = step_layer(sh, dlen);
    st.hh = hh;
    for (int64_t d = 0; d < D; ++d) {
      const RnnLayerWeights<float>& w = w32[l * D + d];
      float* g = gx + d * TN * GH;
      bias_rows_kernel<<<blocks_for(TN * GH), kThreads, 0, ctx.stream>>>(g, TN, GH, H, lstm,
                                                                         w.bias_ih, w.bias_hh);
      STRAND_CUDA_CHECK_LAUNCH("rnn bias_rows_kernel");
      gemm(blas, false, true, TN, GH, I, 1.f, xin, I, w.weight_ih, I, 1.f, g, GH);
      st.bufs[d] = detail::rnn_dir_buffers(sh, R, lay, l, d, g, w.bias_hh);
      st.bufs[d].h_n = hn32 + (l * D + d) * NH;
      st.bufs[d].c_n = cn32 + (l * D + d) * NH;
      st.dims[d] = RnnDims{T_, N, H, D, lstm, d == 1};
      const int64_t state = (l * D + d) * NH;
      convert(ctx, in.h0 ? dev(in.h0) + state : dev(in.h0), st.bufs[d].hs, NH);
      if (lstm) convert(ctx, in.c0 ? dev(in.c0) + state : dev(in.c0), st.bufs[d].cs, NH);
    }
    if (path == Path::kCluster || path == Path::kPersistent) {
      using W = std::conditional_t<std::is_same_v<T, float>, float, uint16_t>;
      ri::PersistentLayer<W> pl;
      for (int64_t d = 0; d < D; ++d) {
        pl.bufs[d] = st.bufs[d];
        pl.dims[d] = st.dims[d];
        pl.w_hh[d] = reinterpret_cast<const W*>(in.weights[l * D + d].weight_hh);
      }
      pl.lengths = dlen;
      if constexpr (std::is_same_v<T, float>) {
        if (path == Path::kCluster) {
          ri::cluster_forward_f32(ctx, sh, pl);
        } else {
          ri::persistent_forward_f32(ctx, sh, pl);
        }
      } else {
        if (path == Path::kCluster) {
          ri::cluster_forward_bf16(ctx, sh, pl);
        } else {
          ri::persistent_forward_bf16(ctx, sh, pl);
        }
      }
    } else {
      for (int64_t s = 0; s < T_; ++s) {
        if (s < max_len) {
          for (int64_t d = 0; d < D; ++d)
            gemm(blas, false, true, N, GH, H, 1.f, st.bufs[d].hs + s * NH, H,
                 w32[l * D + d].weight_hh, H, 0.f, hh + d * N * GH, GH);
        }
        step_forward_kernel<<<blocks_for(D * NH), kThreads, 0, ctx.stream>>>(st, s);
        STRAND_CUDA_CHECK_LAUNCH("rnn step_forward_kernel");
      }
    }
  }
  sequence_copy(ctx, R + lay.y(sh.num_layers - 1), dev(out.output), T_, N, sh.output_size(), false,
                sh.batch_first, static_cast<const int*>(nullptr));
  const int64_t states = sh.num_layers * D * NH;
  if (out.h_n) convert(ctx, hn32, dev(out.h_n), states);
  if (lstm && out.c_n) convert(ctx, cn32, dev(out.c_n), states);
}

template <typename T>
void custom_backward(const Context& ctx, const RnnShape& sh, const RnnInputs<T>& in,
                     const void* reserve, const RnnGradOutputs<T>& dout,
                     const RnnGradInputs<T>& din, Path path, void* workspace,
                     size_t workspace_bytes) {
  const CustomPlan plan(sh, dtype_of<T>);
  STRAND_CHECK(workspace && workspace_bytes >= plan.total,
               "RNN workspace too small: {} bytes, need {}", workspace_bytes, plan.total);
  const int64_t T_ = sh.seq_len, N = sh.batch, H = sh.hidden_size, D = sh.dirs(), G = sh.gates();
  const int64_t GH = G * H, NH = N * H, TN = T_ * N;
  const bool lstm = sh.mode == RnnMode::kLstm;
  char* ws = static_cast<char*>(workspace);
  // Read-only here; the shared buffer struct just has mutable pointers.
  float* R = const_cast<float*>(static_cast<const float*>(reserve));
  const RnnReserveLayout lay(sh);
  cublasHandle_t blas = cublas_handle(ctx);
  int* dlen = reinterpret_cast<int*>(ws + plan.lengths);
  const int64_t max_len = upload_lengths(ctx, sh, in.lengths, dlen);
  const auto w32 = weights_f32(ctx, sh, in, plan, ws);
  // After the cluster forward, the cluster backward where W_hh^T and the dgh exchange buffers fit
  // one cluster (it needs more than forward: G*H values per sample). Else the persistent backward,
  // which needs the transposed W_hh slice and a dgh tile on chip, where the persistent forward
  // would have been allowed; else the per-step GEMM path.
  const bool cluster_bwd = path == Path::kCluster && ri::cluster_fits(ctx, sh, sizeof(T), true);
  const bool persistent_bwd =
      !cluster_bwd &&
      (path == Path::kPersistent ||
       (path == Path::kCluster &&
        rnn_persistent_allowed(sh.hidden_size, concurrent_collectives(ctx.device)))) &&
      ri::persistent_fits(ctx, sh, sizeof(T), true);
  auto buf = [&](size_t offset) { return reinterpret_cast<float*>(ws + offset); };
  float *scratch = buf(plan.scratch), *ones = buf(plan.ones), *dy = buf(plan.dy),
        *dh_rec = buf(plan.dh_rec), *dh_carry = buf(plan.dh_carry), *dc_carry = buf(plan.dc_carry),
        *dx = buf(plan.dx);
  fill_kernel<<<blocks_for(TN), kThreads, 0, ctx.stream>>>(ones, TN, 1.f);
  STRAND_CUDA_CHECK_LAUNCH("rnn fill_kernel");

  // Gradient targets in fp32: the caller's for f32, zeroed accumulators for bf16.
  const int64_t per = sh.bias ? 4 : 2;
  const auto infos = rnn_parameters(sh);
  std::vector<RnnLayerGrads<float>> g32;
  if (!din.weights.empty()) {
    if constexpr (std::is_same_v<T, float>) {
      g32.assign(din.weights.begin(), din.weights.end());
    } else {
      STRAND_CUDA_CHECK(cudaMemsetAsync(ws + plan.g32, 0, plan.ones - plan.g32, ctx.stream));
      for (int64_t i = 0; i < sh.num_layers * D; ++i) {
        float* p[4] = {nullptr, nullptr, nullptr, nullptr};
        for (int64_t k = 0; k < per; ++k) p[k] = buf(plan.g32) + plan.param_offsets[i * per + k];
        g32.push_back({p[0], p[1], p[2], p[3]});
      }
    }
  }

  sequence_copy(ctx, dev(dout.d_output), dy, T_, N, D * H, sh.batch_first, false,
                static_cast<const int*>(nullptr));
  for (int64_t l = sh.num_layers - 1; l >= 0; --l) {
    const int64_t I = sh.layer_input_size(l);
    StepLayer st = step_layer(sh, dlen);
    st.dh_rec = dh_rec;
    st.dh_carry = dh_carry;
    st.dc_carry = dc_carry;
    st.dy = dy;
    for (int64_t d = 0; d < D; ++d) {
      st.bufs[d] =
          detail::rnn_dir_buffers<float>(sh, R, lay, l, d, nullptr, w32[l * D + d].bias_hh);
      st.dims[d] = RnnDims{T_, N, H, D, lstm, d == 1};
      st.dgx[d] = buf(plan.dgx) + d * TN * GH;
      st.dgh[d] = buf(plan.dgh) + d * TN * GH;
      const int64_t state = (l * D + d) * NH;
      convert(ctx, dout.d_h_n ? dev(dout.d_h_n) + state : dev(dout.d_h_n), dh_carry + d * NH, NH);
      convert(ctx,
              lstm && dout.d_c_n ? dev(dout.d_c_n) + state : static_cast<const Dev<T>*>(nullptr),
              dc_carry + d * NH, NH);
    }
    if (cluster_bwd || persistent_bwd) {
      using W = std::conditional_t<std::is_same_v<T, float>, float, uint16_t>;
      ri::PersistentBackwardLayer<W> pl;
      for (int64_t d = 0; d < D; ++d) {
        pl.bufs[d] = st.bufs[d];
        pl.dims[d] = st.dims[d];
        pl.w_hh[d] = reinterpret_cast<const W*>(in.weights[l * D + d].weight_hh);
        pl.dgx[d] = st.dgx[d];
        pl.dgh[d] = st.dgh[d];
      }
      pl.lengths = dlen;
      pl.dh_carry = dh_carry;
      pl.dc_carry = dc_carry;
      pl.dy = dy;
      if constexpr (std::is_same_v<T, float>) {
        if (cluster_bwd) {
          ri::cluster_backward_f32(ctx, sh, pl);
        } else {
          ri::persistent_backward_f32(ctx, sh, pl);
        }
      } else {
        if (cluster_bwd) {
          ri::cluster_backward_bf16(ctx, sh, pl);
        } else {
          ri::persistent_backward_bf16(ctx, sh, pl);
        }
      }
    } else {
      for (int64_t s = T_ - 1; s >= 0; --s) {
        const bool rec = s + 1 < max_len;
        if (rec) {
          for (int64_t d = 0; d < D; ++d)
            gemm(blas, false, false, N, H, GH, 1.f, st.dgh[d] + (s + 1) * N * GH, GH,
                 w32[l * D + d].weight_hh, H, 0.f, dh_rec + d * NH, H);
        }
        step_backward_kernel<<<blocks_for(D * NH), kThreads, 0, ctx.stream>>>(st, s, rec);
        STRAND_CUDA_CHECK_LAUNCH("rnn step_backward_kernel");
      }
    }
    const float* xin = layer_input(ctx, sh, in, R, lay, l, scratch);
    for (int64_t d = 0; d < D; ++d) {
      const RnnLayerWeights<float>& w = w32[l * D + d];
      const int64_t state = (l * D + d) * NH;
      if (din.d_h0) {
        gemm(blas, false, false, N, H, GH, 1.f, st.dgh[d], GH, w.weight_hh, H, 1.f,
             dh_carry + d * NH, H);
        convert(ctx, dh_carry + d * NH, dev(din.d_h0) + state, NH);
      }
      if (din.d_c0) convert(ctx, dc_carry + d * NH, dev(din.d_c0) + state, NH);
      if (!g32.empty()) {
        const RnnLayerGrads<float>& g = g32[l * D + d];
        const RnnLayerGrads<T>& user = din.weights[l * D + d];
        if (user.weight_ih)
          gemm(blas, true, false, GH, I, TN, 1.f, st.dgx[d], GH, xin, I, 1.f, g.weight_ih, I);
        if (user.weight_hh)
          gemm(blas, true, false, GH, H, TN, 1.f, st.dgh[d], GH, st.bufs[d].hs, H, 1.f, g.weight_hh,
               H);
        const float one = 1.f;
        if (user.bias_ih)
          STRAND_CUBLAS_CHECK(cublasSgemv(blas, CUBLAS_OP_N, static_cast<int>(GH),
                                          static_cast<int>(TN), &one, st.dgx[d],
                                          static_cast<int>(GH), ones, 1, &one, g.bias_ih, 1));
        if (user.bias_hh)
          STRAND_CUBLAS_CHECK(cublasSgemv(blas, CUBLAS_OP_N, static_cast<int>(GH),
                                          static_cast<int>(TN), &one, st.dgh[d],
                                          static_cast<int>(GH), ones, 1, &one, g.bias_hh, 1));
      }
      if (!din.taps.empty()) {
        if constexpr (std::is_same_v<T, float>) {
          const RnnLayerTaps<float>& tap = din.taps[l * D + d];
          const auto copy = [&](float* dst, const float* src, int64_t count) {
            STRAND_CUDA_CHECK(cudaMemcpyAsync(dst, src, count * sizeof(float),
                                              cudaMemcpyDeviceToDevice, ctx.stream));
          };
          copy(tap.d_gates_ih, st.dgx[d], TN * GH);
          copy(tap.d_gates_hh, st.dgh[d], TN * GH);
          copy(tap.input, xin, TN * I);
          copy(tap.h_prev, st.bufs[d].hs, TN * H);
        }
      }
      if (l > 0 || din.d_input)
        gemm(blas, false, false, TN, I, GH, 1.f, st.dgx[d], GH, w.weight_ih, I, d == 0 ? 0.f : 1.f,
             dx, I);
    }
    if (l > 0) {
      if (in.dropout_masks.empty()) {
        STRAND_CUDA_CHECK(
            cudaMemcpyAsync(dy, dx, TN * I * sizeof(float), cudaMemcpyDeviceToDevice, ctx.stream));
      } else {
        apply_mask(ctx, dx, dev(in.dropout_masks[l - 1]), dy, TN * I);
      }
    } else if (din.d_input) {
      sequence_copy(ctx, dx, dev(din.d_input), T_, N, I, false, sh.batch_first,
                    static_cast<const int*>(nullptr));
    }
  }
  if constexpr (!std::is_same_v<T, float>) {
    for (size_t i = 0; i < g32.size(); ++i) {
      const RnnLayerGrads<T>& user = din.weights[i];
      T* targets[4] = {user.weight_ih, user.weight_hh, user.bias_ih, user.bias_hh};
      const float* sources[4] = {g32[i].weight_ih, g32[i].weight_hh, g32[i].bias_ih,
                                 g32[i].bias_hh};
      for (int64_t k = 0; k < per; ++k) {
        int64_t count = 1;
        for (int64_t dim : infos[i * per + k].shape) count *= dim;
        accumulate_into(ctx, sources[k], dev(targets[k]), count);
      }
    }
  }
}

}  // namespace

namespace rnn_internal {

void multiply_mask(const Context& ctx, const float* src, const float* mask, float* dst,
                   size_t count) {
  apply_mask(ctx, src, mask, dst, static_cast<int64_t>(count));
}
void accumulate(const Context& ctx, const float* src, float* dst, size_t count) {
  accumulate_into(ctx, src, dst, static_cast<int64_t>(count));
}
void copy_sequence(const Context& ctx, const float* src, float* dst, int64_t T, int64_t N,
                   int64_t F, bool src_bf, bool dst_bf) {
  sequence_copy(ctx, src, dst, T, N, F, src_bf, dst_bf, static_cast<const int*>(nullptr));
}

}  // namespace rnn_internal

std::string rnn_path_name(const Context& ctx, const RnnShape& shape, DType dtype, RnnAlgo algo) {
  switch (resolve(ctx, shape, dtype, algo)) {
    case Path::kCluster:
      return "cluster";
    case Path::kPersistent:
      return "persistent";
    case Path::kStepGemm:
      return "step_gemm";
    case Path::kCudnn:
      return algo == RnnAlgo::kCudnnPersistStatic   ? "cudnn_persist_static"
             : algo == RnnAlgo::kCudnnPersistSmallH ? "cudnn_persist_small_h"
                                                    : "cudnn";
  }
  return "?";
}

size_t rnn_reserve_bytes(const Context& ctx, const RnnShape& shape, DType dtype, RnnAlgo algo) {
  if (resolve(ctx, shape, dtype, algo) == Path::kCudnn)
    return ri::cudnn_reserve_bytes(ctx, shape, algo);
  return RnnReserveLayout(shape).total * sizeof(float);
}

size_t rnn_workspace_bytes(const Context& ctx, const RnnShape& shape, DType dtype, RnnAlgo algo) {
  if (resolve(ctx, shape, dtype, algo) == Path::kCudnn)
    return ri::cudnn_workspace_bytes(ctx, shape, algo);
  return CustomPlan(shape, dtype).total;
}

template <typename T>
void rnn_forward(const Context& ctx, const RnnShape& shape, const RnnInputs<T>& in,
                 const RnnOutputs<T>& out, RnnAlgo algo, void* reserve, void* workspace,
                 size_t workspace_bytes) {
  detail::check_rnn_inputs(shape, in);
  STRAND_CHECK(out.output != nullptr, "RNN output is null");
  STRAND_CHECK(reserve != nullptr, "RNN reserve is null (size it with rnn_reserve_bytes)");
  const Path path = resolve(ctx, shape, dtype_of<T>, algo);
  if (path == Path::kCudnn) {
    if constexpr (std::is_same_v<T, float>) {
      ri::cudnn_forward(ctx, shape, algo, in, out, reserve, workspace, workspace_bytes);
    }
    return;
  }
  custom_forward(ctx, shape, in, out, path, reserve, workspace, workspace_bytes);
}

template <typename T>
void rnn_backward(const Context& ctx, const RnnShape& shape, const RnnInputs<T>& in,
                  const void* reserve, const RnnGradOutputs<T>& dout, const RnnGradInputs<T>& din,
                  RnnAlgo algo, void* workspace, size_t workspace_bytes) {
  detail::check_rnn_inputs(shape, in);
  detail::check_rnn_grad_args(shape, dout, din);
  STRAND_CHECK(reserve != nullptr, "RNN reserve is null (pass the forward call's reserve)");
  const Path path = resolve(ctx, shape, dtype_of<T>, algo);
  STRAND_CHECK(din.taps.empty() || (path != Path::kCudnn && std::is_same_v<T, float>),
               "RNN backward taps (per-example gradients) need f32 and the custom kernels, not "
               "cuDNN or bf16");
  if (path == Path::kCudnn) {
    if constexpr (std::is_same_v<T, float>) {
      ri::cudnn_backward(ctx, shape, algo, in, reserve, dout, din, workspace, workspace_bytes);
    }
    return;
  }
  custom_backward(ctx, shape, in, reserve, dout, din, path, workspace, workspace_bytes);
}

#define INSTANTIATE(T)                                                                          \
  template void rnn_forward(const Context&, const RnnShape&, const RnnInputs<T>&,               \
                            const RnnOutputs<T>&, RnnAlgo, void*, void*, size_t);               \
  template void rnn_backward(const Context&, const RnnShape&, const RnnInputs<T>&, const void*, \
                             const RnnGradOutputs<T>&, const RnnGradInputs<T>&, RnnAlgo, void*, \
                             size_t);
STRAND_CUDA_F32_BF16_TYPES(INSTANTIATE)
#undef INSTANTIATE

}  // namespace strand::kernels::cuda
