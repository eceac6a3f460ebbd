// bf16 autocast on CUDA: Linear, Conv1d (one-hot and float input) and LSTM/GRU models give
// float32 outputs within bf16 tolerance of the fp32 run, and their float32 master weights get
// float32 gradients close to the fp32 gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "layers/autocast.h"
#include "layers/models.h"
#include "runtime/ops.h"
#include "runtime/rng.h"
#include "tests/support/test_support.h"

namespace strand::layers {
namespace {

// Relative error of a against b, scaled by b's largest magnitude.
double scaled_error(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0, scale = 1e-6;
  for (float v : b) scale = std::max(scale, static_cast<double>(std::abs(v)));
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_FALSE(std::isnan(a[i])) << i;
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  }
  return worst / scale;
}

TEST(AutocastCuda, Bf16ForwardAndBackwardTrackFp32) {
  STRAND_REQUIRE_CUDA_DEVICE();
  for (const char* name : {"cnn", "danq", "basset-groupnorm"}) {
    const int64_t length = std::string(name) == "danq" ? 130 : 200;
    runtime::manual_seed(3);
    auto model = build_model(name, length, 3);
    model->to(runtime::Device::cuda());
    model->eval();
    const Tensor codes =
        (runtime::rand({8, length}, 5) * 4.0).to(DType::kU8).to(runtime::Device::cuda());

    auto run = [&](bool bf16, std::vector<std::vector<float>>* grads) {
      for (auto& p : model->parameters()) p.zero_grad();
      AutocastGuard autocast(bf16);
      const Tensor out = (*model)(codes);
      EXPECT_EQ(out.dtype(), DType::kF32) << name;
      runtime::sum(out * out).backward();
      for (auto& p : model->parameters()) {
        EXPECT_EQ(p.dtype(), DType::kF32) << name;  // master weights stay fp32
        EXPECT_EQ(p.grad().dtype(), DType::kF32) << name;
        grads->push_back(p.grad().to_vector<float>());
      }
      return out.to_vector<float>();
    };
    std::vector<std::vector<float>> g32, g16;
    const auto y32 = run(false, &g32);
    const auto y16 = run(true, &g16);
    EXPECT_LT(scaled_error(y16, y32), 3e-2) << name;
    ASSERT_EQ(g16.size(), g32.size());
    for (size_t i = 0; i < g32.size(); ++i)
      EXPECT_LT(scaled_error(g16[i], g32[i]), 1e-1) << name << " parameter " << i;
  }
}

}  // namespace
}  // namespace strand::layers
