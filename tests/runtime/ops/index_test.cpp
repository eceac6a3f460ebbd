// cat, stack, index_select and gather: values, gradchecks, out-of-range indices.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/gradcheck.h"
#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

using strand::testing::f64_param;
using strand::testing::tensor_close;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

Tensor idx(std::vector<int64_t> v, Shape shape) { return from_vector<int64_t>(v, shape); }

TEST(Indexing, CatAndStack) {
  const Tensor a = arange(0, 4).reshape({2, 2}), b = arange(10, 12).reshape({2, 1});
  EXPECT_TRUE(tensor_close(cat({a, b}, 1), {0, 1, 10, 2, 3, 11}));
  EXPECT_TRUE(tensor_close(cat({a, a}, 0), {0, 1, 2, 3, 0, 1, 2, 3}));
  EXPECT_EQ(stack({a, a, a}, 1).shape(), (Shape{2, 3, 2}));
  EXPECT_THAT([&] { cat({a, b}, 0); }, ThrowsMessage<Error>(HasSubstr("differs from tensor 0's")));
}

TEST(Indexing, IndexSelectAndGather) {
  const Tensor x = arange(0, 6).reshape({2, 3});
  EXPECT_TRUE(tensor_close(index_select(x, 1, idx({2, 0, 2}, {3})), {2, 0, 2, 5, 3, 5}));
  EXPECT_TRUE(tensor_close(index_select(x, 0, idx({1}, {1})), {3, 4, 5}));
  EXPECT_TRUE(tensor_close(gather(x, 1, idx({1, 2, 0, 0}, {2, 2})), {1, 2, 3, 3}));
}

TEST(Indexing, OutOfRangeIndicesAreRejected) {
  const Tensor x = zeros({2, 3});
  EXPECT_THAT(
      [&] {
        index_select(x, 1, idx({0, 3}, {2}));
      },
      ThrowsMessage<Error>(HasSubstr("index 3 at position 1 is out of range [0, 3)")));
  EXPECT_THAT(
      [&] {
        gather(x, 1, idx({0, -1}, {2, 1}));
      },
      ThrowsMessage<Error>(HasSubstr("index -1 at position 1 is out of range")));
  EXPECT_THAT([&] { index_select(x, 0, zeros({1})); },
              ThrowsMessage<Error>(HasSubstr("index must have dtype i64")));
}

TEST(Indexing, Gradients) {
  const Tensor a = f64_param({2, 3}, 1), b = f64_param({2, 2}, 2);
  EXPECT_TRUE(gradcheck([](const auto& in) { return cat({in[0], in[1]}, 1); }, {a, b}).ok);
  EXPECT_TRUE(gradcheck([](const auto& in) { return stack({in[0], in[0] * 2.0}, 0); }, {a}).ok);
  const Tensor index = idx({2, 0, 2, 1}, {4});  // repeated entries accumulate
  EXPECT_TRUE(gradcheck([&](const auto& in) { return index_select(in[0], 1, index); }, {a}).ok);
  const Tensor g = idx({1, 1, 0, 2}, {2, 2});
  EXPECT_TRUE(gradcheck([&](const auto& in) { return gather(in[0], 1, g); }, {a}).ok);
  // Views' backward paths.
  EXPECT_TRUE(
      gradcheck(
          [](const auto& in) {
            return in[0].slice(1, 0, 3, 2).permute({1, 0}).reshape({4}).unsqueeze(0).expand({3, 4});
          },
          {a})
          .ok);
}

}  // namespace
}  // namespace strand::runtime
