// DP-SGD on every model builder against the float64 oracle (each example's own backward,
// clipped and summed naively), at short input lengths; full-size sanity runs; BatchNorm refused at
// the first step.
#include "layers/privacy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "layers/models.h"
#include "runtime/ops.h"
#include "runtime/per_example.h"
#include "tests/support/dp_sgd_oracle.h"

namespace strand::layers {
namespace {

using kernels::NormMethod;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

Tensor random_codes(int64_t n, int64_t length, uint64_t seed) {
  return (runtime::rand({n, length}, seed) * 4.99).to(DType::kU8);  // 4 = unknown base
}

// The model in float64 and eval mode (no dropout: the oracle's forwards must match the batch's).
testing::Problem problem(const std::string& name, int64_t length, bool one_hot, uint64_t seed) {
  auto model = build_model(name, length, 2);
  model->to(DType::kF64);
  model->eval();
  testing::Problem p;
  p.params = model->named_parameters();
  p.forward = [model](const Tensor& x) { return model->forward(x); };
  const Tensor codes = random_codes(3, length, seed);
  if (one_hot) {
    std::vector<double> x(3 * 4 * length, 0.0);
    const auto c = codes.to_vector<uint8_t>();
    for (int64_t i = 0; i < 3; ++i) {
      for (int64_t l = 0; l < length; ++l) {
        const uint8_t b = c[i * length + l];
        for (int64_t ch = 0; ch < 4; ++ch)
          x[(i * 4 + ch) * length + l] = b < 4 ? (b == ch ? 1.0 : 0.0) : 0.25;
      }
    }
    p.x = runtime::from_vector(x, {3, 4, length});
  } else {
    p.x = codes;
  }
  p.y = testing::random_targets(3, 2, seed + 1);
  return p;
}

TEST(DpSgdModels, DefaultCnnMatchesTheOracleBothMethods) {
  const testing::Problem p = problem("cnn", 64, false, 1);
  for (auto m : {std::optional<NormMethod>(), std::optional(NormMethod::kGhost),
                 std::optional(NormMethod::kMaterialized), std::optional(NormMethod::kInputGram)})
    testing::check(p, m);
}

TEST(DpSgdModels, DefaultCnnOneHotInput) {
  testing::check(problem("cnn", 48, true, 2), std::nullopt);
}

TEST(DpSgdModels, DeepSeaMatchesTheOracle) {
  testing::check(problem("deepsea", 200, false, 3), std::nullopt);
}

TEST(DpSgdModels, BassetGroupNormMatchesTheOracle) {
  testing::check(problem("basset-groupnorm", 100, true, 4), std::nullopt);
}

TEST(DpSgdModels, DanQMatchesTheOracle) {
  testing::check(problem("danq", 100, false, 5), std::nullopt);
}

TEST(DpSgdModels, SmallCnnMatchesTheOracle) {
  testing::check(problem("cnn-small", 64, false, 6), std::nullopt);
}

TEST(DpSgdModels, FullSizeModelsRunOneClippedStep) {
  for (const auto& [name, length] :
       std::vector<std::pair<std::string, int64_t>>{{"deepsea", 1000}, {"danq", 1000}}) {
    auto model = build_model(name, length, 919);
    runtime::PerSampleClipper clipper = make_private(*model, {.max_grad_norm = 1.0});
    const Tensor x = random_codes(2, length, 9);
    const Tensor loss =
        runtime::binary_cross_entropy_with_logits((*model)(x), runtime::zeros({2, 919}));
    const std::vector<double> norms = clipper.backward(loss, 2, 2.0).to_vector<double>();
    ASSERT_EQ(norms.size(), 2u);
    for (double v : norms) EXPECT_TRUE(std::isfinite(v) && v > 0) << name;
    double total = 0;
    for (const Tensor& p : model->parameters()) {
      ASSERT_TRUE(p.grad().defined()) << name;
      total += runtime::sum(p.grad() * p.grad()).item();
    }
    EXPECT_LE(std::sqrt(total), 2.0 + 1e-4) << name;  // two examples, each clipped to norm 1
  }
}

TEST(DpSgdModels, BatchNormModelIsRefused) {
  auto model = build_model("basset", 100, 2);
  runtime::PerSampleClipper clipper = make_private(*model, {.max_grad_norm = 1.0});
  const Tensor loss = runtime::binary_cross_entropy_with_logits((*model)(random_codes(2, 100, 1)),
                                                                runtime::zeros({2, 2}));
  EXPECT_THAT([&] { clipper.backward(loss, 2, 2.0); },
              ThrowsMessage<runtime::DpSgdUnsupported>(AllOf(HasSubstr("layer '1' is BatchNorm1d"),
                                                             HasSubstr("GroupNorm or LayerNorm"))));
}

}  // namespace
}  // namespace strand::layers
