// conv1d's safety-net tolerances (conv1d_safety_net.h): looser where the operands are rounded.
#include "kernels/conv1d/conv1d_safety_net.h"

#include <gtest/gtest.h>

namespace strand::kernels {
namespace {

TEST(Conv1dSafetyNet, TolerancesGrowWithOperandRounding) {
  EXPECT_DOUBLE_EQ(safety_tolerance(Conv1dPrecision::kFp32), 1e-4);
  EXPECT_LT(safety_tolerance(Conv1dPrecision::kFp32), safety_tolerance(Conv1dPrecision::kTf32));
  EXPECT_LT(safety_tolerance(Conv1dPrecision::kTf32), safety_tolerance(Conv1dPrecision::kBf16));
}

}  // namespace
}  // namespace strand::kernels
