// Sequential: layers run in order, errors name the layer, BatchNorm1d -> ReLU -> MaxPool1d in
// training runs as the fused node with the unfused chain's values and gradients, and CPU inference
// fuses the pooling blocks.
#include "layers/sequential.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "runtime/autograd.h"
#include "runtime/ops.h"
#include "runtime/rng.h"

namespace strand::layers {
namespace {

using runtime::Tensor;

std::shared_ptr<Sequential> conv_block() {
  runtime::manual_seed(5);
  auto m = std::make_shared<Sequential>();
  m->add(std::make_shared<Conv1d>(
      Conv1dConfig{.in_channels = 3, .out_channels = 4, .kernel_size = 3, .same_padding = true}));
  m->add(std::make_shared<BatchNorm1d>(4));
  m->add(std::make_shared<Activation>("ReLU"));
  m->add(MaxPool1d(3));
  return m;
}

// Output, then every parameter's gradient and every buffer, after one forward/backward.
std::vector<std::vector<double>> run(Sequential& m, const Tensor& x, bool fused) {
  Tensor y = x;
  if (fused) {
    y = m(x);
  } else {
    for (size_t i = 0; i < m.size(); ++i) y = m[i](y);  // one module at a time: no fusion
  }
  runtime::sum(y * runtime::randn(y.shape(), 9)).backward();
  std::vector<std::vector<double>> out{y.to_vector<double>()};
  for (const Tensor& p : m.parameters()) out.push_back(p.grad().to_vector<double>());
  for (const auto& [name, b] : m.named_buffers()) out.push_back(b.to_vector<double>());
  return out;
}

TEST(Sequential, FusedNormReluPoolEqualsTheLayersOneByOne) {
  const Tensor x = runtime::randn({6, 3, 15}, 3);
  auto fused = conv_block(), chain = conv_block();
  const auto a = run(*fused, x, true), b = run(*chain, x, false);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "result " << i;
  EXPECT_EQ(a[0].size(), 6u * 4 * 5);
}

// Eval mode: without gradient recording BatchNorm1d -> ReLU -> MaxPool1d and ReLU -> MaxPool1d run
// as one inference pass (batch norm folded into a multiply-add: within rounding of the layers one
// by one); with gradient recording the layers run unfused, equal bit for bit.
TEST(Sequential, EvalModeFusesOnlyWithoutGradientRecording) {
  auto fused = conv_block(), chain = conv_block();
  fused->add(std::make_shared<Activation>("ReLU"));
  fused->add(MaxPool1d(2));
  chain->add(std::make_shared<Activation>("ReLU"));
  chain->add(MaxPool1d(2));
  const Tensor x = runtime::randn({2, 3, 18}, 4);
  for (auto* m : {fused.get(), chain.get()}) {
    (*m)(x * 3.0 + 1.0);  // running statistics away from (0, 1)
    m->eval();
  }
  Tensor y = x;
  {
    runtime::NoGradGuard no_grad;
    for (size_t i = 0; i < chain->size(); ++i) y = (*chain)[i](y);
    const std::vector<double> got = (*fused)(x).to_vector<double>(), want = y.to_vector<double>();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-6 * (1 + std::abs(want[i])));
  }
  EXPECT_EQ((*fused)(x).to_vector<double>(), y.to_vector<double>());
}

TEST(Sequential, ErrorsNameTheLayer) {
  auto m = conv_block();
  EXPECT_THAT(
      [&] {
        (*m)(runtime::randn({2, 5, 9}, 1));
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("layer 0 (Conv1d)")));
  Sequential s;
  s.add(std::make_shared<BatchNorm1d>(4));
  s.add(std::make_shared<Activation>("ReLU"));
  s.add(MaxPool1d(8));
  EXPECT_THAT(
      [&] {
        s(runtime::randn({2, 4, 5}, 1));
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("layer 0 (BatchNorm1d)")));
}

}  // namespace
}  // namespace strand::layers
