// The conv1d runners of the safety net (conv1d_safety_net.h): the pass on a small random input
// (the shape with batch min(N, 2)), once with the custom kernel forced and once with cuDNN forced,
// each output copied back to the host as floats for the plain-C++ comparison.
#include <cuda_runtime.h>

#include <algorithm>
#include <random>
#include <vector>

#include "kernels/common/cuda_check.h"
#include "kernels/conv1d/conv1d_cuda_impl.h"
#include "kernels/conv1d/conv1d_safety_net.h"

namespace strand::kernels::cuda {
namespace {

using detail::StreamBuffer;

// A device copy of `count` values uniform in [-1, 1) (fixed seed: the check is reproducible).
template <typename T>
struct DeviceRandom {
  StreamBuffer buf;
  DeviceRandom(const Context& ctx, int64_t count, uint32_t seed)
      : buf(ctx, static_cast<size_t>(count) * sizeof(T)) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::vector<T> host(static_cast<size_t>(count));
    for (T& v : host) v = T(u(rng));
    STRAND_CUDA_CHECK(cudaMemcpyAsync(buf.get(), host.data(), host.size() * sizeof(T),
                                      cudaMemcpyHostToDevice, ctx.stream));
    STRAND_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));  // host is freed on return
  }
  T* get() const { return static_cast<T*>(buf.get()); }
};

template <typename T>
std::vector<float> to_host(const Context& ctx, const T* device, int64_t count) {
  std::vector<T> host(static_cast<size_t>(count));
  STRAND_CUDA_CHECK(cudaMemcpyAsync(host.data(), device, host.size() * sizeof(T),
                                    cudaMemcpyDeviceToHost, ctx.stream));
  STRAND_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  return std::vector<float>(host.begin(), host.end());
}

template <typename T>
bool keeps_custom(const Context& ctx, const std::string& kernel, Conv1dPass pass,
                  const Conv1dShape& shape, Conv1dGpuOptions options) {
  const Conv1dPrecision precision = options.precision;
  Conv1dShape s = shape;
  s.batch = std::min<int64_t>(shape.batch, 2);
  const DeviceRandom<T> x(ctx, s.x_numel(), 1), w(ctx, s.w_numel(), 2), b(ctx, s.out_channels, 3),
      dy(ctx, s.y_numel(), 4);
  auto runner = [&](Conv1dGpuAlgo algo) {
    return [&, algo]() -> std::vector<float> {
      // The custom kernel auto would run (options.custom: the Hopper or the portable one).
      const Conv1dGpuOptions opt{precision, algo, options.custom};
      switch (pass) {
        case Conv1dPass::kForward: {
          StreamBuffer y(ctx, s.y_numel() * sizeof(T));
          conv1d_forward<T>(ctx, s, x.get(), w.get(), b.get(), static_cast<T*>(y.get()), opt);
          return to_host(ctx, static_cast<const T*>(y.get()), s.y_numel());
        }
        case Conv1dPass::kBackwardData: {
          StreamBuffer dx(ctx, s.x_numel() * sizeof(T));
          conv1d_backward_data<T>(ctx, s, dy.get(), w.get(), static_cast<T*>(dx.get()), opt);
          return to_host(ctx, static_cast<const T*>(dx.get()), s.x_numel());
        }
        case Conv1dPass::kBackwardWeight: {
          StreamBuffer dw(ctx, s.w_numel() * sizeof(T));
          conv1d_backward_weight<T>(ctx, s, x.get(), dy.get(), static_cast<T*>(dw.get()), false,
                                    opt);
          return to_host(ctx, static_cast<const T*>(dw.get()), s.w_numel());
        }
      }
      return {};
    };
  };
  const SafetyCase c{kernel,
                     to_string(pass),
                     shape.to_string(),
                     to_string(precision),
                     ctx.device,
                     safety_tolerance(precision)};
  return safety_net().keeps(c, runner(Conv1dGpuAlgo::kCustom), runner(Conv1dGpuAlgo::kCudnn));
}

}  // namespace

bool conv1d_safety_net_keeps_custom(const Context& ctx, const std::string& kernel, Conv1dPass pass,
                                    const Conv1dShape& shape, Conv1dGpuOptions options) {
  if (options.precision == Conv1dPrecision::kBf16) {
    return keeps_custom<BFloat16>(ctx, kernel, pass, shape, options);
  }
  return keeps_custom<float>(ctx, kernel, pass, shape, options);
}

}  // namespace strand::kernels::cuda
