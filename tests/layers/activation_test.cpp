// Activation layers wrap the ops; unknown names are rejected with the valid ones listed.
#include "layers/activation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::layers {
namespace {

TEST(ActivationLayers, WrapTheOps) {
  const Tensor x = runtime::from_vector<float>({-1, 0, 2}, {3});
  EXPECT_TRUE(strand::testing::tensors_close(Activation("ReLU")(x), runtime::relu(x)));
  EXPECT_TRUE(strand::testing::tensors_close(Activation("Sigmoid")(x), runtime::sigmoid(x)));
  EXPECT_TRUE(strand::testing::tensors_close(Activation("Tanh")(x), runtime::tanh(x)));
  EXPECT_TRUE(strand::testing::tensors_close(Activation("GELU")(x), runtime::gelu(x)));
  EXPECT_TRUE(strand::testing::tensors_close(Activation("Softplus")(x), runtime::softplus(x)));
  EXPECT_THAT([] { Activation("Swish"); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("unknown activation 'Swish'")));
}

}  // namespace
}  // namespace strand::layers
