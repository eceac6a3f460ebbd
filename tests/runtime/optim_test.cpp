// Optimizer steps against hand-computed PyTorch updates, clipping, state round trip, errors.
#include "runtime/optim.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

using strand::testing::tensor_close;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

Tensor param_with_grad(std::vector<double> value, std::vector<double> grad) {
  const Shape shape{static_cast<int64_t>(value.size())};
  Tensor p = from_vector<double>(value, shape, {.dtype = DType::kF64}).set_requires_grad(true);
  p.set_grad(from_vector<double>(grad, shape, {.dtype = DType::kF64}));
  return p;
}

TEST(Optim, SgdMomentumNesterovAndWeightDecay) {
  Tensor p = param_with_grad({1.0}, {0.5});
  SGD plain({p}, {.lr = 0.1});
  plain.step();
  EXPECT_TRUE(tensor_close(p, {0.95}));

  Tensor q = param_with_grad({1.0}, {0.5});
  SGD momentum({q}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1});
  momentum.step();  // g = 0.5 + 0.1 * 1 = 0.6; buf = 0.6; q = 1 - 0.06
  EXPECT_TRUE(tensor_close(q, {0.94}));
  momentum.step();  // g = 0.5 + 0.094 = 0.594; buf = 0.9 * 0.6 + 0.594 = 1.134
  EXPECT_TRUE(tensor_close(q, {0.94 - 0.1134}));

  Tensor r = param_with_grad({1.0}, {0.5});
  SGD nesterov({r}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  nesterov.step();  // buf = 0.5; g = 0.5 + 0.9 * 0.5 = 0.95
  EXPECT_TRUE(tensor_close(r, {0.905}));
}

TEST(Optim, AdamAndAdamW) {
  Tensor p = param_with_grad({1.0, -2.0}, {0.1, -0.2});
  Adam adam({p}, {.lr = 0.01});
  adam.step();  // first step moves each parameter by lr * sign(g) (bias-corrected)
  EXPECT_TRUE(tensor_close(p, {0.99, -1.99}, 1e-6, 1e-7));
  adam.step();
  EXPECT_TRUE(tensor_close(p, {0.98, -1.98}, 1e-6, 1e-7));  // same gradient: same step

  Tensor q = param_with_grad({1.0}, {0.1});
  AdamW adamw({q}, {.lr = 0.01, .weight_decay = 0.1});
  adamw.step();  // decoupled: q *= 1 - lr * wd, then the Adam step
  EXPECT_TRUE(tensor_close(q, {1.0 * (1 - 0.001) - 0.01}, 1e-6, 1e-7));

  Tensor w = param_with_grad({1.0}, {0.1});
  Adam l2({w}, {.lr = 0.01, .weight_decay = 0.1});
  l2.step();  // coupled: g = 0.1 + 0.1 * 1; still sign(g) on the first step
  EXPECT_TRUE(tensor_close(w, {0.99}, 1e-6, 1e-7));
}

TEST(Optim, ParametersWithoutGradientsAreSkipped) {
  Tensor p = from_vector<double>({1.0}, {1}, {.dtype = DType::kF64}).set_requires_grad(true);
  Adam adam({p}, {});
  adam.step();
  EXPECT_TRUE(tensor_close(p, {1.0}));
}

TEST(Optim, ClipGradNormScalesAllGradientsTogether) {
  Tensor a = param_with_grad({0, 0}, {3, 0});
  Tensor b = param_with_grad({0}, {4});
  const double norm = clip_grad_norm({a, b}, 1.0);
  EXPECT_DOUBLE_EQ(norm, 5.0);
  EXPECT_TRUE(tensor_close(a.grad(), {0.6, 0}, 1e-6, 1e-6));
  EXPECT_TRUE(tensor_close(b.grad(), {0.8}, 1e-6, 1e-6));
  Tensor c = param_with_grad({0}, {0.5});
  EXPECT_DOUBLE_EQ(clip_grad_norm({c}, 1.0), 0.5);
  EXPECT_TRUE(tensor_close(c.grad(), {0.5}));  // under the limit: unchanged
}

TEST(Optim, StateRoundTripsForResuming) {
  Tensor p = param_with_grad({1.0, 2.0}, {0.3, -0.1});
  Adam first({p}, {.lr = 0.1});
  first.step();
  Tensor q = param_with_grad({1.0, 2.0}, {0.3, -0.1});
  q.copy_(p);
  Adam resumed({q}, {.lr = 0.1});
  resumed.load_state(first.state(), first.steps());
  first.step();
  resumed.step();
  EXPECT_EQ(p.to_vector<double>(), q.to_vector<double>());
}

TEST(Optim, BadConfigurationsAreRejected) {
  Tensor p = param_with_grad({1.0}, {0.5});
  EXPECT_THAT([&] { SGD({p}, {.lr = -1}); },
              ThrowsMessage<Error>(HasSubstr("must be non-negative")));
  EXPECT_THAT([&] { SGD({p}, {.lr = 0.1, .nesterov = true}); },
              ThrowsMessage<Error>(HasSubstr("Nesterov momentum needs momentum > 0")));
  EXPECT_THAT([&] { Adam({p}, {.beta1 = 1.0}); },
              ThrowsMessage<Error>(HasSubstr("must lie in [0, 1)")));
  EXPECT_THAT([&] { clip_grad_norm({p}, 0); },
              ThrowsMessage<Error>(HasSubstr("max_norm must be positive")));
}

}  // namespace
}  // namespace strand::runtime
