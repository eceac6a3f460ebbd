// LSTM / GRU over the kernels/rnn family: one node whose inputs are the sequence, the initial
// states and every weight, and whose outputs are the output sequence and the final states.
#include "kernels/random/random.h"
#include "runtime/autograd.h"
#include "runtime/deeplift.h"
#include "runtime/dispatch.h"
#include "runtime/ops.h"

namespace strand::runtime {
namespace {

kernels::RnnShape rnn_shape(const Tensor& input, const RnnOptions& o) {
  STRAND_CHECK(input.dim() == 3, "rnn: input must be [T, N, F] (or [N, T, F] batch-first), got {}",
               input.shape());
  kernels::RnnShape s;
  s.mode = o.mode;
  s.seq_len = input.shape()[o.batch_first ? 1 : 0];
  s.batch = input.shape()[o.batch_first ? 0 : 1];
  s.input_size = input.shape()[2];
  s.hidden_size = o.hidden_size;
  s.num_layers = o.num_layers;
  s.bidirectional = o.bidirectional;
  s.batch_first = o.batch_first;
  s.bias = o.bias;
  kernels::validate(s);
  return s;
}

// Pointer tables for the kernels (RnnLayerWeights or RnnLayerGrads) from tensors in
// rnn_parameters order; undefined tensors leave their slot null.
template <typename Table, typename T>
std::vector<Table> layer_table(const kernels::RnnShape& s, const std::vector<Tensor>& tensors) {
  std::vector<Table> out(s.num_layers * s.dirs());
  const auto info = kernels::rnn_parameters(s);
  for (size_t i = 0; i < info.size(); ++i) {
    if (!tensors[i].defined()) continue;
    auto& slot = out[info[i].layer * s.dirs() + info[i].dir];
    T* p = tensors[i].template data<T>();
    switch (info[i].kind) {
      case kernels::RnnParamKind::kWeightIh:
        slot.weight_ih = p;
        break;
      case kernels::RnnParamKind::kWeightHh:
        slot.weight_hh = p;
        break;
      case kernels::RnnParamKind::kBiasIh:
        slot.bias_ih = p;
        break;
      case kernels::RnnParamKind::kBiasHh:
        slot.bias_hh = p;
        break;
    }
  }
  return out;
}

// Everything forward produced that backward reads.
struct RnnState {
  kernels::RnnShape shape;
  RnnOptions options;
  std::vector<int32_t> lengths;
  std::vector<Tensor> masks;  // dropout masks between layers
  Tensor reserve;             // u8 bytes
};

template <typename T>
kernels::RnnInputs<T> make_inputs(const RnnState& st, const Tensor& input, const Tensor& h0,
                                  const Tensor& c0,
                                  const std::vector<kernels::RnnLayerWeights<T>>& weights,
                                  std::vector<const T*>& mask_ptrs) {
  mask_ptrs.clear();
  for (const Tensor& m : st.masks) mask_ptrs.push_back(m.data<T>());
  kernels::RnnInputs<T> in;
  in.input = input.data<T>();
  in.lengths = st.lengths;
  in.h0 = h0.defined() ? h0.data<T>() : nullptr;
  in.c0 = c0.defined() ? c0.data<T>() : nullptr;
  in.weights = weights;
  in.dropout_masks = mask_ptrs;
  return in;
}

}  // namespace

RnnResult rnn_unrolled(const Tensor& input, const std::vector<Tensor>& weights,
                       const RnnOptions& options, const Tensor& h0, const Tensor& c0) {
  const kernels::RnnShape s = rnn_shape(input, options);
  const bool lstm = s.mode == kernels::RnnMode::kLstm;
  const int64_t hidden = s.hidden_size, batch = s.batch;
  const auto info = kernels::rnn_parameters(s);
  STRAND_CHECK(weights.size() == info.size(), "rnn: expected {} weight tensors, got {}",
               info.size(), weights.size());
  const TensorOptions like{.dtype = input.dtype(), .device = input.device()};
  Tensor layer_input = options.batch_first ? input.transpose(0, 1) : input;  // [T, N, F]
  std::vector<Tensor> h_n, c_n;
  for (int64_t l = 0; l < s.num_layers; ++l) {
    std::vector<Tensor> directions;
    for (int64_t d = 0; d < s.dirs(); ++d) {
      Tensor w_ih, w_hh, b_ih, b_hh;
      for (size_t i = 0; i < info.size(); ++i) {
        if (info[i].layer != l || info[i].dir != d) continue;
        switch (info[i].kind) {
          case kernels::RnnParamKind::kWeightIh:
            w_ih = weights[i];
            break;
          case kernels::RnnParamKind::kWeightHh:
            w_hh = weights[i];
            break;
          case kernels::RnnParamKind::kBiasIh:
            b_ih = weights[i];
            break;
          case kernels::RnnParamKind::kBiasHh:
            b_hh = weights[i];
            break;
        }
      }
      const int64_t k = l * s.dirs() + d;
      Tensor h = h0.defined() ? h0.select(0, k) : zeros({batch, hidden}, like);
      Tensor c = lstm ? (c0.defined() ? c0.select(0, k) : zeros({batch, hidden}, like)) : Tensor();
      const Tensor projected = linear(layer_input, w_ih, b_ih);  // [T, N, gates * H]
      std::vector<Tensor> steps(s.seq_len);
      for (int64_t j = 0; j < s.seq_len; ++j) {
        const int64_t t = d == 1 ? s.seq_len - 1 - j : j;
        const Tensor gi = projected.select(0, t), gh = linear(h, w_hh, b_hh);
        const auto gate = [hidden](const Tensor& g, int64_t n) {
          return g.slice(1, n * hidden, (n + 1) * hidden);
        };
        if (lstm) {  // gate order i, f, g, o
          const Tensor gates = gi + gh;
          const Tensor i_gate = sigmoid(gate(gates, 0)), f_gate = sigmoid(gate(gates, 1));
          const Tensor g_gate = tanh(gate(gates, 2)), o_gate = sigmoid(gate(gates, 3));
          c = f_gate * c + i_gate * g_gate;
          h = o_gate * tanh(c);
        } else {  // gate order r, z, n; n = tanh(x_n + r * (W_hn h + b_hn))
          const Tensor r_gate = sigmoid(gate(gi, 0) + gate(gh, 0));
          const Tensor z_gate = sigmoid(gate(gi, 1) + gate(gh, 1));
          const Tensor n_gate = tanh(gate(gi, 2) + r_gate * gate(gh, 2));
          h = rsub(z_gate, 1.0) * n_gate + z_gate * h;
        }
        steps[t] = h;
      }
      directions.push_back(stack(steps, 0));
      h_n.push_back(h);
      if (lstm) c_n.push_back(c);
    }
    layer_input = directions.size() == 1 ? directions[0] : cat(directions, 2);
  }
  RnnResult result;
  result.output = options.batch_first ? layer_input.transpose(0, 1) : layer_input;
  result.h_n = stack(h_n, 0);
  if (lstm) result.c_n = stack(c_n, 0);
  return result;
}

std::string rnn_tap_suffix(int64_t layer, int64_t dir) {
  return "l" + std::to_string(layer) + (dir == 1 ? "_reverse" : "");
}

RnnResult rnn(const Tensor& input_in, const std::vector<Tensor>& weights_in,
              const RnnOptions& options, const Tensor& h0_in, const Tensor& c0_in,
              const std::vector<int32_t>& lengths, Generator* generator) {
  std::vector<const Tensor*> all{&input_in, &h0_in, &c0_in};
  for (const Tensor& w : weights_in) all.push_back(&w);
  check_floating_same("rnn", all);
  auto st = std::make_shared<RnnState>();
  st->shape = rnn_shape(input_in, options);
  st->options = options;
  st->lengths = lengths;
  const kernels::RnnShape& s = st->shape;
  const bool lstm = s.mode == kernels::RnnMode::kLstm;
  STRAND_CHECK(lstm || !c0_in.defined(), "rnn: a GRU has no cell state, but c0 was given");
  STRAND_CHECK(options.dropout >= 0 && options.dropout < 1,
               "rnn: dropout must be in [0, 1), got {}", options.dropout);
  kernels::check_rnn_lengths(s, lengths);
  const auto info = kernels::rnn_parameters(s);
  STRAND_CHECK(weights_in.size() == info.size(), "rnn: expected {} weight tensors, got {}",
               info.size(), weights_in.size());
  for (size_t i = 0; i < info.size(); ++i) {
    kernels::check_rnn_parameter_shape(s, info[i].layer, info[i].dir, info[i].kind,
                                       weights_in[i].shape());
  }
  if (h0_in.defined())
    kernels::check_rnn_tensor_shape(s, kernels::RnnTensor::kState, h0_in.shape());
  if (c0_in.defined())
    kernels::check_rnn_tensor_shape(s, kernels::RnnTensor::kState, c0_in.shape());

  const Tensor input = input_in.contiguous();
  const Tensor h0 = h0_in.defined() ? h0_in.contiguous() : Tensor();
  const Tensor c0 = c0_in.defined() ? c0_in.contiguous() : Tensor();
  std::vector<Tensor> weights;
  for (const Tensor& w : weights_in) weights.push_back(w.contiguous());
  const TensorOptions like{.dtype = input.dtype(), .device = input.device()};
  if (options.training && options.dropout > 0 && s.num_layers > 1) {
    Generator& gen = generator ? *generator : default_generator();
    const Shape mask_shape = kernels::rnn_tensor_shape(s, kernels::RnnTensor::kDropoutMask);
    for (int64_t k = 0; k + 1 < s.num_layers; ++k) {
      Tensor mask = empty(mask_shape, like);
      const kernels::PhiloxState state = gen.next(static_cast<uint64_t>(mask.numel()));
      const kernels::Context ctx = context_for(mask.device());
      dispatch_floating(mask.dtype(), "rnn dropout", [&](auto tag) {
        using T = decltype(tag);
        STRAND_DISPATCH_DEVICE(mask.device(), bernoulli_mask<T>, ctx, mask.numel(), state,
                               1.0 - options.dropout, 1.0 / (1.0 - options.dropout),
                               mask.data<T>());
      });
      st->masks.push_back(mask);
    }
  }
  Tensor output = empty(kernels::rnn_tensor_shape(s, kernels::RnnTensor::kOutput), like);
  Tensor h_n = empty(kernels::rnn_tensor_shape(s, kernels::RnnTensor::kState), like);
  Tensor c_n = lstm ? empty(h_n.shape(), like) : Tensor();
  const kernels::Context ctx = context_for(input.device());
  dispatch_gpu_f32_bf16_cpu_f32_f64(input, "rnn", [&](auto tag) {
    using T = decltype(tag);
    const auto table = layer_table<kernels::RnnLayerWeights<T>, T>(s, weights);
    std::vector<const T*> mask_ptrs;
    const kernels::RnnInputs<T> in = make_inputs<T>(*st, input, h0, c0, table, mask_ptrs);
    const kernels::RnnOutputs<T> out{output.data<T>(), h_n.data<T>(),
                                     lstm ? c_n.data<T>() : nullptr};
    if (input.is_cuda()) {
      if constexpr (!std::is_same_v<T, double>) {
        STRAND_CUDA_CALL({
          const size_t reserve_bytes =
              kernels::cuda::rnn_reserve_bytes(ctx, s, input.dtype(), options.algo);
          const size_t work_bytes =
              kernels::cuda::rnn_workspace_bytes(ctx, s, input.dtype(), options.algo);
          st->reserve = empty({static_cast<int64_t>(reserve_bytes)},
                              {.dtype = DType::kU8, .device = input.device()});
          Tensor work = empty({static_cast<int64_t>(work_bytes)},
                              {.dtype = DType::kU8, .device = input.device()});
          kernels::cuda::rnn_forward<T>(ctx, s, in, out, options.algo, st->reserve.raw_data(),
                                        work.raw_data(), work_bytes);
        });
      }
    } else if constexpr (!std::is_same_v<T, BFloat16>) {
      st->reserve = empty({static_cast<int64_t>(kernels::cpu::rnn_reserve_bytes(s, input.dtype()))},
                          {.dtype = DType::kU8});
      kernels::cpu::rnn_forward<T>(ctx, s, in, out, st->reserve.raw_data());
    }
  });

  const size_t num_outputs = lstm ? 3 : 2;
  auto node = record_node(
      lstm ? "lstm" : "gru", all, num_outputs, [st, lstm](Node& n, const Grads& g) -> Grads {
        const kernels::RnnShape& s = st->shape;
        const Tensor& input = n.saved("input");
        const Tensor h0 = n.has_saved("h0") ? n.saved("h0") : Tensor();
        const Tensor c0 = n.has_saved("c0") ? n.saved("c0") : Tensor();
        std::vector<Tensor> weights;
        const auto info = kernels::rnn_parameters(s);
        for (const auto& p : info) weights.push_back(n.saved(p.name));
        const Tensor d_output = g[0].contiguous(), d_h_n = g[1].contiguous();
        const Tensor d_c_n = lstm ? g[2].contiguous() : Tensor();
        Tensor d_input = n.needs_input_grad(0) ? empty_like(input) : Tensor();
        Tensor d_h0 = n.needs_input_grad(1) ? empty_like(n.saved("h0")) : Tensor();
        Tensor d_c0 = n.needs_input_grad(2) ? empty_like(n.saved("c0")) : Tensor();
        std::vector<Tensor> d_weights;
        for (size_t i = 0; i < weights.size(); ++i) {
          d_weights.push_back(n.needs_input_grad(3 + i) ? zeros_like(weights[i]) : Tensor());
        }
        // Opt-in taps for per-example gradients (see kRnnTapsAttr in ops.h).
        std::vector<std::pair<std::string, Tensor>> taps;
        if (n.attrs().count(kRnnTapsAttr)) {
          const int64_t rows = s.seq_len * s.batch, gh = s.gates() * s.hidden_size;
          for (int64_t l = 0; l < s.num_layers; ++l) {
            for (int64_t d = 0; d < s.dirs(); ++d) {
              const std::string suffix = rnn_tap_suffix(l, d);
              const TensorOptions like{.dtype = input.dtype(), .device = input.device()};
              taps.emplace_back("d_gates_ih_" + suffix, empty({rows, gh}, like));
              taps.emplace_back("d_gates_hh_" + suffix, empty({rows, gh}, like));
              taps.emplace_back("input_" + suffix, empty({rows, s.layer_input_size(l)}, like));
              taps.emplace_back("h_prev_" + suffix, empty({rows, s.hidden_size}, like));
            }
          }
        }
        const kernels::Context ctx = context_for(input.device());
        dispatch_gpu_f32_bf16_cpu_f32_f64(input, "rnn", [&](auto tag) {
          using T = decltype(tag);
          const auto table = layer_table<kernels::RnnLayerWeights<T>, T>(s, weights);
          const auto grad_table = layer_table<kernels::RnnLayerGrads<T>, T>(s, d_weights);
          std::vector<kernels::RnnLayerTaps<T>> tap_table;
          for (size_t k = 0; k + 3 < taps.size(); k += 4) {
            tap_table.push_back(
                {taps[k].second.template data<T>(), taps[k + 1].second.template data<T>(),
                 taps[k + 2].second.template data<T>(), taps[k + 3].second.template data<T>()});
          }
          std::vector<const T*> mask_ptrs;
          const kernels::RnnInputs<T> in = make_inputs<T>(*st, input, h0, c0, table, mask_ptrs);
          const kernels::RnnGradOutputs<T> dout{d_output.data<T>(), d_h_n.data<T>(),
                                                lstm ? d_c_n.data<T>() : nullptr};
          const kernels::RnnGradInputs<T> din{d_input.defined() ? d_input.data<T>() : nullptr,
                                              d_h0.defined() ? d_h0.data<T>() : nullptr,
                                              d_c0.defined() ? d_c0.data<T>() : nullptr, grad_table,
                                              tap_table};
          if (input.is_cuda()) {
            if constexpr (!std::is_same_v<T, double>) {
              STRAND_CUDA_CALL({
                const size_t work_bytes =
                    kernels::cuda::rnn_workspace_bytes(ctx, s, input.dtype(), st->options.algo);
                Tensor work = empty({static_cast<int64_t>(work_bytes)},
                                    {.dtype = DType::kU8, .device = input.device()});
                kernels::cuda::rnn_backward<T>(ctx, s, in, st->reserve.raw_data(), dout, din,
                                               st->options.algo, work.raw_data(), work_bytes);
              });
            }
          } else if constexpr (!std::is_same_v<T, BFloat16>) {
            kernels::cpu::rnn_backward<T>(ctx, s, in, st->reserve.raw_data(), dout, din);
          }
        });
        for (const auto& [name, t] : taps) n.save(name, t);
        Grads out{d_input, d_h0, d_c0};
        out.insert(out.end(), d_weights.begin(), d_weights.end());
        return out;
      });
  if (node) {
    node->save("input", input);
    if (h0.defined()) node->save("h0", h0);
    if (c0.defined()) node->save("c0", c0);
    for (size_t i = 0; i < info.size(); ++i) node->save(info[i].name, weights[i]);
    // DeepLIFT: the recurrence unrolled into its gates, for the input and for the reference,
    // then multipliers through that sub-graph (rescale on each gate's sigmoid or tanh, the product
    // rule on each product of gates), so the rule stays exact however long the sequence.
    node->set_deeplift([st, lstm](Node& n, Node& ref, const Grads& g) -> Grads {
      STRAND_CHECK(st->lengths.empty() && st->masks.empty(),
                   "DeepLIFT through an {} needs equal-length sequences and evaluation mode",
                   lstm ? "LSTM" : "GRU");
      const auto info = kernels::rnn_parameters(st->shape);
      const auto unroll = [&](Node& node, DeepLiftRecorder& recorder, std::vector<Tensor>& inputs,
                              std::vector<Tensor>& outputs) {
        GradModeGuard grad_mode(true);
        const std::vector<const char*> names{"input", "h0", "c0"};
        for (const char* name : names) {
          Tensor t = node.has_saved(name) ? node.saved(name).detach() : Tensor();
          if (t.defined()) t.set_requires_grad(true);
          inputs.push_back(t);
        }
        std::vector<Tensor> weights;
        for (const auto& p : info) weights.push_back(node.saved(p.name));
        const RnnResult r = rnn_unrolled(inputs[0], weights, st->options, inputs[1], inputs[2]);
        recorder.stop();
        outputs = {r.output, r.h_n};
        if (lstm) outputs.push_back(r.c_n);
      };
      std::vector<Tensor> ref_inputs, ref_outputs, inputs, outputs;
      DeepLiftRecorder ref_recorder;
      unroll(ref, ref_recorder, ref_inputs, ref_outputs);
      DeepLiftRecorder recorder;
      unroll(n, recorder, inputs, outputs);
      std::vector<Tensor> wanted;
      std::vector<size_t> slots;
      for (size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i].defined() && n.needs_input_grad(i))
          wanted.push_back(inputs[i]), slots.push_back(i);
      }
      Grads out(3 + info.size());
      if (wanted.empty()) return out;
      const std::vector<Tensor> m = deeplift_grad(outputs, wanted, g, recorder, ref_recorder);
      for (size_t k = 0; k < slots.size(); ++k) out[slots[k]] = m[k];
      return out;
    });
    node->set_attr("hidden_size", {s.hidden_size});
    node->set_attr("num_layers", {s.num_layers});
    node->set_attr("bidirectional", {s.bidirectional ? 1 : 0});
    if (lstm)
      set_outputs(node, {&output, &h_n, &c_n});
    else
      set_outputs(node, {&output, &h_n});
  }
  return {output, h_n, c_n};
}

}  // namespace strand::runtime
