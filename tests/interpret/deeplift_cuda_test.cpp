// DeepLIFT on CUDA: the rules run on device tensors (rescale, max-pool routing, the LSTM's
// unrolled gates), giving the CPU's attributions within fp32 tolerance, and complete.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "interpret/attributions.h"
#include "layers/models.h"
#include "runtime/rng.h"
#include "tests/support/test_support.h"

namespace strand::interpret {
namespace {

TEST(DeepLiftCuda, MatchesTheCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  const int64_t length = 200;
  std::mt19937_64 rng(4);
  std::vector<uint8_t> codes(3 * length);
  for (auto& c : codes) c = static_cast<uint8_t>(rng() % 4);
  for (const char* name : {"cnn", "danq"}) {
    runtime::manual_seed(3);
    auto model = layers::build_model(name, length, 2);
    model->eval();
    AttributionOptions o;
    o.references = 4;
    const Attributions cpu = attribute_codes(*model, codes, length, o);
    model->to(Device::cuda(0));
    const Attributions gpu = attribute_codes(*model, codes, length, o);
    double scale = 1e-6, worst = 0;
    for (float v : cpu.hypothetical) scale = std::max(scale, static_cast<double>(std::abs(v)));
    for (size_t i = 0; i < cpu.hypothetical.size(); ++i) {
      ASSERT_FALSE(std::isnan(gpu.hypothetical[i])) << name << " " << i;
      worst =
          std::max(worst, std::abs(static_cast<double>(gpu.hypothetical[i]) - cpu.hypothetical[i]));
    }
    EXPECT_LT(worst / scale, 1e-3) << name;  // fp32 (TF32 off), different summation orders
    for (int64_t i = 0; i < gpu.sequences; ++i) {
      for (int64_t t = 0; t < gpu.tasks; ++t) EXPECT_LT(gpu.relative_delta(i, t), 1e-3) << name;
    }
  }
}

}  // namespace
}  // namespace strand::interpret
