// The Hopper (TMA + wgmma) conv1d kernel on a device: forced with Conv1dCustomKernel::kSm90 on
// the mid-layer shapes (small batch), every pass in bf16 and tf32 against the float64 CPU
// reference and against cuDNN, fresh random inputs, outputs poisoned with NaN first; the fused
// epilogue (bias + ReLU + max pool, batch-norm sums) against the CPU epilogue and against the
// unfused path. Skips without a compute-capability-9.0 device; the argument checks run anywhere.
#include <cuda_runtime.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "kernels/conv1d/conv1d.h"
#include "tests/kernels/conv1d_test_shapes.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using strand::testing::abs_max;
using strand::testing::all_close;
using strand::testing::DeviceBuffer;
using strand::testing::random_vector;
using strand::testing::test_context;

bool hopper() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) return false;
  int major = 0, minor = 0;
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0);
  return major == 9 && minor == 0;
}
#define REQUIRE_HOPPER()                                                                    \
  do {                                                                                      \
    STRAND_REQUIRE_CUDA_DEVICE();                                                           \
    if (!hopper()) GTEST_SKIP() << "the sm_90a kernel runs on compute capability 9.0 only"; \
  } while (0)

std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }
std::vector<double> widen(const std::vector<BFloat16>& v) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i]);
  return out;
}

// The mid layers at batch 2 and 250 positions, padded as bench/conv1d.cpp pads them
// (DeepSEA valid, the others symmetric "same": cuDNN takes only symmetric padding).
std::vector<Conv1dShape> mid_layers() {
  return {{2, 320, 480, 250, 8},
          {2, 480, 960, 250, 8},
          {2, 300, 200, 250, 11, 1, 5, 5},
          {2, 200, 200, 250, 7, 1, 3, 3},
          {2, 288, 288, 250, 3, 1, 4, 4, 4}};
}

template <typename T>
void check_passes(const Conv1dShape& s, Conv1dPrecision precision, uint64_t seed) {
  SCOPED_TRACE(s.to_string() + " " + to_string(precision));
  const Conv1dGpuOptions sm90{precision, Conv1dGpuAlgo::kCustom, Conv1dCustomKernel::kSm90};
  const Conv1dGpuOptions cudnn{precision, Conv1dGpuAlgo::kCudnn};
  const double tol = strand::testing::conv1d_gpu_tolerance(precision);
  const auto x = random_vector<T>(s.x_numel(), seed + 1);
  const auto w = random_vector<T>(s.w_numel(), seed + 2);
  const auto b = random_vector<T>(s.out_channels, seed + 3);
  const auto dy = random_vector<T>(s.y_numel(), seed + 4);
  const auto dw0 = random_vector<T>(s.w_numel(), seed + 5);
  const auto xd = widen(x), wd = widen(w), bd = widen(b), dyd = widen(dy);
  std::vector<double> y_ref(s.y_numel()), dx_ref(s.x_numel()), dw_ref = widen(dw0);
  cpu::conv1d_forward<double>({}, s, xd.data(), wd.data(), bd.data(), y_ref.data());
  cpu::conv1d_backward_data<double>({}, s, dyd.data(), wd.data(), dx_ref.data());
  cpu::conv1d_backward_weight<double>({}, s, xd.data(), dyd.data(), dw_ref.data(), true);

  DeviceBuffer<T> x_d(x), w_d(w), b_d(b), dy_d(dy), y_d(s.y_numel()), dx_d(s.x_numel()), dw_d(dw0);
  DeviceBuffer<T> y_c(s.y_numel()), dx_c(s.x_numel()), dw_c(dw0);
  const Context ctx = test_context();
  cuda::conv1d_forward<T>(ctx, s, x_d.get(), w_d.get(), b_d.get(), y_d.get(), sm90);
  cuda::conv1d_backward_data<T>(ctx, s, dy_d.get(), w_d.get(), dx_d.get(), sm90);
  cuda::conv1d_backward_weight<T>(ctx, s, x_d.get(), dy_d.get(), dw_d.get(), true, sm90);
  cuda::conv1d_forward<T>(ctx, s, x_d.get(), w_d.get(), b_d.get(), y_c.get(), cudnn);
  cuda::conv1d_backward_data<T>(ctx, s, dy_d.get(), w_d.get(), dx_c.get(), cudnn);
  cuda::conv1d_backward_weight<T>(ctx, s, x_d.get(), dy_d.get(), dw_c.get(), true, cudnn);
  const auto y = y_d.download(), dx = dx_d.download(), dw = dw_d.download();
  EXPECT_TRUE(all_close(y, y_ref, tol, tol * abs_max(y_ref))) << "forward vs reference";
  EXPECT_TRUE(all_close(dx, dx_ref, tol, tol * abs_max(dx_ref))) << "backward data vs reference";
  EXPECT_TRUE(all_close(dw, dw_ref, tol, tol * abs_max(dw_ref))) << "backward weight vs reference";
  const auto yc = widen(y_c.download()), dxc = widen(dx_c.download()), dwc = widen(dw_c.download());
  EXPECT_TRUE(all_close(y, yc, 2 * tol, 2 * tol * abs_max(yc))) << "forward vs cuDNN";
  EXPECT_TRUE(all_close(dx, dxc, 2 * tol, 2 * tol * abs_max(dxc))) << "backward data vs cuDNN";
  EXPECT_TRUE(all_close(dw, dwc, 2 * tol, 2 * tol * abs_max(dwc))) << "backward weight vs cuDNN";
}

TEST(Conv1dSm90Cuda, MidLayersMatchTheReferenceAndCudnn) {
  REQUIRE_HOPPER();
  uint64_t seed = 4000;
  for (const Conv1dShape& s : mid_layers()) {
    check_passes<BFloat16>(s, Conv1dPrecision::kBf16, seed += 10);
    check_passes<float>(s, Conv1dPrecision::kTf32, seed += 10);
  }
  // Small, odd shapes: partial tiles everywhere, channels padded to 16 bytes, rows of 150
  // positions (not a multiple of 16 bytes: the weight gradient reads pitched copies).
  check_passes<float>({3, 20, 24, 150, 7, 1, 3, 3}, Conv1dPrecision::kTf32, 4900);
  check_passes<BFloat16>({3, 20, 24, 150, 7, 1, 3, 3}, Conv1dPrecision::kBf16, 4910);
}

template <typename T>
void check_fused(const Conv1dShape& s, Conv1dPrecision precision, Conv1dEpilogue epi,
                 uint64_t seed) {
  SCOPED_TRACE(s.to_string() + " " + to_string(precision) + " pool " + std::to_string(epi.pool));
  const double tol = strand::testing::conv1d_gpu_tolerance(precision);
  const auto x = random_vector<T>(s.x_numel(), seed + 1);
  const auto w = random_vector<T>(s.w_numel(), seed + 2);
  const auto b = random_vector<T>(s.out_channels, seed + 3);
  const auto xd = widen(x), wd = widen(w), bd = widen(b);
  std::vector<double> conv(s.y_numel());
  cpu::conv1d_forward<double>({}, s, xd.data(), wd.data(), bd.data(), conv.data());
  const int64_t lp = s.out_length() / epi.pool;
  std::vector<double> y_ref(s.batch * s.out_channels * lp);
  std::vector<float> sum_ref(s.out_channels, 0.f), sq_ref(s.out_channels, 0.f);
  Conv1dEpilogue ref = epi;
  ref.bn_sum = sum_ref.data();
  ref.bn_sumsq = sq_ref.data();
  cpu::conv1d_epilogue<double>({}, s, conv.data(), y_ref.data(), ref);

  for (Conv1dCustomKernel kernel : {Conv1dCustomKernel::kSm90, Conv1dCustomKernel::kPortable}) {
    SCOPED_TRACE(kernel == Conv1dCustomKernel::kSm90 ? "fused sm90" : "portable + epilogue pass");
    DeviceBuffer<T> x_d(x), w_d(w), b_d(b), y_d(y_ref.size());
    DeviceBuffer<float> sum_d(std::vector<float>(s.out_channels, 0.f)),
        sq_d(std::vector<float>(s.out_channels, 0.f));
    Conv1dEpilogue got = epi;
    got.bn_sum = sum_d.get();
    got.bn_sumsq = sq_d.get();
    cuda::conv1d_forward_fused<T>(test_context(), s, x_d.get(), w_d.get(), b_d.get(), y_d.get(),
                                  got, {precision, Conv1dGpuAlgo::kCustom, kernel});
    EXPECT_TRUE(all_close(y_d.download(), y_ref, tol, tol * abs_max(y_ref))) << "output";
    EXPECT_TRUE(all_close(sum_d.download(), sum_ref, tol, tol * abs_max(sum_ref))) << "bn sum";
    EXPECT_TRUE(all_close(sq_d.download(), sq_ref, tol, tol * abs_max(sq_ref))) << "bn sumsq";
  }
}

TEST(Conv1dSm90Cuda, FusedReluPoolAndBatchNormSums) {
  REQUIRE_HOPPER();
  uint64_t seed = 5000;
  for (const Conv1dShape& s : mid_layers()) {
    check_fused<BFloat16>(s, Conv1dPrecision::kBf16, {true, 4}, seed += 10);
    check_fused<float>(s, Conv1dPrecision::kTf32, {true, 3}, seed += 10);
  }
}

// Host-side checks: these run without a device.
TEST(Conv1dSm90CudaArgs, ForcingTheHopperKernelWhereItCannotRunIsAnError) {
  const Conv1dShape s{1, 4, 4, 16, 3};
  std::vector<float> f(64);
  try {
    cuda::conv1d_forward<float>(
        {}, s, f.data(), f.data(), nullptr, f.data(),
        {Conv1dPrecision::kFp32, Conv1dGpuAlgo::kCustom, Conv1dCustomKernel::kSm90});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), ::testing::HasSubstr("custom kernel sm90 cannot run"));
    EXPECT_THAT(e.message(), ::testing::HasSubstr("tf32 and bf16 only"));
  }
  try {
    cuda::conv1d_forward_fused<float>({}, s, f.data(), f.data(), nullptr, f.data(), {true, 99});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), ::testing::HasSubstr("pool 99 outside 1..L_out 14"));
  }
}

}  // namespace
}  // namespace strand::kernels
