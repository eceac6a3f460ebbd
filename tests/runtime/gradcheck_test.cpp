// gradcheck itself: it passes a correct gradient and catches a wrong one.
#include "runtime/gradcheck.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/autograd.h"
#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

// x^2 with a deliberately wrong backward (3x instead of 2x).
Tensor wrong_square(const Tensor& x) {
  Tensor y = mul(x.detach(), x.detach());
  auto node = record_node("wrong_square", {&x}, 1, [](Node& n, const Grads& g) -> Grads {
    return {g[0] * n.saved("x") * 3.0};
  });
  if (node) node->save("x", x);
  set_outputs(node, {&y});
  return y;
}

TEST(Gradcheck, AcceptsCorrectAndReportsWrongGradients) {
  const Tensor x = strand::testing::f64_param({4}, 3);
  EXPECT_TRUE(gradcheck([](const auto& in) { return in[0] * in[0]; }, {x}).ok);
  const GradcheckResult bad = gradcheck([](const auto& in) { return wrong_square(in[0]); }, {x});
  EXPECT_FALSE(bad.ok);
  EXPECT_THAT(bad.report, ::testing::HasSubstr("input 0 element 0"));
}

TEST(Gradcheck, RequiresFloat64CpuInputs) {
  const Tensor x = ones({2}).set_requires_grad(true);
  EXPECT_THAT(
      [&] { gradcheck([](const auto& in) { return in[0]; }, {x}); },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("must be a contiguous f64 CPU")));
}

}  // namespace
}  // namespace strand::runtime
