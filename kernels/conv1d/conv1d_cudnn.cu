// cuDNN behind the conv1d interface: the legacy convolution API on an H = 1 image (NCHW with
// H = 1, filter [C_out, C_in/g, 1, K]), one handle per device created lazily and set to the
// caller's stream, and per (device, pass, shape, precision) the descriptors, the algorithm (found
// once with cudnnFind*Algorithm) and its workspace size, built once and cached.
#include <cuda_runtime.h>
#include <cudnn.h>

#include <map>
#include <memory>
#include <mutex>

#include "kernels/common/cuda_check.h"
#include "kernels/common/type_lists.h"
#include "kernels/conv1d/conv1d_cuda_impl.h"

namespace strand::kernels::cuda {

namespace detail {
namespace {

static_assert(CUDNN_STATUS_NOT_SUPPORTED == 3000 && CUDNN_STATUS_NOT_SUPPORTED_LAYOUT == 3004,
              "cudnn_status_means_unsupported() assumes cuDNN 9's status numbering");

// Like STRAND_CUDNN_CHECK, but "not supported for this problem" raises CudnnUnsupported, which
// `auto` answers with the custom kernel instead of failing the whole call.
#define STRAND_CUDNN_CHECK_SUPPORTED(call)                                                        \
  do {                                                                                            \
    const cudnnStatus_t strand_sup_ = (call);                                                     \
    if (strand_sup_ != CUDNN_STATUS_SUCCESS && cudnn_status_means_unsupported(strand_sup_)) {     \
      throw CudnnUnsupported(format("cuDNN does not support this problem: {} returned {}", #call, \
                                    cudnnGetErrorString(strand_sup_)),                            \
                             format("{}:{}", __FILE__, __LINE__));                                \
    }                                                                                             \
    STRAND_CUDNN_CHECK(strand_sup_);                                                              \
  } while (0)

// One handle per device; its mutex is held from cudnnSetStream until the call is enqueued, so
// threads on different streams never race on the handle's stream.
struct DeviceHandle {
  std::mutex mutex;
  cudnnHandle_t handle = nullptr;
};

DeviceHandle& handle_for(int device) {
  static std::mutex registry_mutex;
  static std::map<int, std::unique_ptr<DeviceHandle>> registry;  // never destroyed: see below
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto& slot = registry[device];
  if (!slot) {
    auto h = std::make_unique<DeviceHandle>();
    // The caller has made `device` current (kernel contract), so the handle binds to it.
    STRAND_CUDNN_CHECK(cudnnCreate(&h->handle));
    slot = std::move(h);
  }
  // Handles live until exit: destroying them from a static destructor after the CUDA runtime
  // has shut down is undefined, and the driver reclaims them with the context.
  return *slot;
}

struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  Descriptors(const Conv1dShape& s, cudnnDataType_t type, cudnnMathType_t math) {
    STRAND_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    STRAND_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    STRAND_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    STRAND_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    try {
      describe(s, type, math);
    } catch (...) {
      destroy();  // a constructor that throws runs no destructor
      throw;
    }
  }
  ~Descriptors() { destroy(); }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;

 private:
  void describe(const Conv1dShape& s, cudnnDataType_t type, cudnnMathType_t math) {
    const int n = static_cast<int>(s.batch), cin = static_cast<int>(s.in_channels),
              cout = static_cast<int>(s.out_channels), lin = static_cast<int>(s.in_length),
              lout = static_cast<int>(s.out_length()), k = static_cast<int>(s.kernel_size);
    STRAND_CUDNN_CHECK_SUPPORTED(
        cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, type, n, cin, 1, lin));
    STRAND_CUDNN_CHECK_SUPPORTED(
        cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, type, n, cout, 1, lout));
    STRAND_CUDNN_CHECK_SUPPORTED(cudnnSetFilter4dDescriptor(
        w, type, CUDNN_TENSOR_NCHW, cout, static_cast<int>(s.in_per_group()), 1, k));
    STRAND_CUDNN_CHECK_SUPPORTED(cudnnSetConvolution2dDescriptor(
        conv, 0, static_cast<int>(s.pad_left), 1, static_cast<int>(s.stride), 1,
        static_cast<int>(s.dilation), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    STRAND_CUDNN_CHECK_SUPPORTED(cudnnSetConvolutionGroupCount(conv, static_cast<int>(s.groups)));
    STRAND_CUDNN_CHECK_SUPPORTED(cudnnSetConvolutionMathType(conv, math));
    int on = 0, oc = 0, oh = 0, ow = 0;
    STRAND_CUDNN_CHECK_SUPPORTED(
        cudnnGetConvolution2dForwardOutputDim(conv, x, w, &on, &oc, &oh, &ow));
    STRAND_CHECK(on == n && oc == cout && oh == 1 && ow == lout,
                 "cuDNN output shape [{}, {}, {}, {}] differs from conv1d's [{}, {}, 1, {}]", on,
                 oc, oh, ow, n, cout, lout);
  }
  void destroy() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
  }
};

// fp32 must not silently become TF32: FMA math only. tf32/bf16 allow tensor cores.
cudnnMathType_t math_for(Conv1dPrecision p) {
  return p == Conv1dPrecision::kFp32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
}
cudnnDataType_t type_for(Conv1dPrecision p) {
  return p == Conv1dPrecision::kBf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
}

struct Choice {
  int algo;  // the cudnnConvolution*Algo_t value of the pass
  cudnnMathType_t math;
};

struct ChoiceKey {
  int device;
  Conv1dPass pass;
  Conv1dShape shape;
  Conv1dPrecision precision;
  auto operator<=>(const ChoiceKey&) const = default;
};

std::mutex& plan_mutex() {
  static std::mutex m;
  return m;
}

// Everything host-side one pass needs: its descriptors, cudnnFind's choice and the workspace size.
// Built once per key and kept, so a (timed) call only enqueues the convolution. Never destroyed,
// like the handles (no cuDNN calls from static destructors).
struct Plan {
  std::unique_ptr<Descriptors> d;
  Choice c{};
  size_t bytes = 0;
};
std::map<ChoiceKey, Plan>& plans() {
  static auto* p = new std::map<ChoiceKey, Plan>();
  return *p;
}

// The fastest successful perf result; for fp32 only FMA kernels count.
template <typename Perf>
Choice pick(const Perf* perfs, int count, Conv1dPrecision p, Conv1dPass pass) {
  for (int i = 0; i < count; ++i) {
    if (perfs[i].status != CUDNN_STATUS_SUCCESS) continue;
    if (p == Conv1dPrecision::kFp32 && perfs[i].mathType != CUDNN_FMA_MATH &&
        perfs[i].mathType != CUDNN_DEFAULT_MATH) {
      continue;
    }
    // fp32 keeps FMA math even if cuDNN reports DEFAULT, which may mean TF32 on Ampere and later.
    return {static_cast<int>(perfs[i].algo),
            p == Conv1dPrecision::kFp32 ? CUDNN_FMA_MATH : perfs[i].mathType};
  }
  // Nothing ran: bf16 depthwise, dilated or K = 1 shapes can get here. Not a failure for `auto`.
  throw CudnnUnsupported(
      format("cuDNN found no algorithm for conv1d {} in {}", to_string(pass), to_string(p)),
      "conv1d_cudnn.cu pick()");
}

// The plan for this key: looked up, or built under the device handle's lock (held by the caller,
// so one thread per device builds; a key names one device).
const Plan& plan_for(cudnnHandle_t h, const Context& ctx, Conv1dPass pass, const Conv1dShape& s,
                     Conv1dPrecision p) {
  const ChoiceKey key{ctx.device, pass, s, p};
  {
    std::lock_guard<std::mutex> lock(plan_mutex());
    auto it = plans().find(key);
    if (it != plans().end()) return it->second;
  }
  Plan plan;
  plan.d = std::make_unique<Descriptors>(s, type_for(p), math_for(p));
  const Descriptors& d = *plan.d;
  Choice& c = plan.c;
  int returned = 0;
  switch (pass) {
    case Conv1dPass::kForward: {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      STRAND_CUDNN_CHECK_SUPPORTED(cudnnFindConvolutionForwardAlgorithm(
          h, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
      c = pick(perf, returned, p, pass);
      break;
    }
    case Conv1dPass::kBackwardData: {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      STRAND_CUDNN_CHECK_SUPPORTED(cudnnFindConvolutionBackwardDataAlgorithm(
          h, d.w, d.y, d.conv, d.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf));
      c = pick(perf, returned, p, pass);
      break;
    }
    case Conv1dPass::kBackwardWeight: {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      STRAND_CUDNN_CHECK_SUPPORTED(cudnnFindConvolutionBackwardFilterAlgorithm(
          h, d.x, d.y, d.conv, d.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf));
      c = pick(perf, returned, p, pass);
      break;
    }
  }
  STRAND_CUDNN_CHECK_SUPPORTED(cudnnSetConvolutionMathType(d.conv, c.math));
  switch (pass) {
    case Conv1dPass::kForward:
      STRAND_CUDNN_CHECK_SUPPORTED(cudnnGetConvolutionForwardWorkspaceSize(
          h, d.x, d.w, d.conv, d.y, static_cast<cudnnConvolutionFwdAlgo_t>(c.algo), &plan.bytes));
      break;
    case Conv1dPass::kBackwardData:
      STRAND_CUDNN_CHECK_SUPPORTED(cudnnGetConvolutionBackwardDataWorkspaceSize(
          h, d.w, d.y, d.conv, d.x, static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo),
          &plan.bytes));
      break;
    case Conv1dPass::kBackwardWeight:
      STRAND_CUDNN_CHECK_SUPPORTED(cudnnGetConvolutionBackwardFilterWorkspaceSize(
          h, d.x, d.y, d.conv, d.w, static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo),
          &plan.bytes));
      break;
  }
  std::lock_guard<std::mutex> lock(plan_mutex());
  return plans().emplace(key, std::move(plan)).first->second;
}

// Runs `call(handle, descriptors, choice, workspace, bytes)` for one pass on ctx.stream.
template <typename Call>
void run_pass(const Context& ctx, Conv1dPass pass, const Conv1dShape& s, Conv1dPrecision p,
              Call&& call) {
  if (std::string why; !conv1d_cudnn_supports(s, &why)) {
    throw CudnnUnsupported(format("conv1d {} via cuDNN: {}", to_string(pass), why),
                           "conv1d_cudnn.cu run_pass()");
  }
  DeviceHandle& dh = handle_for(ctx.device);
  std::lock_guard<std::mutex> lock(dh.mutex);
  STRAND_CUDNN_CHECK(cudnnSetStream(dh.handle, ctx.stream));
  const Plan& plan = plan_for(dh.handle, ctx, pass, s, p);
  StreamBuffer ws(ctx, plan.bytes);
  call(dh.handle, *plan.d, plan.c, ws.get(), plan.bytes);
}

}  // namespace

template <typename T>
void cudnn_forward(const Context& ctx, const Conv1dShape& s, const T* x, const T* w, const T* bias,
                   T* y, Conv1dPrecision precision) {
  run_pass(ctx, Conv1dPass::kForward, s, precision,
           [&](cudnnHandle_t h, const Descriptors& d, Choice c, void* ws, size_t bytes) {
             const float one = 1.f, zero = 0.f;
             STRAND_CUDNN_CHECK(cudnnConvolutionForward(
                 h, &one, d.x, x, d.w, w, d.conv, static_cast<cudnnConvolutionFwdAlgo_t>(c.algo),
                 ws, bytes, &zero, d.y, y));
           });
  if (bias) add_bias(ctx, s, bias, y);
}

template <typename T>
void cudnn_backward_data(const Context& ctx, const Conv1dShape& s, const T* dy, const T* w, T* dx,
                         Conv1dPrecision precision) {
  run_pass(ctx, Conv1dPass::kBackwardData, s, precision,
           [&](cudnnHandle_t h, const Descriptors& d, Choice c, void* ws, size_t bytes) {
             const float one = 1.f, zero = 0.f;
             STRAND_CUDNN_CHECK(cudnnConvolutionBackwardData(
                 h, &one, d.w, w, d.y, dy, d.conv,
                 static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo), ws, bytes, &zero, d.x, dx));
           });
}

template <typename T>
void cudnn_backward_weight(const Context& ctx, const Conv1dShape& s, const T* x, const T* dy, T* dw,
                           bool accumulate, Conv1dPrecision precision) {
  run_pass(ctx, Conv1dPass::kBackwardWeight, s, precision,
           [&](cudnnHandle_t h, const Descriptors& d, Choice c, void* ws, size_t bytes) {
             const float one = 1.f, beta = accumulate ? 1.f : 0.f;
             STRAND_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
                 h, &one, d.x, x, d.y, dy, d.conv,
                 static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo), ws, bytes, &beta, d.w, dw));
           });
}

#define STRAND_CUDNN_CONV1D_INSTANTIATE(T)                                                         \
  template void cudnn_forward<T>(const Context&, const Conv1dShape&, const T*, const T*, const T*, \
                                 T*, Conv1dPrecision);                                             \
  template void cudnn_backward_data<T>(const Context&, const Conv1dShape&, const T*, const T*, T*, \
                                       Conv1dPrecision);                                           \
  template void cudnn_backward_weight<T>(const Context&, const Conv1dShape&, const T*, const T*,   \
                                         T*, bool, Conv1dPrecision);

STRAND_CUDA_F32_BF16_TYPES(STRAND_CUDNN_CONV1D_INSTANTIATE)
#undef STRAND_CUDNN_CONV1D_INSTANTIATE

}  // namespace detail
}  // namespace strand::kernels::cuda
