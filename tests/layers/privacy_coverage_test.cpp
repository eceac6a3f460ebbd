// DP-SGD coverage, op by op: every layer a model file can name (so every op with parameters that a
// model reaches: conv1d on base codes and on dense input, linear, LSTM, GRU, the norms' affine
// parameters, batch norm), each in a small model, either matches the float64 oracle or is refused
// with runtime::DpSgdUnsupported naming the layer; so are the runtime ops with no per-example rule.
// A new layer kind fails the test until it is listed here.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "layers/model_file.h"
#include "layers/privacy.h"
#include "runtime/ops.h"
#include "runtime/per_example.h"
#include "tests/support/dp_sgd_oracle.h"

namespace strand::layers {
namespace {

using runtime::DpSgdUnsupported;
using runtime::Tensor;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

constexpr int64_t kLength = 12, kBatch = 3, kOutputs = 2;

// Each layer kind as the model file writes it, with small sizes that fit after a first conv1d.
const std::map<std::string, std::string>& layer_lines() {
  static const std::map<std::string, std::string> lines = {
      {"conv1d", "conv1d: {out: 5, kernel: 3, stride: 2, padding: 1, dilation: 2}"},
      {"maxpool1d", "maxpool1d: {kernel: 2}"},
      {"avgpool1d", "avgpool1d: {kernel: 2}"},
      {"batchnorm1d", "batchnorm1d"},
      {"layernorm", "layernorm"},
      {"groupnorm", "groupnorm: {groups: 2}"},
      {"dropout", "dropout: {p: 0.25}"},
      {"relu", "relu"},
      {"sigmoid", "sigmoid"},
      {"tanh", "tanh"},
      {"gelu", "gelu"},
      {"softplus", "softplus"},
      {"flatten", "flatten"},
      {"lstm", "lstm: {hidden: 3, layers: 2, bidirectional: true}"},
      {"gru", "gru: {hidden: 3}"},
      {"linear", "linear: {out: 4}"}};
  return lines;
}
// The kinds DP-SGD refuses (they mix the examples of a batch).
const std::set<std::string> kRefused = {"batchnorm1d"};

// conv1d (on base codes: the one-hot path) -> the layer -> flatten -> linear, in float64.
std::shared_ptr<Sequential> model_with(const std::string& line) {
  const std::string yaml = "layers:\n  - conv1d: {out: 6, kernel: 3}\n  - " + line +
                           "\n  - flatten\n  - linear: {out: outputs}\n";
  auto model = build_model_from_yaml(yaml, kLength, kOutputs, "coverage test");
  model->to(DType::kF64);
  return model;
}

Tensor codes(uint64_t seed) {
  return (runtime::rand({kBatch, kLength}, seed) * 4.99).to(DType::kU8);  // 4 = unknown base
}

Tensor one_hot(const Tensor& c) {
  std::vector<double> x(kBatch * 4 * kLength, 0.0);
  const auto v = c.to_vector<uint8_t>();
  for (int64_t i = 0; i < kBatch; ++i) {
    for (int64_t l = 0; l < kLength; ++l) {
      for (int64_t ch = 0; ch < 4; ++ch)
        x[(i * 4 + ch) * kLength + l] = v[i * kLength + l] < 4 ? (v[i * kLength + l] == ch) : 0.25;
    }
  }
  return runtime::from_vector(x, {kBatch, 4, kLength});
}

// One clipped step in training mode (dropout, batch statistics as when training).
void training_step(Sequential& model, const Tensor& x) {
  model.train();
  runtime::PerSampleClipper clipper = make_private(model, {.max_grad_norm = 1.0});
  const Tensor loss =
      runtime::binary_cross_entropy_with_logits(model(x), testing::random_targets(kBatch, 2, 1));
  clipper.backward(loss, kBatch, static_cast<double>(kBatch));
}

// The oracle in evaluation mode (its per-example forwards must equal the batch's: no dropout).
void matches_the_oracle(const std::shared_ptr<Sequential>& model, const Tensor& x) {
  model->eval();
  for (auto& [name, p] : model->named_parameters()) Tensor(p).zero_grad();
  testing::Problem p;
  p.params = model->named_parameters();
  p.forward = [model](const Tensor& in) { return model->forward(in); };
  p.x = x;
  p.y = testing::random_targets(kBatch, kOutputs, 2);
  testing::check(p, std::nullopt);
}

TEST(DpSgdCoverage, EveryModelFileLayerIsCoveredOrRefused) {
  for (const std::string& kind : model_file_layers()) {
    SCOPED_TRACE(kind);
    ASSERT_TRUE(layer_lines().count(kind)) << "layer '" << kind << "' is not in the DP-SGD "
                                           << "coverage test: add it to layer_lines()";
    for (bool dense : {false, true}) {  // base codes (conv1d_bases), then one-hot (conv1d)
      auto model = model_with(layer_lines().at(kind));
      const Tensor x = dense ? one_hot(codes(3)) : codes(3);
      if (kRefused.count(kind)) {
        EXPECT_THAT([&] { training_step(*model, x); },
                    ThrowsMessage<DpSgdUnsupported>(
                        AllOf(HasSubstr("layer '1' is"), HasSubstr("GroupNorm or LayerNorm"))));
        continue;
      }
      EXPECT_NO_THROW(training_step(*model, x));
      matches_the_oracle(model, x);
    }
  }
}

TEST(DpSgdCoverage, OpsWithoutARuleAreRefusedTyped) {
  const auto param = [](Shape shape, uint64_t seed) {
    return runtime::randn(shape, seed, {.dtype = DType::kF64}).set_requires_grad(true);
  };
  const Tensor x = runtime::randn({4, 3}, 9, {.dtype = DType::kF64});
  Tensor w = param({3, 2}, 1), s = param({3}, 2);
  runtime::PerSampleClipper clipper({{"proj.weight", w}, {"shift.bias", s}},
                                    {.max_grad_norm = 1.0});
  // matmul with a parameter operand, and a parameter subtracted: no per-example rule.
  EXPECT_THAT(
      [&] { clipper.backward(runtime::sum(runtime::matmul(x, w)), 4, 1.0); },
      ThrowsMessage<DpSgdUnsupported>(AllOf(HasSubstr("layer 'proj'"), HasSubstr("op 'matmul'"))));
  EXPECT_THAT([&] { clipper.backward(runtime::sum(x - s), 4, 1.0); },
              ThrowsMessage<DpSgdUnsupported>(HasSubstr("op 'sub'")));
  // Two parameters in one elementwise product: its rule covers one.
  Tensor a = param({3}, 3), b = param({3}, 4);
  runtime::PerSampleClipper two({{"a", a}, {"b", b}}, {.max_grad_norm = 1.0});
  EXPECT_THAT([&] { two.backward(runtime::sum(x * (a * b)), 4, 1.0); },
              ThrowsMessage<DpSgdUnsupported>(HasSubstr("takes 2 parameters")));
  // Batch norm without parameters still mixes the examples, so every layer below it is refused.
  Tensor fc = param({5, 3}, 5);
  runtime::PerSampleClipper below({{"fc.weight", fc}}, {.max_grad_norm = 1.0});
  const Tensor h = runtime::linear(x, fc).unsqueeze(2);
  EXPECT_THAT(
      [&] {
        below.backward(
            runtime::sum(runtime::batch_norm(h, Tensor(), Tensor(), Tensor(), Tensor(), true)), 4,
            1.0);
      },
      ThrowsMessage<DpSgdUnsupported>(HasSubstr("op 'batch_norm' is BatchNorm1d")));
}

}  // namespace
}  // namespace strand::layers
