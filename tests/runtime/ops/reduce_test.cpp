// Reductions and softmax: values, gradchecks, and errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/gradcheck.h"
#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

using strand::testing::f64_param;
using strand::testing::tensor_close;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(Reduce, SumMeanOverDimensions) {
  const Tensor t = arange(0, 24).reshape({2, 3, 4});
  EXPECT_TRUE(tensor_close(sum(t), {276}));
  EXPECT_TRUE(tensor_close(sum(t, {0, 2}), {60, 92, 124}));
  EXPECT_EQ(sum(t, {1}, true).shape(), (Shape{2, 1, 4}));
  EXPECT_TRUE(tensor_close(sum(t, {-1}).select(0, 0), {6, 22, 38}));
  EXPECT_TRUE(tensor_close(mean(t, {1}).select(0, 1), {16, 17, 18, 19}));
  EXPECT_TRUE(
      tensor_close(sum(t.transpose(0, 2), {0}), sum(t, {2}).transpose(0, 1).to_vector<double>()));
}

TEST(Reduce, MaxReturnsValuesAndFirstIndex) {
  const Tensor t = from_vector<float>({1, 5, 5, 2, 9, 0}, {2, 3});
  const MaxResult r = max(t, 1);
  EXPECT_TRUE(tensor_close(r.values, {5, 9}));
  EXPECT_EQ(r.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(argmax(t, 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_TRUE(tensor_close(max(t), {9}));
  const Tensor with_nan = from_vector<float>({1, NAN, 3}, {3});
  EXPECT_TRUE(std::isnan(max(with_nan).item()));
}

TEST(Reduce, SoftmaxRowsSumToOneAndLogSoftmaxIsStable) {
  const Tensor x = from_vector<float>({1, 2, 3, 1000, 1000, 1000}, {2, 3});
  const Tensor s = softmax(x, 1);
  EXPECT_TRUE(tensor_close(sum(s, {1}), {1, 1}, 1e-6, 1e-6));
  const double e = std::exp(1.0), z = e + e * e + e * e * e;
  EXPECT_TRUE(tensor_close(s.select(0, 0), {e / z, e * e / z, e * e * e / z}));
  EXPECT_TRUE(tensor_close(log_softmax(x, 1).select(0, 1),
                           {-std::log(3.0), -std::log(3.0), -std::log(3.0)}, 1e-5, 1e-5));
  // Along a non-last dimension.
  EXPECT_TRUE(tensor_close(sum(softmax(x, 0), {0}), {1, 1, 1}));
}

TEST(Reduce, Gradients) {
  const Tensor x = f64_param({3, 4, 2}, 11);
  for (auto fn : std::vector<std::function<Tensor(const std::vector<Tensor>&)>>{
           [](const auto& in) { return sum(in[0], {1}); },
           [](const auto& in) {
             return mean(in[0], {0, 2}, true);
           },
           [](const auto& in) { return sum(in[0]); },
           [](const auto& in) { return max(in[0], 1).values; },
           [](const auto& in) { return max(in[0]); },
           [](const auto& in) { return softmax(in[0], -1); },
           [](const auto& in) { return softmax(in[0], 1); },
           [](const auto& in) { return log_softmax(in[0], 1); },
           [](const auto& in) { return log_softmax(in[0], 2); },
       }) {
    const auto result = gradcheck(fn, {x});
    EXPECT_TRUE(result.ok) << result.report;
  }
}

TEST(Reduce, BadDimensionsAreRejected) {
  EXPECT_THAT(
      [] {
        sum(zeros({2, 3}), {2});
      },
      ThrowsMessage<Error>(HasSubstr("sum: dimension 2 is out of range")));
  EXPECT_THAT(
      [] {
        sum(zeros({2, 3}), {1, -1});
      },
      ThrowsMessage<Error>(HasSubstr("dimension repeated")));
  EXPECT_THAT([] { max(zeros({2, 0}), 1); }, ThrowsMessage<Error>(HasSubstr("is empty")));
}

}  // namespace
}  // namespace strand::runtime
