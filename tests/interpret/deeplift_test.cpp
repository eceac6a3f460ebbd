// DeepLIFT's completeness (the attributions sum to f(x) - mean f(reference)) for every layer type
// strand has, one model per type, in float64: each op's rule (runtime/ops) must be exact, so the
// tolerance 1e-4 leaves room only for rounding. Integrated gradients approach the same as steps
// grow.
#include "runtime/deeplift.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "interpret/attributions.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/linear.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "layers/reshape.h"
#include "layers/reverse_complement.h"
#include "layers/rnn.h"
#include "layers/sequential.h"
#include "runtime/autograd.h"
#include "runtime/ops.h"
#include "runtime/rng.h"

namespace strand::interpret {
namespace {

using layers::Sequential;
constexpr int64_t kLength = 24;

std::shared_ptr<layers::Module> act(const char* name) {
  return std::make_shared<layers::Activation>(name);
}
std::shared_ptr<layers::Module> conv(int64_t in, int64_t out, int64_t k) {
  return std::make_shared<layers::Conv1d>(
      layers::Conv1dConfig{.in_channels = in, .out_channels = out, .kernel_size = k});
}

std::vector<uint8_t> random_codes(int64_t n, int64_t length, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> codes(n * length);
  for (auto& c : codes) c = static_cast<uint8_t>(rng() % 4);
  codes[3] = 4;  // an unknown base: one-hot 0.25 each
  return codes;
}

// Runs `method` on 3 random sequences in float64 and returns the largest |delta|, checking the
// outputs differ from the references enough for the check to mean something.
double worst_delta(layers::Module& model, AttributionMethod method, int64_t steps = 50) {
  model.eval();
  model.to(DType::kF64);
  AttributionOptions o;
  o.method = method;
  o.references = 3;
  o.steps = steps;
  o.batch_size = 4;  // several batches
  const Attributions a =
      attribute_codes(model, random_codes(3, kLength, 7), kLength, o, 0, DType::kF64);
  double worst = 0, moved = 0;
  for (int64_t i = 0; i < a.sequences; ++i) {
    for (int64_t t = 0; t < a.tasks; ++t) {
      worst = std::max(worst, std::abs(a.delta(i, t)));
      moved = std::max(moved,
                       std::abs(a.output[i * a.tasks + t] - a.reference_output[i * a.tasks + t]));
    }
  }
  EXPECT_GT(moved, 1e-3) << "outputs barely differ from the references: a weak check";
  return worst;
}

class DeepLiftCompleteness : public ::testing::Test {
 protected:
  void SetUp() override { runtime::manual_seed(11); }
  void expect_complete(Sequential& m) {
    EXPECT_LT(worst_delta(m, AttributionMethod::kDeepLift), 1e-4);
  }
};

TEST_F(DeepLiftCompleteness, ConvReluMaxPoolDense) {
  Sequential m;
  m.add(conv(4, 6, 5)).add(act("ReLU")).add(layers::MaxPool1d(3, 2));
  m.add(conv(6, 5, 3)).add(act("ReLU")).add(layers::MaxPool1d(2));
  m.add(std::make_shared<layers::Flatten>()).add(std::make_shared<layers::Linear>(15, 3));
  expect_complete(m);
  // The same model's plain gradient is far from complete: the check can fail.
  EXPECT_GT(worst_delta(m, AttributionMethod::kIntegratedGradients, 1), 1e-3);
}

TEST_F(DeepLiftCompleteness, AvgPoolSigmoidTanh) {
  Sequential m;
  m.add(conv(4, 6, 5)).add(act("Sigmoid")).add(layers::AvgPool1d(4));
  m.add(std::make_shared<layers::Flatten>()).add(std::make_shared<layers::Linear>(30, 4));
  m.add(act("Tanh")).add(std::make_shared<layers::Linear>(4, 2));
  expect_complete(m);
}

TEST_F(DeepLiftCompleteness, GeluSoftplus) {
  Sequential m;
  m.add(conv(4, 5, 7)).add(act("GELU")).add(layers::MaxPool1d(6));
  m.add(std::make_shared<layers::Flatten>()).add(std::make_shared<layers::Linear>(15, 4));
  m.add(act("Softplus")).add(std::make_shared<layers::Linear>(4, 2));
  expect_complete(m);
}

TEST_F(DeepLiftCompleteness, BatchNormEvalAndDropout) {
  Sequential m;
  auto bn = std::make_shared<layers::BatchNorm1d>(6);
  m.add(conv(4, 6, 5)).add(bn).add(act("ReLU")).add(std::make_shared<layers::Dropout>(0.4));
  m.add(layers::MaxPool1d(4)).add(std::make_shared<layers::Flatten>());
  m.add(std::make_shared<layers::Linear>(30, 2));
  {  // running statistics away from (0, 1)
    runtime::NoGradGuard no_grad;
    m.train();
    m(runtime::randn({8, 4, kLength}, 3) * 2.0 + 1.0);
  }
  expect_complete(m);
}

TEST_F(DeepLiftCompleteness, GroupNormLayerNorm) {
  Sequential m;
  m.add(conv(4, 6, 5)).add(std::make_shared<layers::GroupNorm>(3, 6)).add(act("ReLU"));
  m.add(layers::MaxPool1d(5)).add(std::make_shared<layers::Flatten>());
  m.add(std::make_shared<layers::Linear>(24, 8));
  m.add(std::make_shared<layers::LayerNorm>(Shape{8})).add(act("Tanh"));
  m.add(std::make_shared<layers::Linear>(8, 2));
  expect_complete(m);
}

TEST_F(DeepLiftCompleteness, Lstm) {
  Sequential m;
  m.add(conv(4, 5, 5)).add(act("ReLU")).add(layers::MaxPool1d(4));
  m.add(std::make_shared<layers::Permute>(std::vector<int64_t>{0, 2, 1}));
  m.add(layers::LSTM({.input_size = 5,
                      .hidden_size = 4,
                      .num_layers = 2,
                      .bidirectional = true,
                      .batch_first = true}));
  m.add(std::make_shared<layers::Flatten>()).add(std::make_shared<layers::Linear>(40, 2));
  expect_complete(m);
}

TEST_F(DeepLiftCompleteness, Gru) {
  Sequential m;
  m.add(conv(4, 5, 5)).add(act("ReLU")).add(layers::MaxPool1d(4));
  m.add(std::make_shared<layers::Permute>(std::vector<int64_t>{2, 0, 1}));  // time-major
  m.add(layers::GRU({.input_size = 5, .hidden_size = 3, .bidirectional = true}));
  m.add(std::make_shared<layers::Permute>(std::vector<int64_t>{1, 0, 2}));
  m.add(std::make_shared<layers::Flatten>()).add(std::make_shared<layers::Linear>(30, 2));
  expect_complete(m);
}

TEST_F(DeepLiftCompleteness, ReverseComplementAverage) {
  auto inner = std::make_shared<Sequential>();
  inner->add(conv(4, 6, 5)).add(act("ReLU")).add(layers::MaxPool1d(4));
  inner->add(std::make_shared<layers::Flatten>()).add(std::make_shared<layers::Linear>(30, 2));
  layers::ReverseComplementAverage m(inner);
  m.eval();
  m.to(DType::kF64);
  AttributionOptions o;
  o.references = 3;
  const Attributions a =
      attribute_codes(m, random_codes(3, kLength, 9), kLength, o, 0, DType::kF64);
  for (int64_t i = 0; i < a.sequences; ++i) {
    for (int64_t t = 0; t < a.tasks; ++t) EXPECT_LT(std::abs(a.delta(i, t)), 1e-4);
  }
}

// The unrolled recurrence the LSTM/GRU rule differentiates is the fused op's recurrence.
TEST(RnnUnrolled, MatchesTheFusedOp) {
  runtime::manual_seed(5);
  for (auto mode : {kernels::RnnMode::kLstm, kernels::RnnMode::kGru}) {
    layers::Recurrent r(mode, {.input_size = 3,
                               .hidden_size = 4,
                               .num_layers = 2,
                               .bidirectional = true,
                               .batch_first = true});
    r.eval();
    r.to(DType::kF64);
    const Tensor x = runtime::randn({2, 5, 3}, 8).to(DType::kF64);
    const runtime::RnnResult fused = r.run(x);
    runtime::RnnOptions o;
    o.mode = mode, o.hidden_size = 4, o.num_layers = 2, o.bidirectional = true;
    o.batch_first = true, o.training = false;
    const runtime::RnnResult unrolled = runtime::rnn_unrolled(x, r.parameters(), o);
    const auto a = fused.output.to_vector<double>(), b = unrolled.output.to_vector<double>();
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) EXPECT_NEAR(a[k], b[k], 1e-12);
    const auto ha = fused.h_n.to_vector<double>(), hb = unrolled.h_n.to_vector<double>();
    for (size_t k = 0; k < ha.size(); ++k) EXPECT_NEAR(ha[k], hb[k], 1e-12);
  }
}

// Integrated gradients: the delta shrinks as steps grow (Riemann midpoints: O(1/steps^2)).
TEST(IntegratedGradients, ApproachesCompleteness) {
  runtime::manual_seed(13);
  Sequential m;
  m.add(conv(4, 6, 5)).add(act("Softplus")).add(layers::AvgPool1d(4));
  m.add(std::make_shared<layers::Flatten>()).add(std::make_shared<layers::Linear>(30, 2));
  m.add(act("Tanh")).add(std::make_shared<layers::Linear>(2, 1));
  const double coarse = worst_delta(m, AttributionMethod::kIntegratedGradients, 2);
  const double fine = worst_delta(m, AttributionMethod::kIntegratedGradients, 64);
  EXPECT_LT(fine, coarse / 50);
  EXPECT_LT(fine, 1e-4);
}

// A model whose forward runs an op with no DeepLIFT rule is refused with the op's name.
TEST(DeepLift, RefusesOpsWithoutARule) {
  runtime::DeepLiftRecorder ref;
  Tensor r = runtime::randn({2, 3}, 1).to(DType::kF64);
  r.set_requires_grad(true);
  const Tensor yr = runtime::softmax(r, 1);
  ref.stop();
  runtime::DeepLiftRecorder actual;
  Tensor x = runtime::randn({2, 3}, 2).to(DType::kF64);
  x.set_requires_grad(true);
  const Tensor y = runtime::softmax(x, 1);
  actual.stop();
  try {
    runtime::deeplift_grad({y}, {x}, {runtime::ones_like(y)}, actual, ref);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'softmax' has no DeepLIFT rule"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace strand::interpret

namespace strand::interpret {
namespace {

TEST(Attributions, RefuseATrainingModeModelAndBadShapes) {
  Sequential m;
  m.add(conv(4, 2, 3)).add(std::make_shared<layers::Dropout>(0.5));
  m.add(std::make_shared<layers::Flatten>()).add(std::make_shared<layers::Linear>(44, 1));
  AttributionOptions o;
  EXPECT_THROW(attribute_codes(m, random_codes(2, kLength, 1), kLength, o), Error);
  m.eval();
  const Tensor x = one_hot_tensor(random_codes(2, kLength, 1), 2, kLength);
  EXPECT_THROW(attribute(m, x, runtime::zeros({2, 3, 4, kLength + 1}), o), Error);
  EXPECT_THROW(attribute(m, x.slice(1, 0, 3), runtime::zeros({2, 3, 3, kLength}), o), Error);
}

}  // namespace
}  // namespace strand::interpret
