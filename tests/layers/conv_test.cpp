// Conv1d layer: PyTorch's shapes and initialisation, the one-hot path for base codes, errors.
#include "layers/conv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/tensor_support.h"

namespace strand::layers {
namespace {

TEST(Conv1dLayer, HostileConfigsAreErrors) {
  EXPECT_THAT(
      [] { Conv1d({.in_channels = 4, .out_channels = 6, .kernel_size = 5, .dilation = 0}); },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("dilation (0) must be positive")));
  Conv1d huge(
      {.in_channels = 4, .out_channels = 2, .kernel_size = 3, .dilation = int64_t{1} << 62});
  EXPECT_THAT([&] { huge.out_length(100); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("Conv1d span")));
}

TEST(Conv1dLayer, ShapesInitialisationAndBaseCodeInput) {
  Conv1d conv({.in_channels = 4, .out_channels = 6, .kernel_size = 5, .padding = 2});
  EXPECT_EQ(conv.weight().shape(), (runtime::Shape{6, 4, 5}));
  const double bound = 1 / std::sqrt(20.0);
  for (float w : conv.weight().to_vector<float>()) EXPECT_LE(std::abs(w), bound + 1e-6);
  const Tensor codes = runtime::from_vector<uint8_t>({0, 1, 2, 3, 4, 3, 2, 1, 0, 0}, {1, 10});
  std::vector<float> hot(40, 0.0f);
  const std::vector<int> c = {0, 1, 2, 3, 4, 3, 2, 1, 0, 0};
  for (int i = 0; i < 10; ++i) {
    for (int ch = 0; ch < 4; ++ch)
      hot[ch * 10 + i] = c[i] == 4 ? 0.25f : (c[i] == ch ? 1.0f : 0.0f);
  }
  const Tensor dense = runtime::from_vector<float>(hot, {1, 4, 10});
  EXPECT_TRUE(strand::testing::tensors_close(conv(codes), conv(dense), 1e-5, 1e-5));
  EXPECT_EQ(conv.out_length(10), 10);
  EXPECT_THAT([] { Conv1d({.in_channels = 6, .out_channels = 4, .kernel_size = 3, .groups = 4}); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("must divide into 4 groups")));
  Conv1d wide({.in_channels = 8, .out_channels = 4, .kernel_size = 3});
  EXPECT_THAT(
      [&] { wide(codes); },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("base-code input needs in_channels 4")));
}

}  // namespace
}  // namespace strand::layers
