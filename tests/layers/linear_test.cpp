// Linear: PyTorch's initialisation bounds, forward equals the op, seeds fix the weights.
#include "layers/linear.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/ops.h"
#include "runtime/rng.h"
#include "tests/support/tensor_support.h"

namespace strand::layers {
namespace {

TEST(Linear, InitialisesWithinFanInBoundsAndIsSeeded) {
  runtime::manual_seed(3);
  Linear a(100, 7);
  runtime::manual_seed(3);
  Linear b(100, 7);
  EXPECT_EQ(a.weight().to_vector<float>(), b.weight().to_vector<float>());
  for (float w : a.weight().to_vector<float>()) EXPECT_LE(std::abs(w), 0.1f);
  EXPECT_EQ(a.bias().shape(), (runtime::Shape{7}));
  const Tensor x = runtime::randn({2, 100}, 1);
  EXPECT_TRUE(strand::testing::tensors_close(a(x), runtime::linear(x, a.weight(), a.bias())));
  EXPECT_FALSE(Linear(3, 2, false).bias().defined());
  EXPECT_THAT([] { Linear(0, 2); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("must be positive")));
}

}  // namespace
}  // namespace strand::layers
