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
  conv1d_safety_net().clear();
  const Conv1dShape shapes[] = {with_same_padding({3, 32, 48, 200, 8}),
                                with_same_padding({2, 16, 24, 77, 3, 1, 0, 0, 4})};
  for (const Conv1dShape& s : shapes) {
    for (Conv1dPass pass :
         {Conv1dPass::kForward, Conv1dPass::kBackwardData, Conv1dPass::kBackwardWeight}) {
      for (Conv1dPrecision p :
           {Conv1dPrecision::kFp32, Conv1dPrecision::kTf32, Conv1dPrecision::kBf16}) {
        EXPECT_TRUE(cuda::conv1d_safety_net_keeps_custom(test_context(), pass, s, p))
            << s.to_string() << " " << to_string(pass) << " " << to_string(p);
      }
    }
  }
  EXPECT_FALSE(conv1d_safety_net().kernel_disabled("conv1d custom kernel"));
}

}  // namespace
}  // namespace strand::kernels
