// bf16 autocast on the CPU: the switch nests and restores, and CPU layers ignore it (the CPU
// always computes in fp32), so outputs and gradients are bit-identical with and without it.
#include "layers/autocast.h"

#include <gtest/gtest.h>

#include "layers/models.h"
#include "runtime/ops.h"
#include "runtime/rng.h"

namespace strand::layers {
namespace {

TEST(Autocast, GuardsNestAndRestore) {
  EXPECT_FALSE(autocast_enabled());
  {
    AutocastGuard on(true);
    EXPECT_TRUE(autocast_enabled());
    {
      AutocastGuard off(false);
      EXPECT_FALSE(autocast_enabled());
    }
    EXPECT_TRUE(autocast_enabled());
    EXPECT_FALSE(autocast_applies(runtime::zeros({2, 2})));  // a CPU tensor: fp32 stays
    EXPECT_FALSE(autocast_applies(Tensor()));
  }
  EXPECT_FALSE(autocast_enabled());
  EXPECT_EQ(to_bf16(runtime::ones({2})).dtype(), DType::kBF16);
  EXPECT_FALSE(to_bf16(Tensor()).defined());
}

TEST(Autocast, CpuModelsAreUnchangedUnderAutocast) {
  runtime::manual_seed(9);
  auto model = build_model("danq", 60, 2);
  model->eval();
  const Tensor codes = (runtime::rand({3, 60}, 4) * 4.0).to(DType::kU8);
  const auto plain = (*model)(codes).to_vector<float>();
  AutocastGuard on(true);
  const Tensor out = (*model)(codes);
  EXPECT_EQ(out.dtype(), DType::kF32);
  EXPECT_EQ(out.to_vector<float>(), plain);
}

}  // namespace
}  // namespace strand::layers
