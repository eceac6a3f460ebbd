// The host side of the Hopper conv1d kernel (built for the default arch; the kernel itself is in
// the *_sm90a.cu files): the internal layouts it reads (channels-last input, tap-major weights,
// both with channels padded to 16 bytes), the TMA tensor maps (cuTensorMapEncodeTiled through
// the runtime's driver entry point, so no libcuda link), and the three passes.
#include <cudaTypedefs.h>

#include <memory>
#include <mutex>
#include <vector>

#include "kernels/common/cuda_check.h"
#include "kernels/common/mma_sync.cuh"
#include "kernels/conv1d/conv1d_cuda_impl.h"
#include "kernels/conv1d/conv1d_sm90.h"

namespace strand::kernels::cuda::detail {
namespace {

using sm90::Geom;
using sm90::MapDesc;

// fp32 operands are rounded to nearest tf32 here (the tensor cores would truncate), as cuDNN's
// TF32 mode rounds; bf16 passes through.
template <typename E>
__device__ __forceinline__ E operand(E v) {
  if constexpr (std::is_same_v<E, float>) {
    return __uint_as_float(to_tf32(v));
  } else {
    return v;
  }
}

template <typename E>
__global__ void channels_last_kernel(const E* src, E* dst, int batch, int channels, int len,
                                     int kc) {
  const long long total = static_cast<long long>(batch) * len * kc;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int c = static_cast<int>(i % kc);
    const long long bl = i / kc;
    const int l = static_cast<int>(bl % len), b = static_cast<int>(bl / len);
    dst[i] =
        c < channels ? operand(src[sm90::channels_last_source(b, l, c, channels, len)]) : E(0.f);
  }
}

template <typename E>
__global__ void tap_major_kernel(const E* w, E* dst, int taps, int rows, int channels, int kc,
                                 int cin, bool flip) {
  const long long total = static_cast<long long>(taps) * rows * kc;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int c = static_cast<int>(i % kc);
    const long long tr = i / kc;
    const int r = static_cast<int>(tr % rows), t = static_cast<int>(tr / rows);
    dst[i] = c < channels ? operand(w[sm90::tap_major_source(flip, t, r, c, cin, taps)]) : E(0.f);
  }
}

int grid_for(long long count) {
  return static_cast<int>(std::min<long long>((count + 255) / 256, 65535LL * 8));
}

PFN_cuTensorMapEncodeTiled_v12000 encoder() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult found{};
    STRAND_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000,
                                                       cudaEnableDefault, &found));
    STRAND_CHECK(found == cudaDriverEntryPointSuccess && p != nullptr,
                 "conv1d sm90: the driver has no cuTensorMapEncodeTiled (driver too old)");
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(p);
  }();
  return fn;
}

void encode(CUtensorMap* map, const void* base, const MapDesc& d, int elem_bytes) {
  STRAND_CHECK(reinterpret_cast<uintptr_t>(base) % 16 == 0,
               "conv1d sm90: a tensor is not 16-byte aligned (TMA needs it)");
  const cuuint64_t dims[3] = {static_cast<cuuint64_t>(d.dims[0]),
                              static_cast<cuuint64_t>(d.dims[1]),
                              static_cast<cuuint64_t>(d.dims[2])};
  const cuuint64_t strides[2] = {static_cast<cuuint64_t>(d.strides_bytes[0]),
                                 static_cast<cuuint64_t>(d.strides_bytes[1])};
  const cuuint32_t box[3] = {static_cast<cuuint32_t>(d.box[0]), static_cast<cuuint32_t>(d.box[1]),
                             static_cast<cuuint32_t>(d.box[2])};
  const cuuint32_t unit[3] = {1, 1, 1};
  // FLOAT_OOB_FILL_NONE fills out-of-bounds elements with zeros: the padding and the tap shift.
  const CUresult r = encoder()(
      map, elem_bytes == 2 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 3,
      const_cast<void*>(base), dims, strides, box, unit, CU_TENSOR_MAP_INTERLEAVE_NONE,
      CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
      CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  STRAND_CHECK(r == CUDA_SUCCESS, "conv1d sm90: cuTensorMapEncodeTiled failed (CUresult {})",
               static_cast<int>(r));
}

template <typename T>
void launch(const sm90::Args& args, const Context& ctx) {
  if constexpr (std::is_same_v<T, BFloat16>) {
    sm90::launch_bf16(args, ctx.stream);
  } else {
    sm90::launch_tf32(args, ctx.stream);
  }
}

int sm_count(const Context& ctx) {
  int n = 0;
  STRAND_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, ctx.device));
  return n;
}

// Forward form on an NCL input `in` [batch][channels][geom.lin] and PyTorch weights, flipped
// for backward-data.
template <typename T>
void run_forward_form(const Context& ctx, const Geom& g, int channels, int cin, const T* in,
                      const T* w, bool flip, const T* bias, T* out, const Conv1dEpilogue& epi) {
  using E = DeviceType<T>;
  const int eb = sizeof(T);
  StreamBuffer xcl(ctx, static_cast<size_t>(g.batch) * g.lin * g.kc * eb);
  StreamBuffer wt(ctx, static_cast<size_t>(g.taps) * g.m * g.kc * eb);
  const long long nx = static_cast<long long>(g.batch) * g.lin * g.kc;
  channels_last_kernel<<<grid_for(nx), 256, 0, ctx.stream>>>(
      device_ptr(in), static_cast<E*>(xcl.get()), g.batch, channels, g.lin, g.kc);
  STRAND_CUDA_CHECK_LAUNCH("conv1d_sm90_channels_last");
  const long long nw = static_cast<long long>(g.taps) * g.m * g.kc;
  tap_major_kernel<<<grid_for(nw), 256, 0, ctx.stream>>>(device_ptr(w), static_cast<E*>(wt.get()),
                                                         g.taps, g.m, channels, g.kc, cin, flip);
  STRAND_CUDA_CHECK_LAUNCH("conv1d_sm90_tap_major");
  sm90::Args args;
  args.g = g;
  encode(&args.map_a, wt.get(), sm90::map_a(g), eb);
  encode(&args.map_b, xcl.get(), sm90::map_b(g), eb);
  args.bias = bias;
  args.out = out;
  args.bn_sum = epi.bn_sum;
  args.bn_sumsq = epi.bn_sumsq;
  args.relu = epi.relu ? 1 : 0;
  launch<T>(args, ctx);
}

int i32(int64_t v) { return static_cast<int>(v); }

}  // namespace

bool sm90_device(const Context& ctx) {
  static std::mutex m;
  static std::vector<int> known;  // per device: -1 unknown, 0 no, 1 yes
  std::lock_guard<std::mutex> lock(m);
  if (static_cast<int>(known.size()) <= ctx.device) known.resize(ctx.device + 1, -1);
  if (known[ctx.device] < 0) {
    int major = 0, minor = 0;
    STRAND_CUDA_CHECK(
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, ctx.device));
    STRAND_CUDA_CHECK(
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, ctx.device));
    known[ctx.device] = major == 9 && minor == 0 ? 1 : 0;
  }
  return known[ctx.device] == 1;
}

template <typename T>
void sm90_forward(const Context& ctx, const Conv1dShape& s, const T* x, const T* w, const T* bias,
                  T* y, const Conv1dEpilogue& epi) {
  const Geom g = sm90::forward_geom(i32(s.out_channels), i32(s.in_channels), i32(s.in_length),
                                    i32(s.out_length()), i32(s.batch), i32(s.kernel_size),
                                    i32(s.dilation), i32(-s.pad_left), i32(epi.pool), sizeof(T));
  run_forward_form(ctx, g, i32(s.in_channels), i32(s.in_channels), x, w, false, bias, y, epi);
}

template <typename T>
void sm90_backward_data(const Context& ctx, const Conv1dShape& s, const T* dy, const T* w, T* dx) {
  // dx = a forward conv of dy (C_out channels, L_out positions) with the taps flipped and the
  // weights' channel roles swapped; tap 0 reads dy at l + pad_left - dilation*(K-1).
  const Geom g =
      sm90::forward_geom(i32(s.in_channels), i32(s.out_channels), i32(s.out_length()),
                         i32(s.in_length), i32(s.batch), i32(s.kernel_size), i32(s.dilation),
                         i32(s.pad_left - s.dilation * (s.kernel_size - 1)), 1, sizeof(T));
  run_forward_form(ctx, g, i32(s.out_channels), i32(s.in_channels), dy, w, true,
                   static_cast<const T*>(nullptr), dx, Conv1dEpilogue{});
}

template <typename T>
void sm90_backward_weight(const Context& ctx, const Conv1dShape& s, const T* x, const T* dy, T* dw,
                          bool accumulate) {
  const Geom g = sm90::weight_grad_geom(
      i32(s.out_channels), i32(s.in_channels), i32(s.in_length), i32(s.out_length()), i32(s.batch),
      i32(s.kernel_size), i32(s.dilation), i32(-s.pad_left), sizeof(T), sm_count(ctx));
  StreamBuffer ws(ctx, static_cast<size_t>(s.w_numel()) * sizeof(float));
  ws.zero();
  // Rows that are not a multiple of 16 bytes are read from pitched copies (TMA row strides).
  const T* x_rows = x;
  const T* dy_rows = dy;
  std::unique_ptr<StreamBuffer> x_pitched, dy_pitched;
  auto pitched = [&](const T* src, int len, int pitch, int64_t rows,
                     std::unique_ptr<StreamBuffer>& buf) -> const T* {
    if (len == pitch) return src;
    buf = std::make_unique<StreamBuffer>(ctx, static_cast<size_t>(rows) * pitch * sizeof(T));
    STRAND_CUDA_CHECK(cudaMemcpy2DAsync(buf->get(), pitch * sizeof(T), src, len * sizeof(T),
                                        len * sizeof(T), rows, cudaMemcpyDeviceToDevice,
                                        ctx.stream));
    return static_cast<const T*>(buf->get());
  };
  x_rows = pitched(x, g.lin, g.lin_pitch, s.batch * s.in_channels, x_pitched);
  dy_rows = pitched(dy, g.lout, g.lout_pitch, s.batch * s.out_channels, dy_pitched);
  sm90::Args args;
  args.g = g;
  encode(&args.map_a, dy_rows, sm90::map_a(g), sizeof(T));
  encode(&args.map_b, x_rows, sm90::map_b(g), sizeof(T));
  args.out = ws.get();
  launch<T>(args, ctx);
  finalize_weight_grad(ctx, static_cast<const float*>(ws.get()), dw, s.w_numel(), accumulate);
}

#define INSTANTIATE(T)                                                                             \
  template void sm90_forward<T>(const Context&, const Conv1dShape&, const T*, const T*, const T*,  \
                                T*, const Conv1dEpilogue&);                                        \
  template void sm90_backward_data<T>(const Context&, const Conv1dShape&, const T*, const T*, T*); \
  template void sm90_backward_weight<T>(const Context&, const Conv1dShape&, const T*, const T*,    \
                                        T*, bool);
INSTANTIATE(float)
INSTANTIATE(BFloat16)
#undef INSTANTIATE

}  // namespace strand::kernels::cuda::detail
