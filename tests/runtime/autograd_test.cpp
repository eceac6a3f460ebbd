// The autograd engine: backward, accumulation, graph release, no_grad, detach, hooks, grad().
#include "runtime/autograd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

using strand::testing::tensor_close;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

Tensor param(std::vector<double> values) {
  const int64_t n = static_cast<int64_t>(values.size());
  return from_vector<double>(values, {n}, {.dtype = DType::kF64}).set_requires_grad(true);
}

TEST(Autograd, BackwardThroughAChainOfOps) {
  Tensor x = param({1, 2, 3});
  Tensor y = sum(mul(x, x) * 3.0 + exp(x));  // dy/dx = 6x + e^x
  y.backward();
  EXPECT_TRUE(tensor_close(x.grad(), {6 + std::exp(1.0), 12 + std::exp(2.0), 18 + std::exp(3.0)}));
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = param({1, 2});
  sum(x * 2.0).backward();
  sum(x * 3.0).backward();
  EXPECT_TRUE(tensor_close(x.grad(), {5, 5}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, SharedSubexpressionsSumTheirGradients) {
  Tensor x = param({2});
  Tensor a = x * x;
  sum(a + a * x).backward();  // d/dx (x^2 + x^3) = 2x + 3x^2
  EXPECT_TRUE(tensor_close(x.grad(), {4 + 12}));
}

TEST(Autograd, BackwardTwiceNeedsRetainGraph) {
  Tensor x = param({1, 2});
  Tensor y = sum(exp(x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  EXPECT_TRUE(tensor_close(x.grad(), {2 * std::exp(1.0), 2 * std::exp(2.0)}));
  EXPECT_THAT([&] { y.backward(); },
              ThrowsMessage<Error>(HasSubstr("backward through the graph a second time")));
}

TEST(Autograd, NonScalarBackwardNeedsAGradient) {
  Tensor x = param({1, 2});
  Tensor y = x * 2.0;
  EXPECT_THAT([&] { y.backward(); },
              ThrowsMessage<Error>(HasSubstr("non-scalar tensor (shape [2]) needs an explicit")));
  y.backward(from_vector<double>({1, 10}, {2}));
  EXPECT_TRUE(tensor_close(x.grad(), {2, 20}));
  Tensor z = x * 2.0;
  EXPECT_THAT(
      [&] {
        z.backward(from_vector<double>({1, 2, 3}, {3}));
      },
      ThrowsMessage<Error>(HasSubstr("does not match the tensor's shape [2]")));
}

TEST(Autograd, NoGradAndDetachRecordNothing) {
  Tensor x = param({1});
  {
    NoGradGuard guard;
    Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_THAT([&] { sum(y).backward(); },
                ThrowsMessage<Error>(HasSubstr("does not require grad")));
  }
  Tensor d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.storage(), x.storage());
  EXPECT_TRUE((x * 2.0).requires_grad());
}

TEST(Autograd, OnlyLeavesChangeRequiresGrad) {
  Tensor x = param({1});
  Tensor y = x * 2.0;
  EXPECT_THAT([&] { y.set_requires_grad(false); },
              ThrowsMessage<Error>(HasSubstr("only leaf tensors can change requires_grad")));
}

// The hook contract later layers rely on: a node exposes its saved inputs, its attributes and the
// incoming gradient, and may replace gradients, without any change to the op.
TEST(Autograd, HooksSeeSavedInputsAndIncomingGradients) {
  Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}, {.dtype = DType::kF64});
  Tensor w_leaf = from_vector<double>({1, 0, -1, 2, 1, 0}, {2, 3}, {.dtype = DType::kF64})
                      .set_requires_grad(true);
  Tensor y = linear(x, w_leaf);
  ASSERT_EQ(y.grad_fn()->name(), "linear");
  Tensor seen_input, seen_grad;
  y.grad_fn()->add_pre_hook([&](Node& node, Grads& grads) {
    seen_input = node.saved("input");
    seen_grad = grads[0];
    grads[0] = mul(grads[0], 2.0);  // e.g. per-example clipping rescales output gradients
  });
  int post_calls = 0;
  y.grad_fn()->add_post_hook([&](Node&, Grads& grad_inputs, const Grads&) {
    ++post_calls;
    EXPECT_EQ(grad_inputs.size(), 3u);
  });
  sum(y).backward();
  EXPECT_TRUE(tensor_close(seen_input, {1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(tensor_close(seen_grad, {1, 1, 1, 1}));
  EXPECT_EQ(post_calls, 1);
  // dW = 2 * ones^T x: each row is 2 * column sums of x.
  EXPECT_TRUE(tensor_close(w_leaf.grad(), {10, 14, 18, 10, 14, 18}));
}

TEST(Autograd, LeafGradHooksRunAfterEachAccumulation) {
  Tensor x = param({1, 2});
  std::vector<double> seen;
  x.register_grad_hook([&](const Tensor& g) { seen.push_back(g.to_vector<double>()[0]); });
  sum(x * 3.0).backward();
  sum(x * 3.0).backward();
  EXPECT_EQ(seen, (std::vector<double>{3, 6}));
}

TEST(Autograd, GradReturnsWithoutAccumulating) {
  Tensor x = param({1, 2});
  Tensor y = param({3});
  const auto g = grad({sum(x * x)}, {x, y});
  EXPECT_TRUE(tensor_close(g[0], {2, 4}));
  EXPECT_TRUE(tensor_close(g[1], {0}));  // y does not affect the output
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, NodesRecordAttributesAndPrintAsAGraph) {
  Tensor x = randn({1, 2, 8}, 1, {.dtype = DType::kF64}).set_requires_grad(true);
  Tensor y = max_pool1d(x, 2);
  EXPECT_EQ(y.grad_fn()->attr("kernel"), (std::vector<int64_t>{2}));
  const std::string graph = graph_to_string(sum(relu(y)));
  EXPECT_THAT(graph, HasSubstr("sum"));
  EXPECT_THAT(graph, HasSubstr("relu"));
  EXPECT_THAT(graph, HasSubstr("max_pool1d"));
  EXPECT_THAT(graph, HasSubstr("accumulate_grad"));
}

TEST(Autograd, SkippedInputGetsNoGradientAndTheOthersAreUnchanged) {
  Tensor a = param({1, 2});
  Tensor b = param({3, 4, 5});
  Tensor y = sum(a.unsqueeze(1) * b.unsqueeze(0));  // mul node: inputs (a', b')
  Node& mul_node = *y.grad_fn()->next_edges()[0].node;
  ASSERT_EQ(mul_node.name(), "mul");
  mul_node.skip_input_grad(1);
  EXPECT_FALSE(mul_node.needs_input_grad(1));
  EXPECT_TRUE(mul_node.needs_input_grad(0));
  y.backward();
  EXPECT_FALSE(b.grad().defined());
  EXPECT_TRUE(tensor_close(a.grad(), {12, 12}));
  EXPECT_THAT([&] { mul_node.skip_input_grad(5); },
              ThrowsMessage<Error>(HasSubstr("has 2 inputs, cannot skip input 5")));
}

}  // namespace
}  // namespace strand::runtime
