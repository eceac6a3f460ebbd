// CUDA conv1d: the custom implicit GEMM, cuDNN and `auto` against the float64 CPU reference over
// the shape sweep in fp32/tf32/bf16, the one-hot kernels against the CPU one-hot path, and the
// host-side argument errors (those run without a device).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_onehot.h"
#include "tests/kernels/conv1d_test_shapes.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using strand::testing::abs_max;
using strand::testing::all_close;
using strand::testing::DeviceBuffer;
using strand::testing::random_bases;
using strand::testing::random_vector;
using strand::testing::test_context;
using ::testing::HasSubstr;

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.message();
  }
  return "no error";
}

// Argument checks happen on the host before any CUDA call, so these run without a device.
TEST(Conv1dCudaArgs, PrecisionMustMatchTheTensorType) {
  const Conv1dShape s{1, 4, 4, 16, 3};
  std::vector<float> f(64);
  std::vector<BFloat16> h(64);
  EXPECT_THAT(error_of([&] {
                cuda::conv1d_forward<float>({}, s, f.data(), f.data(), nullptr, f.data(),
                                            {Conv1dPrecision::kBf16, Conv1dGpuAlgo::kCustom});
              }),
              HasSubstr("precision bf16 needs BFloat16 tensors"));
  EXPECT_THAT(error_of([&] {
                cuda::conv1d_backward_data<BFloat16>(
                    {}, s, h.data(), h.data(), h.data(),
                    {Conv1dPrecision::kTf32, Conv1dGpuAlgo::kCustom});
              }),
              HasSubstr("BFloat16 tensors run in precision bf16, but tf32"));
}

TEST(Conv1dCudaArgs, CudnnRefusesAsymmetricPaddingClearly) {
  const Conv1dShape s{1, 4, 4, 16, 4, 1, 1, 2};
  std::string why;
  EXPECT_FALSE(cuda::conv1d_cudnn_supports(s, &why));
  EXPECT_THAT(why, HasSubstr("symmetric padding (got left 1, right 2)"));
  EXPECT_TRUE(cuda::conv1d_cudnn_supports(with_same_padding({1, 4, 4, 16, 3})));
  std::vector<float> f(64);
  EXPECT_THAT(error_of([&] {
                cuda::conv1d_forward<float>({}, s, f.data(), f.data(), nullptr, f.data(),
                                            {Conv1dPrecision::kFp32, Conv1dGpuAlgo::kCudnn});
              }),
              HasSubstr("cuDNN cannot run"));
}

TEST(Conv1dCudaArgs, BadShapesAndNullPointers) {
  std::vector<float> f(64);
  EXPECT_THAT(error_of([&] {
                cuda::conv1d_forward<float>({}, {1, 6, 4, 16, 3, 1, 0, 0, 1, 4}, f.data(), f.data(),
                                            nullptr, f.data());
              }),
              HasSubstr("in_channels 6 is not divisible by groups 4"));
  EXPECT_THAT(
      error_of([&] {
        cuda::conv1d_backward_weight<float>({}, {1, 4, 4, 16, 3}, f.data(), nullptr, f.data());
      }),
      HasSubstr("conv1d_backward_weight: dy is null"));
  std::vector<uint8_t> bases(64);
  EXPECT_THAT(error_of([&] {
                cuda::conv1d_onehot_forward<float>({}, {1, 5, 4, 16, 3}, BaseEncoding::kCodes,
                                                   bases.data(), f.data(), nullptr, f.data());
              }),
              HasSubstr("4 channels, shape has 5"));
}

std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }
std::vector<double> widen(const std::vector<BFloat16>& v) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i]);
  return out;
}

// Every pass of one algorithm and precision against the float64 reference, every element.
template <typename T>
void check_against_reference(const Conv1dShape& s, Conv1dPrecision precision, Conv1dGpuAlgo algo,
                             uint64_t seed) {
  SCOPED_TRACE(s.to_string() + " " + to_string(precision) + " " + to_string(algo));
  const Conv1dGpuOptions opt{precision, algo};
  const double tol = strand::testing::conv1d_gpu_tolerance(precision);
  const auto x = random_vector<T>(s.x_numel(), seed + 1);
  const auto w = random_vector<T>(s.w_numel(), seed + 2);
  const auto b = random_vector<T>(s.out_channels, seed + 3);
  const auto dy = random_vector<T>(s.y_numel(), seed + 4);
  const auto dw0 = random_vector<T>(s.w_numel(), seed + 5);
  const auto db0 = random_vector<T>(s.out_channels, seed + 6);
  const auto xd = widen(x), wd = widen(w), bd = widen(b), dyd = widen(dy);

  std::vector<double> y_ref(s.y_numel()), dx_ref(s.x_numel()), dw_ref = widen(dw0),
                                                               db_ref = widen(db0);
  cpu::conv1d_forward<double>({}, s, xd.data(), wd.data(), bd.data(), y_ref.data(),
                              Conv1dCpuAlgo::kReference);
  cpu::conv1d_backward_data<double>({}, s, dyd.data(), wd.data(), dx_ref.data(),
                                    Conv1dCpuAlgo::kReference);
  cpu::conv1d_backward_weight<double>({}, s, xd.data(), dyd.data(), dw_ref.data(), true,
                                      Conv1dCpuAlgo::kReference);
  cpu::conv1d_backward_bias<double>({}, s, dyd.data(), db_ref.data(), true);

  DeviceBuffer<T> x_d(x), w_d(w), b_d(b), dy_d(dy), y_d(s.y_numel()), dx_d(s.x_numel()), dw_d(dw0),
      db_d(db0);
  cuda::conv1d_forward<T>(test_context(), s, x_d.get(), w_d.get(), b_d.get(), y_d.get(), opt);
  cuda::conv1d_backward_data<T>(test_context(), s, dy_d.get(), w_d.get(), dx_d.get(), opt);
  cuda::conv1d_backward_weight<T>(test_context(), s, x_d.get(), dy_d.get(), dw_d.get(), true, opt);
  cuda::conv1d_backward_bias<T>(test_context(), s, dy_d.get(), db_d.get(), true);
  EXPECT_TRUE(all_close(y_d.download(), y_ref, tol, tol * abs_max(y_ref))) << "forward";
  EXPECT_TRUE(all_close(dx_d.download(), dx_ref, tol, tol * abs_max(dx_ref))) << "backward_data";
  EXPECT_TRUE(all_close(dw_d.download(), dw_ref, tol, tol * abs_max(dw_ref))) << "backward_weight";
  EXPECT_TRUE(all_close(db_d.download(), db_ref, tol, tol * abs_max(db_ref))) << "backward_bias";

  // Without accumulation the weight gradient overwrites poisoned memory; no bias also works.
  DeviceBuffer<T> dw_fresh(s.w_numel());
  cuda::conv1d_backward_weight<T>(test_context(), s, x_d.get(), dy_d.get(), dw_fresh.get(), false,
                                  opt);
  std::vector<double> dw_only(s.w_numel());
  cpu::conv1d_backward_weight<double>({}, s, xd.data(), dyd.data(), dw_only.data(), false,
                                      Conv1dCpuAlgo::kReference);
  EXPECT_TRUE(all_close(dw_fresh.download(), dw_only, tol, tol * abs_max(dw_only))) << "dw fresh";
  y_d.poison();
  cuda::conv1d_forward<T>(test_context(), s, x_d.get(), w_d.get(), nullptr, y_d.get(), opt);
  cpu::conv1d_forward<double>({}, s, xd.data(), wd.data(), nullptr, y_ref.data(),
                              Conv1dCpuAlgo::kReference);
  EXPECT_TRUE(all_close(y_d.download(), y_ref, tol, tol * abs_max(y_ref))) << "forward, no bias";
}

std::vector<Conv1dShape> gpu_shapes() {
  auto shapes = strand::testing::conv1d_sweep_shapes();
  shapes.push_back({128, 32, 48, 120, 9, 1, 4, 4, 1, 1});  // large N
  shapes.push_back({8, 288, 288, 64, 3, 1, 4, 4, 4, 1});   // Basenji-like dilated, >1 tile in M
  return shapes;
}

constexpr Conv1dGpuAlgo kGpuAlgos[] = {Conv1dGpuAlgo::kCustom, Conv1dGpuAlgo::kCudnn,
                                       Conv1dGpuAlgo::kAuto};

TEST(Conv1dCuda, Fp32AndTf32MatchTheReference) {
  STRAND_REQUIRE_CUDA_DEVICE();
  uint64_t seed = 1000;
  for (const Conv1dShape& s : gpu_shapes()) {
    for (Conv1dPrecision p : {Conv1dPrecision::kFp32, Conv1dPrecision::kTf32}) {
      for (Conv1dGpuAlgo a : kGpuAlgos) {
        if (a == Conv1dGpuAlgo::kCudnn && !cuda::conv1d_cudnn_supports(s)) continue;
        check_against_reference<float>(s, p, a, seed += 10);
      }
    }
  }
}

TEST(Conv1dCuda, Bf16MatchesTheReference) {
  STRAND_REQUIRE_CUDA_DEVICE();
  uint64_t seed = 2000;
  for (const Conv1dShape& s : gpu_shapes()) {
    for (Conv1dGpuAlgo a : kGpuAlgos) {
      if (a == Conv1dGpuAlgo::kCudnn && !cuda::conv1d_cudnn_supports(s)) continue;
      check_against_reference<BFloat16>(s, Conv1dPrecision::kBf16, a, seed += 10);
    }
  }
}

TEST(Conv1dCuda, AutoCachesItsChoicePerShape) {
  STRAND_REQUIRE_CUDA_DEVICE();
  cuda::conv1d_clear_auto_cache();
  const Conv1dShape s{4, 16, 24, 100, 5, 1, 2, 2};
  EXPECT_EQ(cuda::conv1d_auto_choice({}, Conv1dPass::kForward, s, Conv1dPrecision::kTf32),
            Conv1dGpuAlgo::kAuto);
  check_against_reference<float>(s, Conv1dPrecision::kTf32, Conv1dGpuAlgo::kAuto, 77);
  for (Conv1dPass pass :
       {Conv1dPass::kForward, Conv1dPass::kBackwardData, Conv1dPass::kBackwardWeight}) {
    EXPECT_NE(cuda::conv1d_auto_choice({}, pass, s, Conv1dPrecision::kTf32), Conv1dGpuAlgo::kAuto)
        << to_string(pass);
  }
  cuda::conv1d_clear_auto_cache();
  EXPECT_EQ(cuda::conv1d_auto_choice({}, Conv1dPass::kForward, s, Conv1dPrecision::kTf32),
            Conv1dGpuAlgo::kAuto);
}

template <typename T>
void check_onehot(const Conv1dShape& s, bool packed, uint64_t seed) {
  SCOPED_TRACE(s.to_string() + (packed ? " packed" : " codes") +
               (sizeof(T) == 2 ? " bf16" : " f32"));
  const double tol = sizeof(T) == 2 ? 1e-2 : 1e-5;
  const auto codes = random_bases(s.batch * s.in_length, seed, !packed);
  std::vector<uint8_t> bases = codes;
  if (packed) {
    bases.assign(onehot_input_bytes(s, BaseEncoding::kPacked2), 0);
    cpu::pack_bases_2bit(codes.data(), s.batch, s.in_length, bases.data());
  }
  const BaseEncoding enc = packed ? BaseEncoding::kPacked2 : BaseEncoding::kCodes;
  const auto w = random_vector<T>(s.w_numel(), seed + 1);
  const auto b = random_vector<T>(s.out_channels, seed + 2);
  const auto dy = random_vector<T>(s.y_numel(), seed + 3);
  const auto dw0 = random_vector<T>(s.w_numel(), seed + 4);
  const auto wd = widen(w), bd = widen(b), dyd = widen(dy);
  std::vector<double> x(s.x_numel()), y_ref(s.y_numel()), dw_ref = widen(dw0);
  cpu::bases_to_onehot<double>(s, BaseEncoding::kCodes, codes.data(), x.data());
  cpu::conv1d_forward<double>({}, s, x.data(), wd.data(), bd.data(), y_ref.data(),
                              Conv1dCpuAlgo::kReference);
  cpu::conv1d_backward_weight<double>({}, s, x.data(), dyd.data(), dw_ref.data(), true,
                                      Conv1dCpuAlgo::kReference);

  DeviceBuffer<uint8_t> bases_d(bases);
  DeviceBuffer<T> w_d(w), b_d(b), dy_d(dy), y_d(s.y_numel()), dw_d(dw0);
  cuda::conv1d_onehot_forward<T>(test_context(), s, enc, bases_d.get(), w_d.get(), b_d.get(),
                                 y_d.get());
  cuda::conv1d_onehot_backward_weight<T>(test_context(), s, enc, bases_d.get(), dy_d.get(),
                                         dw_d.get(), true);
  EXPECT_TRUE(all_close(y_d.download(), y_ref, tol, tol * abs_max(y_ref))) << "forward";
  EXPECT_TRUE(all_close(dw_d.download(), dw_ref, tol, tol * abs_max(dw_ref))) << "backward_weight";
}

TEST(Conv1dCuda, OnehotEqualsDenseConvOfTheOnehotMatrix) {
  STRAND_REQUIRE_CUDA_DEVICE();
  uint64_t seed = 3000;
  auto shapes = strand::testing::conv1d_onehot_sweep_shapes();
  shapes.push_back({16, 4, 320, 1000, 8, 1, 0, 0, 1, 1});  // DeepSEA layer 1
  shapes.push_back(
      {3, 4, 16, 300, 7, 100, 3, 3, 50, 1});  // huge stride and dilation: a wide window
  for (const Conv1dShape& s : shapes) {
    for (bool packed : {false, true}) {
      check_onehot<float>(s, packed, seed += 10);
      check_onehot<BFloat16>(s, packed, seed += 10);
    }
  }
}

}  // namespace
}  // namespace strand::kernels
