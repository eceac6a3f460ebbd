// The host-side choice of a CUDA conv1d algorithm (conv1d_gpu_plan.cpp), checked without a GPU:
// forced algorithms that cannot run fail with a clear message, `auto` falls back to whichever
// algorithm can run, and a shape cuDNN refuses only when it runs (a "not supported" status or no
// algorithm) leaves `auto` on the custom kernel instead of failing the call.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_cuda_impl.h"

namespace strand::kernels::cuda {
namespace {

using detail::conv1d_gpu_pick_timed;
using detail::conv1d_gpu_plan;
using detail::cudnn_status_means_unsupported;
using ::testing::HasSubstr;

std::string error_of(Conv1dGpuAlgo asked, const char* custom_no, const std::string& cudnn_no) {
  try {
    conv1d_gpu_plan(Conv1dPass::kForward, {2, 8, 8, 32, 3}, asked, custom_no, cudnn_no);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Conv1dGpuPlan, AutoTimesOnlyWhenBothCanRun) {
  const Conv1dShape s{2, 8, 8, 32, 3};
  EXPECT_EQ(conv1d_gpu_plan(Conv1dPass::kForward, s, Conv1dGpuAlgo::kAuto, nullptr, ""),
            Conv1dGpuAlgo::kAuto);
  EXPECT_EQ(conv1d_gpu_plan(Conv1dPass::kBackwardData, s, Conv1dGpuAlgo::kAuto, nullptr,
                            "cuDNN has only symmetric padding"),
            Conv1dGpuAlgo::kCustom);
  EXPECT_EQ(
      conv1d_gpu_plan(Conv1dPass::kBackwardWeight, s, Conv1dGpuAlgo::kAuto, "grid too large", ""),
      Conv1dGpuAlgo::kCudnn);
}

TEST(Conv1dGpuPlan, ForcedAlgorithmsThatCannotRunFailClearly) {
  EXPECT_THAT(error_of(Conv1dGpuAlgo::kCudnn, nullptr, "cuDNN has only symmetric padding"),
              HasSubstr("conv1d forward: cuDNN cannot run"));
  EXPECT_THAT(error_of(Conv1dGpuAlgo::kCudnn, nullptr, "x"), HasSubstr("use algo custom or auto"));
  EXPECT_THAT(error_of(Conv1dGpuAlgo::kCustom, "grid too large", ""),
              HasSubstr("custom kernel cannot run"));
  EXPECT_THAT(error_of(Conv1dGpuAlgo::kAuto, "grid too large", "asymmetric"),
              HasSubstr("neither algorithm can run"));
  EXPECT_EQ(error_of(Conv1dGpuAlgo::kCustom, nullptr, "asymmetric"), "");
  EXPECT_EQ(error_of(Conv1dGpuAlgo::kCudnn, "grid too large", ""), "");
}

TEST(Conv1dGpuPlan, AutoKeepsTheCustomKernelWhenCudnnRefusesAtRunTime) {
  EXPECT_EQ(conv1d_gpu_pick_timed(2.f, -1.f), Conv1dGpuAlgo::kCustom);  // cuDNN refused
  EXPECT_EQ(conv1d_gpu_pick_timed(2.f, 1.f), Conv1dGpuAlgo::kCudnn);
  EXPECT_EQ(conv1d_gpu_pick_timed(1.f, 2.f), Conv1dGpuAlgo::kCustom);
  EXPECT_EQ(conv1d_gpu_pick_timed(1.f, 1.f), Conv1dGpuAlgo::kCustom);  // ties keep custom
}

TEST(Conv1dGpuPlan, OnlyProblemStatusesCountAsUnsupported) {
  // cuDNN 9's numbering: 3000 NOT_SUPPORTED, 3001-3004 graph pattern, shape, data type, layout.
  for (int st : {3000, 3001, 3002, 3003, 3004}) EXPECT_TRUE(cudnn_status_means_unsupported(st));
  // Success, bad parameters, and broken installations (driver, runtime, sub-library, arch).
  for (int st : {0, 2000, 2002, 3005, 3006, 3007, 3008, 3009, 4000, 5000})
    EXPECT_FALSE(cudnn_status_means_unsupported(st)) << st;
}

TEST(Conv1dGpuPlan, CudnnShapeCheckNeedsNoDevice) {
  std::string why;
  EXPECT_FALSE(conv1d_cudnn_supports({1, 4, 4, 16, 4, 1, 1, 2}, &why));
  EXPECT_THAT(why, HasSubstr("symmetric padding (got left 1, right 2)"));
  EXPECT_TRUE(conv1d_cudnn_supports({1, 4, 4, 16, 4, 1, 2, 2}));
  EXPECT_THROW(conv1d_cudnn_supports({0, 4, 4, 16, 4}), Error);  // shapes are validated first
}

}  // namespace
}  // namespace strand::kernels::cuda
