// conv1d and conv1d_bases as autograd ops: values, float64 gradchecks, one-hot equivalence, errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/gradcheck.h"
#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

using strand::testing::f64_param;
using strand::testing::tensor_close;
using strand::testing::tensors_close;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(Conv1dOp, HandComputedValues) {
  const Tensor x = from_vector<float>({1, 2, 3, 4}, {1, 1, 4});
  const Tensor w = from_vector<float>({1, -1}, {1, 1, 2});
  EXPECT_TRUE(tensor_close(conv1d(x, w, Tensor()), {-1, -1, -1}));
  EXPECT_TRUE(
      tensor_close(conv1d(x, w, from_vector<float>({10}, {1}), {.pad_left = 1, .pad_right = 1}),
                   {9, 9, 9, 9, 14}));
  EXPECT_TRUE(tensor_close(conv1d(x, w, Tensor(), {.stride = 2}), {-1, -1}));
  EXPECT_EQ(conv1d(zeros({2, 4, 100}), zeros({8, 4, 5}), Tensor(), {.same_padding = true}).shape(),
            (Shape{2, 8, 100}));
}

TEST(Conv1dOp, GradientsInFloat64) {
  struct Case {
    Shape x, w;
    Conv1dOptions o;
  };
  for (const Case& c : std::vector<Case>{
           {{2, 3, 11}, {4, 3, 3}, {}},
           {{1, 4, 13}, {6, 2, 4}, {.stride = 2, .pad_left = 2, .pad_right = 1, .groups = 2}},
           {{2, 2, 17}, {3, 2, 3}, {.dilation = 3, .same_padding = true}},
           {{2, 4, 9}, {4, 1, 3}, {.pad_left = 1, .pad_right = 1, .groups = 4}},  // depthwise
       }) {
    const Tensor x = f64_param(c.x, 1), w = f64_param(c.w, 2), b = f64_param({c.w[0]}, 3);
    const auto result =
        gradcheck([&](const auto& in) { return conv1d(in[0], in[1], in[2], c.o); }, {x, w, b});
    EXPECT_TRUE(result.ok) << result.report;
  }
}

TEST(Conv1dOp, BaseCodesEqualTheDenseConvolutionOfOneHot) {
  const std::vector<uint8_t> codes = {0, 1, 2, 3, 4, 2, 2, 0, 1, 3, 3, 4, 0, 0, 1, 2};
  const Tensor bases = from_vector<uint8_t>(codes, {2, 8});
  std::vector<double> hot(2 * 4 * 8, 0.0);
  for (int n = 0; n < 2; ++n) {
    for (int i = 0; i < 8; ++i) {
      const uint8_t c = codes[n * 8 + i];
      for (int ch = 0; ch < 4; ++ch)
        hot[(n * 4 + ch) * 8 + i] = c == 4 ? 0.25 : (c == ch ? 1.0 : 0.0);
    }
  }
  const Tensor dense = from_vector<double>(hot, {2, 4, 8}, {.dtype = DType::kF64});
  const Tensor w = f64_param({5, 4, 3}, 4), b = f64_param({5}, 5);
  const Conv1dOptions o{.pad_left = 1, .pad_right = 1};
  EXPECT_TRUE(tensors_close(conv1d_bases(bases, w, b, o), conv1d(dense, w, b, o), 1e-12, 1e-12));
  const auto result =
      gradcheck([&](const auto& in) { return conv1d_bases(bases, in[0], in[1], o); }, {w, b});
  EXPECT_TRUE(result.ok) << result.report;
}

TEST(Conv1dOp, BadInputsAreRejected) {
  EXPECT_THAT(
      [] {
        conv1d(zeros({1, 3, 10}), zeros({4, 2, 3}), Tensor());
      },
      ThrowsMessage<Error>(HasSubstr("weight has 2 input channels per group, the input gives 3")));
  EXPECT_THAT(
      [] {
        conv1d(zeros({1, 3, 10}), zeros({4, 1, 3}), Tensor(), {.groups = 2});
      },
      ThrowsMessage<Error>(HasSubstr("3 input channels are not divisible into 2 groups")));
  EXPECT_THROW(conv1d(zeros({1, 1, 4}), zeros({1, 1, 9}), Tensor()), Error);  // kernel too long
  EXPECT_THAT(
      [] {
        conv1d(zeros({1, 1, 4}).to(DType::kBF16), zeros({1, 1, 2}).to(DType::kBF16), Tensor());
      },
      ThrowsMessage<Error>(HasSubstr("on the CPU needs f32 or f64")));
  EXPECT_THAT(
      [] {
        conv1d_bases(zeros({1, 8}), zeros({2, 4, 3}), Tensor());
      },
      ThrowsMessage<Error>(HasSubstr("bases must have dtype u8")));
}

}  // namespace
}  // namespace strand::runtime
