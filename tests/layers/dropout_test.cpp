// Dropout layer: active in training, identity in eval, reproducible by seed.
#include "layers/dropout.h"

#include <gtest/gtest.h>

#include "runtime/ops.h"
#include "runtime/rng.h"

namespace strand::layers {
namespace {

TEST(DropoutLayer, TrainingEvalAndSeeds) {
  Dropout d(0.5);
  const Tensor x = runtime::ones({1000});
  runtime::manual_seed(1);
  const auto first = d(x).to_vector<float>();
  runtime::manual_seed(1);
  EXPECT_EQ(d(x).to_vector<float>(), first);
  EXPECT_LT(runtime::sum(d(x)).item(), 1000 * 1.2);
  d.eval();
  EXPECT_TRUE(d(x).is_same(x));
  EXPECT_THROW(Dropout(1.0), Error);
}

}  // namespace
}  // namespace strand::layers
