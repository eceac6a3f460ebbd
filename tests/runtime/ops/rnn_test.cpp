// rnn (LSTM, GRU) as an autograd op: float64 gradchecks of every input, masks, errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/gradcheck.h"
#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

using strand::testing::f64_param;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::vector<Tensor> make_weights(const RnnOptions& o, int64_t input_size, uint64_t seed) {
  kernels::RnnShape s;
  s.mode = o.mode, s.input_size = input_size, s.hidden_size = o.hidden_size;
  s.num_layers = o.num_layers, s.bidirectional = o.bidirectional, s.bias = o.bias;
  s.seq_len = 1, s.batch = 1;
  std::vector<Tensor> out;
  for (const auto& p : kernels::rnn_parameters(s)) {
    out.push_back(
        (randn(p.shape, seed++, {.dtype = DType::kF64}) * 0.5).detach().set_requires_grad(true));
  }
  return out;
}

TEST(RnnOp, GradientsOfEveryInputInFloat64) {
  for (auto mode : {kernels::RnnMode::kLstm, kernels::RnnMode::kGru}) {
    const RnnOptions o{.mode = mode, .hidden_size = 3, .num_layers = 2, .bidirectional = true};
    const bool lstm = mode == kernels::RnnMode::kLstm;
    const Tensor input = f64_param({5, 2, 4}, 1);
    const Tensor h0 = f64_param({4, 2, 3}, 2), c0 = f64_param({4, 2, 3}, 3);
    const std::vector<Tensor> weights = make_weights(o, 4, 10);
    std::vector<Tensor> inputs{input, h0};
    if (lstm) inputs.push_back(c0);
    inputs.insert(inputs.end(), weights.begin(), weights.end());
    const size_t first_weight = lstm ? 3 : 2;
    const auto result = gradcheck(
        [&](const auto& in) {
          const std::vector<Tensor> w(in.begin() + first_weight, in.end());
          const RnnResult r = rnn(in[0], w, o, in[1], lstm ? in[2] : Tensor(), {5, 3});
          Tensor all = cat({r.output.reshape({-1}), r.h_n.reshape({-1})}, 0);
          return lstm ? cat({all, r.c_n.reshape({-1})}, 0) : all;
        },
        inputs);
    EXPECT_TRUE(result.ok) << (lstm ? "LSTM" : "GRU") << "\n" << result.report;
  }
}

TEST(RnnOp, OutputsPastEachLengthAreZeroAndShapesFollowBatchFirst) {
  const RnnOptions o{.hidden_size = 4, .batch_first = true};
  const Tensor x = randn({2, 6, 3}, 1, {.dtype = DType::kF64});
  const RnnResult r = rnn(x, make_weights(o, 3, 5), o, Tensor(), Tensor(), {6, 2});
  EXPECT_EQ(r.output.shape(), (Shape{2, 6, 4}));
  EXPECT_EQ(r.h_n.shape(), (Shape{1, 2, 4}));
  for (double v : r.output.select(0, 1).slice(0, 2, 6).to_vector<double>()) EXPECT_EQ(v, 0.0);
  // The final state of sample 1 is its output at its last valid step.
  EXPECT_EQ(r.h_n.select(1, 1).to_vector<double>(),
            r.output.select(0, 1).select(0, 1).contiguous().to_vector<double>());
}

TEST(RnnOp, DropoutBetweenLayersIsSeededAndOffInEval) {
  RnnOptions o{.hidden_size = 4, .num_layers = 2, .dropout = 0.5};
  const Tensor x = randn({5, 2, 3}, 1);
  auto w = make_weights(o, 3, 7);
  for (auto& t : w) t = t.detach().to(DType::kF32).set_requires_grad(true);
  Generator a(1), b(1);
  EXPECT_EQ(rnn(x, w, o, {}, {}, {}, &a).output.to_vector<float>(),
            rnn(x, w, o, {}, {}, {}, &b).output.to_vector<float>());
  o.training = false;
  const auto eval1 = rnn(x, w, o).output.to_vector<float>();
  o.dropout = 0;
  EXPECT_EQ(eval1, rnn(x, w, o).output.to_vector<float>());
}

TEST(RnnOp, BadInputsAreRejected) {
  const RnnOptions o{.hidden_size = 4};
  const Tensor x = zeros({5, 2, 3}, {.dtype = DType::kF64});
  auto w = make_weights(o, 3, 1);
  EXPECT_THAT([&] { rnn(x, w, o, {}, {}, {6, 1}); }, ThrowsMessage<Error>(HasSubstr("length")));
  EXPECT_THAT([&] { rnn(x, w, o, {}, {}, {0, 1}); }, ThrowsMessage<Error>(HasSubstr("length")));
  EXPECT_THAT([&] { rnn(x, std::vector<Tensor>(w.begin(), w.end() - 1), o); },
              ThrowsMessage<Error>(HasSubstr("expected 4 weight tensors, got 3")));
  auto wrong = w;
  wrong[0] = zeros({16, 5}, {.dtype = DType::kF64});
  EXPECT_THAT([&] { rnn(x, wrong, o); }, ThrowsMessage<Error>(HasSubstr("weight_ih_l0")));
  EXPECT_THAT(
      [&] {
        rnn(x, w, o, zeros({1, 3, 4}, {.dtype = DType::kF64}));
      },
      ThrowsMessage<Error>(HasSubstr("[1, 3, 4]")));
}

}  // namespace
}  // namespace strand::runtime
