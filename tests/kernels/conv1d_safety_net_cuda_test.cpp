// The conv1d safety net on a device: the custom kernel agrees with cuDNN on the small check input
// for each pass and precision, so `auto` keeps it and warns nothing; the verdict is remembered.
#include <gtest/gtest.h>

#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_safety_net.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using strand::testing::test_context;

TEST(Conv1dSafetyNetCuda, CustomKernelPassesItsCheckAgainstCudnn) {
  STRAND_REQUIRE_CUDA_DEVICE();
  safety_net().clear();
  const Conv1dShape shapes[] = {with_same_padding({3, 32, 48, 200, 8}),
                                with_same_padding({2, 16, 24, 77, 3, 1, 0, 0, 4}),
                                // the dilated 288 -> 288 layer, a shape the Hopper kernel takes
                                with_same_padding({2, 288, 288, 128, 3, 1, 0, 0, 4})};
  for (const Conv1dShape& s : shapes) {
    for (Conv1dPass pass :
         {Conv1dPass::kForward, Conv1dPass::kBackwardData, Conv1dPass::kBackwardWeight}) {
      for (Conv1dPrecision p :
           {Conv1dPrecision::kFp32, Conv1dPrecision::kTf32, Conv1dPrecision::kBf16}) {
        // The portable implicit GEMM everywhere, and what `custom` runs by default (the Hopper
        // kernel on compute capability 9.0 where the shape suits it).
        for (Conv1dCustomKernel k : {Conv1dCustomKernel::kPortable, Conv1dCustomKernel::kBest}) {
          const std::string name = k == Conv1dCustomKernel::kPortable ? "portable" : "best";
          EXPECT_TRUE(cuda::conv1d_safety_net_keeps_custom(test_context(), name, pass, s,
                                                           {p, Conv1dGpuAlgo::kAuto, k}))
              << name << " " << s.to_string() << " " << to_string(pass) << " " << to_string(p);
        }
      }
    }
  }
  EXPECT_FALSE(safety_net().kernel_disabled("portable"));
  EXPECT_FALSE(safety_net().kernel_disabled("best"));
}

}  // namespace
}  // namespace strand::kernels
