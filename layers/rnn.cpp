// LSTM / GRU layers (see rnn.h).
#include "layers/rnn.h"

#include "core/error.h"
#include "layers/autocast.h"
#include "layers/init.h"

namespace strand::layers {

Recurrent::Recurrent(kernels::RnnMode mode, const RnnConfig& c)
    : Module(mode == kernels::RnnMode::kLstm ? "LSTM" : "GRU"), mode_(mode), config_(c) {
  kernels::RnnShape s;
  s.mode = mode, s.input_size = c.input_size, s.hidden_size = c.hidden_size;
  s.num_layers = c.num_layers, s.bidirectional = c.bidirectional, s.bias = c.bias;
  s.seq_len = 1, s.batch = 1;
  kernels::validate(s);
  STRAND_CHECK(c.dropout >= 0 && c.dropout < 1, "{}: dropout must be in [0, 1), got {}",
               type_name(), c.dropout);
  const auto params = kernels::rnn_parameters(s);
  weights_.reserve(params.size());  // registered addresses must not move
  for (const auto& p : params) {
    weights_.push_back(fan_in_init(p.shape, c.hidden_size));
    register_parameter(p.name, &weights_.back());
  }
}

runtime::RnnResult Recurrent::run(const Tensor& x, const Tensor& h0, const Tensor& c0,
                                  const std::vector<int32_t>& lengths) {
  runtime::RnnOptions o;
  o.mode = mode_;
  o.hidden_size = config_.hidden_size;
  o.num_layers = config_.num_layers;
  o.bidirectional = config_.bidirectional;
  o.batch_first = config_.batch_first;
  o.bias = config_.bias;
  o.dropout = config_.dropout;
  o.training = is_training();
  o.algo = config_.algo;
  if (autocast_applies(x)) {
    std::vector<Tensor> weights;
    for (const Tensor& w : weights_) weights.push_back(to_bf16(w));
    runtime::RnnResult r = runtime::rnn(to_bf16(x), weights, o, to_bf16(h0), to_bf16(c0), lengths);
    r.output = r.output.to(DType::kF32);
    if (r.h_n.defined()) r.h_n = r.h_n.to(DType::kF32);
    if (r.c_n.defined()) r.c_n = r.c_n.to(DType::kF32);
    return r;
  }
  return runtime::rnn(x, weights_, o, h0, c0, lengths);
}

std::string Recurrent::extra_repr() const {
  return format("{}, {}, num_layers={}, bidirectional={}, batch_first={}, dropout={}",
                config_.input_size, config_.hidden_size, config_.num_layers, config_.bidirectional,
                config_.batch_first, config_.dropout);
}

}  // namespace strand::layers
