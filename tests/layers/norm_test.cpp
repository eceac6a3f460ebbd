// Normalisation layers against hand computation (PyTorch semantics) and float64 gradchecks.
#include "layers/norm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "runtime/gradcheck.h"
#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::layers {
namespace {

using strand::DType;
using strand::testing::tensor_close;

TEST(BatchNorm1d, TrainingUsesBatchStatisticsAndUpdatesRunningOnes) {
  BatchNorm1d bn(2, 1e-5, 0.1);
  // Channel 0: values 1, 3 (mean 2, biased var 1); channel 1: 2, 2 (var 0).
  const Tensor x = runtime::from_vector<float>({1, 2, 3, 2}, {2, 2});
  const Tensor y = bn(x);
  const double s = 1 / std::sqrt(1 + 1e-5);
  EXPECT_TRUE(tensor_close(y, {-s, 0, s, 0}, 1e-5, 1e-5));
  const auto state = bn.state_dict();
  EXPECT_TRUE(tensor_close(state[2].second, {0.2, 0.2}));            // running_mean
  EXPECT_TRUE(tensor_close(state[3].second, {0.9 + 0.1 * 2, 0.9}));  // unbiased var: 2 and 0
  EXPECT_EQ(state[4].second.item(), 1);                              // num_batches_tracked
  bn.eval();
  const Tensor z = bn(x);  // running statistics now
  EXPECT_TRUE(tensor_close(z.select(0, 0),
                           {(1 - 0.2) / std::sqrt(1.1 + 1e-5), (2 - 0.2) / std::sqrt(0.9 + 1e-5)},
                           1e-5, 1e-5));
}

TEST(LayerAndGroupNorm, NormalizePerExample) {
  LayerNorm ln({4});
  const Tensor y = ln(runtime::from_vector<float>({1, 2, 3, 4, 0, 0, 0, 8}, {2, 4}));
  const double sd = std::sqrt(1.25 + 1e-5);
  EXPECT_TRUE(tensor_close(y.select(0, 0), {-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd}, 1e-5, 1e-5));
  GroupNorm gn(2, 4);
  const Tensor x = runtime::randn({3, 4, 5}, 1);
  const Tensor g = gn(x);
  // Each (example, group) slab has mean 0 and variance ~1.
  const Tensor slab = g.reshape({3, 2, 10});
  EXPECT_TRUE(tensor_close(runtime::mean(slab, {2}), std::vector<double>(6, 0.0), 1e-5, 1e-5));
  EXPECT_THROW(GroupNorm(3, 4), Error);
}

TEST(Norms, GradientsInFloat64) {
  for (int which = 0; which < 3; ++which) {
    std::shared_ptr<Module> m;
    if (which == 0) m = std::make_shared<BatchNorm1d>(3);
    if (which == 1) m = std::make_shared<LayerNorm>(runtime::Shape{5});
    if (which == 2) m = std::make_shared<GroupNorm>(3, 3);
    m->to(DType::kF64);
    // Non-trivial affine parameters, so their gradients are exercised too.
    for (auto& [name, p] : m->named_parameters()) {
      p.copy_(runtime::randn(p.shape(), 7, {.dtype = DType::kF64}));
    }
    auto params = m->parameters();
    std::vector<Tensor> inputs{strand::testing::f64_param({4, 3, 5}, 3)};
    inputs.insert(inputs.end(), params.begin(), params.end());
    const auto result = runtime::gradcheck([&](const auto& in) { return (*m)(in[0]); }, inputs);
    EXPECT_TRUE(result.ok) << m->type_name() << "\n" << result.report;
  }
}

}  // namespace
}  // namespace strand::layers
