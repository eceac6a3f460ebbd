// Pooling layers: default stride equals the kernel; values as the ops give them.
#include "layers/pool.h"

#include <gtest/gtest.h>

#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::layers {
namespace {

TEST(PoolLayers, DefaultsAndValues) {
  const Tensor x = runtime::from_vector<float>({1, 3, 2, 5, 4, 0}, {1, 1, 6});
  EXPECT_TRUE(strand::testing::tensor_close((*MaxPool1d(3))(x), {3, 5}));
  EXPECT_TRUE(strand::testing::tensor_close((*AvgPool1d(2, 1))(x), {2, 2.5, 3.5, 4.5, 2}));
  EXPECT_THROW(MaxPool1d(0), Error);
}

}  // namespace
}  // namespace strand::layers
