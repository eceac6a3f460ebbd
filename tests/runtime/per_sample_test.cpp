// The DP-SGD engine against the oracle: in float64, each example's gradient from its own backward
// pass, clipped to C and summed naively. Every parameterised op (linear 2-D / 3-D, conv1d with
// stride / padding / dilation, conv1d_bases, LSTM / GRU, elementwise norm affine parameters),
// both norm methods; noise reproducibility and scale; bad input.
#include "runtime/per_sample.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "kernels/random/random.h"
#include "runtime/autograd.h"
#include "runtime/ops.h"
#include "tests/support/dp_sgd_oracle.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

using kernels::NormMethod;
using testing::check;
using testing::f64_param;
using ::testing::HasSubstr;
using testing::Problem;
using testing::tensors_close;
using ::testing::ThrowsMessage;

void check_all_methods(const Problem& p) {
  for (auto m : {std::optional<NormMethod>(), std::optional(NormMethod::kGhost),
                 std::optional(NormMethod::kMaterialized), std::optional(NormMethod::kInputGram)})
    check(p, m);
}

TEST(PerSampleClipper, Linear2d) {
  Problem p;
  Tensor w = f64_param({3, 5}, 1), b = f64_param({3}, 2);
  p.params = {{"fc.weight", w}, {"fc.bias", b}};
  p.forward = [=](const Tensor& x) { return linear(x, w, b); };
  p.x = randn({6, 5}, 3, {.dtype = DType::kF64});
  p.y = testing::random_targets(6, 3, 4);
  check_all_methods(p);
}

TEST(PerSampleClipper, Linear3dOverPositionsAndTwoLayers) {
  Problem p;
  Tensor w1 = f64_param({4, 5}, 1), b1 = f64_param({4}, 2), w2 = f64_param({2, 4}, 5);
  p.params = {{"a.weight", w1}, {"a.bias", b1}, {"b.weight", w2}};
  p.forward = [=](const Tensor& x) { return linear(mean(tanh(linear(x, w1, b1)), {1}), w2); };
  p.x = randn({5, 7, 5}, 3, {.dtype = DType::kF64});
  p.y = testing::random_targets(5, 2, 4);
  check_all_methods(p);
}

TEST(PerSampleClipper, Conv1dWithStridePaddingDilation) {
  Problem p;
  Tensor w = f64_param({6, 3, 4}, 1), b = f64_param({6}, 2), w2 = f64_param({2, 6}, 3);
  p.params = {{"conv.weight", w}, {"conv.bias", b}, {"fc.weight", w2}};
  Conv1dOptions o;
  o.stride = 2, o.pad_left = 2, o.pad_right = 1, o.dilation = 2;
  p.forward = [=](const Tensor& x) { return linear(mean(relu(conv1d(x, w, b, o)), {2}), w2); };
  p.x = randn({5, 3, 19}, 4, {.dtype = DType::kF64});
  p.y = testing::random_targets(5, 2, 5);
  check_all_methods(p);
}

TEST(PerSampleClipper, Conv1dBasesWithUnknownBases) {
  Problem p;
  Tensor w = f64_param({5, 4, 7}, 1), b = f64_param({5}, 2), w2 = f64_param({3, 5}, 3);
  p.params = {{"conv.weight", w}, {"conv.bias", b}, {"fc.weight", w2}};
  Conv1dOptions o;
  o.same_padding = true;
  p.forward = [=](const Tensor& x) {
    return linear(mean(relu(conv1d_bases(x, w, b, o)), {2}), w2);
  };
  p.x = (rand({4, 23}, 6) * 4.99).to(DType::kU8);  // codes 0..4 (4 = unknown)
  p.y = testing::random_targets(4, 3, 7);
  check_all_methods(p);
}

// The recurrent parameters in rnn_parameters order.
std::vector<Tensor> rnn_params(const kernels::RnnShape& s, uint64_t seed,
                               std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<Tensor> out;
  for (const auto& info : kernels::rnn_parameters(s)) {
    out.push_back(f64_param(Shape(info.shape.begin(), info.shape.end()), seed++) * 0.3);
    out.back() = out.back().detach().set_requires_grad(true);
    named.emplace_back("rnn." + info.name, out.back());
  }
  return out;
}

TEST(PerSampleClipper, BidirectionalTwoLayerLstmBatchFirst) {
  Problem p;
  kernels::RnnShape s;
  s.input_size = 3, s.hidden_size = 4, s.num_layers = 2, s.bidirectional = true;
  s.batch = 1, s.seq_len = 1;
  const std::vector<Tensor> weights = rnn_params(s, 10, p.params);
  Tensor w2 = f64_param({2, 8}, 3);
  p.params.emplace_back("fc.weight", w2);
  RnnOptions o;
  o.hidden_size = 4, o.num_layers = 2, o.bidirectional = true, o.batch_first = true;
  p.forward = [=](const Tensor& x) { return linear(mean(rnn(x, weights, o).output, {1}), w2); };
  p.x = randn({5, 6, 3}, 4, {.dtype = DType::kF64});
  p.y = testing::random_targets(5, 2, 5);
  check_all_methods(p);
}

TEST(PerSampleClipper, GruTimeMajorThroughFinalState) {
  Problem p;
  kernels::RnnShape s;
  s.mode = kernels::RnnMode::kGru, s.input_size = 3, s.hidden_size = 5;
  s.batch = 1, s.seq_len = 1;
  const std::vector<Tensor> weights = rnn_params(s, 20, p.params);
  Tensor w2 = f64_param({2, 5}, 3);
  p.params.emplace_back("fc.weight", w2);
  RnnOptions o;
  o.mode = kernels::RnnMode::kGru, o.hidden_size = 5;
  p.forward = [=](const Tensor& x) {
    const RnnResult r = rnn(x.transpose(0, 1), weights, o);  // time-major input
    return linear(r.h_n.select(0, 0) + mean(r.output, {0}), w2);
  };
  p.x = randn({4, 7, 3}, 4, {.dtype = DType::kF64});
  p.y = testing::random_targets(4, 2, 5);
  check_all_methods(p);
}

TEST(PerSampleClipper, NormAffineParametersThroughViews) {
  // GroupNorm's per-channel weight (reshaped to [C, 1]) and LayerNorm's [F] weight and bias.
  Problem p;
  Tensor gw = f64_param({3}, 1), gb = f64_param({3}, 2), lw = f64_param({4}, 3),
         lb = f64_param({4}, 4), w1 = f64_param({4, 3}, 5);
  p.params = {
      {"gn.weight", gw}, {"gn.bias", gb}, {"fc.weight", w1}, {"ln.weight", lw}, {"ln.bias", lb}};
  p.forward = [=](const Tensor& x) {
    const Tensor h = tanh(x * gw.reshape({3, 1}) + gb.reshape({3, 1}));
    return linear(mean(h, {2}), w1) * lw + lb;
  };
  p.x = randn({5, 3, 6}, 4, {.dtype = DType::kF64});
  p.y = testing::random_targets(5, 4, 5);
  check_all_methods(p);
}

TEST(PerSampleClipper, NothingClippedWhenCIsLarge) {
  Problem p;
  Tensor w = f64_param({3, 5}, 1);
  p.params = {{"fc.weight", w}};
  p.forward = [=](const Tensor& x) { return linear(x, w); };
  p.x = randn({4, 5}, 3, {.dtype = DType::kF64});
  p.y = testing::random_targets(4, 3, 4);
  check(p, std::nullopt, 1e6);  // C far above every norm: the ordinary summed gradient
}

TEST(PerSampleClipper, NoiseIsReproducibleScaledAndDividedByTheExpectedBatch) {
  Tensor w = zeros({200, 100}, {.dtype = DType::kF64}).set_requires_grad(true);
  PerSampleClipper clipper({{"w", w}}, {.max_grad_norm = 2.0});
  Generator g1(7), g2(7);
  clipper.add_noise(g1, 1.5, 4.0);
  const std::vector<double> first = w.grad().to_vector<double>();
  w.zero_grad();
  clipper.add_noise(g2, 1.5, 4.0);
  EXPECT_EQ(w.grad().to_vector<double>(), first);
  double sq = 0, mean_v = 0;
  for (double v : first) sq += v * v, mean_v += v;
  const double n = static_cast<double>(first.size());
  EXPECT_NEAR(mean_v / n, 0.0, 0.02);
  EXPECT_NEAR(std::sqrt(sq / n), 1.5 * 2.0 / 4.0, 0.02);  // sigma * C / expected batch
}

TEST(PerSampleClipper, NoiseIsExactlyThePhiloxNormalDraws) {
  // The CPU fast path must give kernels::cpu::normal's numbers bit for bit (those the GPU draws).
  for (DType dtype : {DType::kF32, DType::kF64}) {
    Tensor w = zeros({37, 3}, {.dtype = dtype}).set_requires_grad(true);
    PerSampleClipper clipper({{"w", w}}, {.max_grad_norm = 0.7});
    Generator gen(21), ref_gen(21);
    clipper.add_noise(gen, 1.9, 1.0);
    Tensor expected = empty({37, 3}, {.dtype = dtype});
    const kernels::PhiloxState state = ref_gen.next(111);
    if (dtype == DType::kF32)
      kernels::cpu::normal<float>({}, 111, state, 0.0, 1.9 * 0.7, expected.data<float>());
    else
      kernels::cpu::normal<double>({}, 111, state, 0.0, 1.9 * 0.7, expected.data<double>());
    EXPECT_EQ(w.grad().to_vector<double>(), expected.to_vector<double>());
    EXPECT_EQ(gen.offset(), ref_gen.offset());
  }
}

TEST(PerSampleClipper, BadInputGivesClearErrors) {
  Tensor w = f64_param({3, 5}, 1);
  EXPECT_THAT(
      [&] {
        PerSampleClipper({{"w", w}}, {.max_grad_norm = 0.0});
      },
      ThrowsMessage<Error>(HasSubstr("max_grad_norm (the clipping bound C) must be positive")));
  PerSampleClipper clipper({{"w", w}}, {.max_grad_norm = 1.0});
  Generator gen(1);
  EXPECT_THAT([&] { clipper.add_noise(gen, -1.0, 4.0); },
              ThrowsMessage<Error>(HasSubstr("noise_multiplier (sigma) must be >= 0")));
  const Tensor x = randn({4, 5}, 2, {.dtype = DType::kF64});
  // A parameter used twice.
  EXPECT_THAT([&] { clipper.backward(sum(linear(x, w) + linear(x * 2.0, w)), 4, 1.0); },
              ThrowsMessage<Error>(HasSubstr("more than one op")));
}

TEST(PerSampleClipper, BatchNormIsRefusedNamingTheLayer) {
  Tensor w = f64_param({3}, 1), b = f64_param({3}, 2);
  PerSampleClipper clipper({{"features.1.weight", w}, {"features.1.bias", b}},
                           {.max_grad_norm = 1.0});
  const Tensor x = randn({4, 3, 5}, 2, {.dtype = DType::kF64});
  const Tensor loss = sum(batch_norm(x, w, b, Tensor(), Tensor(), true));
  EXPECT_THAT([&] { clipper.backward(loss, 4, 1.0); },
              ThrowsMessage<Error>(
                  AllOf(HasSubstr("layer 'features.1'"), HasSubstr("GroupNorm or LayerNorm"))));
}

}  // namespace
}  // namespace strand::runtime
