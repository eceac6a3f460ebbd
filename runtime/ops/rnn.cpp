// LSTM / GRU over the kernels/rnn family: one node whose inputs are the sequence, the initial
// states and every weight, and whose outputs are the output sequence and the final states.
#include <unordered_map>

#include "kernels/random/random.h"
#include "runtime/autograd.h"
#include "runtime/deeplift.h"
#include "runtime/dispatch.h"
#include "runtime/ops.h"
#include "runtime/per_example.h"

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

// What one layer and direction's weight gradients are made of (kernels::RnnLayerTaps), rows
// (step, example) time-major: d_gates_* [T*N, gates*H], input [T*N, layer input], h_prev [T*N, H].
struct RnnTaps {
  Tensor d_gates_ih, d_gates_hh, input, h_prev;
};

// Everything forward produced that backward reads, beside the saved tensors (RnnSaved).
struct RnnState {
  kernels::RnnShape shape;
  RnnOptions options;
  std::vector<int32_t> lengths;
  std::vector<Tensor> masks;  // dropout masks between layers
  Tensor reserve;             // u8 bytes
  // Set by the per-example rule before backward: backward then also fills taps (layer * dirs +
  // dir), which the rule takes. Results are unchanged. CPU, or CUDA f32 with the custom kernels.
  bool keep_taps = false;
  std::vector<RnnTaps> taps;
};

// The tensors the node saves; its backward and rules read them (the names stay in this file).
struct RnnSaved {
  Tensor input, h0, c0;         // h0 / c0 undefined when not given
  std::vector<Tensor> weights;  // kernels::rnn_parameters order
  void save(Node& n, const kernels::RnnShape& s) const {
    n.save("input", input);
    if (h0.defined()) n.save("h0", h0);
    if (c0.defined()) n.save("c0", c0);
    const auto info = kernels::rnn_parameters(s);
    for (size_t i = 0; i < info.size(); ++i) n.save(info[i].name, weights[i]);
  }
  static RnnSaved of(const Node& n, const kernels::RnnShape& s) {
    RnnSaved r{n.saved("input"),
               n.has_saved("h0") ? n.saved("h0") : Tensor(),
               n.has_saved("c0") ? n.saved("c0") : Tensor(),
               {}};
    for (const auto& p : kernels::rnn_parameters(s)) r.weights.push_back(n.saved(p.name));
    return r;
  }
};

// DP-SGD for the recurrent weights (inputs 3...): each weight's per-example gradient is
// sum_t d_gates_t (x) a_t over the steps of that example (a: the layer input for W_ih, the previous
// hidden state for W_hh; a bias sums d_gates), from the taps backward keeps.
class RnnPerExample final : public PerExampleRule {
 public:
  explicit RnnPerExample(std::shared_ptr<RnnState> st) : st_(std::move(st)) {}
  bool parameter_slot(size_t slot, bool through_view) const override {
    return !through_view && slot >= 3;
  }
  void prepare() const override { st_->keep_taps = true; }
  std::unique_ptr<PerExampleGrads> capture(Node& node, const std::vector<size_t>& slots,
                                           const Grads& grad_outputs) const override {
    STRAND_CHECK(!st_->taps.empty(),
                 "DP-SGD: the {} node kept no gate gradients (was it run with the cuDNN path?)",
                 node.name());
    return std::make_unique<Captured>(st_->shape, slots, std::move(st_->taps), grad_outputs[0]);
  }

 private:
  class Captured final : public PerExampleGrads {
   public:
    Captured(const kernels::RnnShape& shape, std::vector<size_t> slots, std::vector<RnnTaps> taps,
             Tensor grad)
        : shape_(shape), slots_(std::move(slots)), taps_(std::move(taps)), grad_(std::move(grad)) {}

    std::string add_squared_norms(const PerExampleContext& ctx, Tensor& total) override {
      checked_output_grad(grad_, ctx, false);
      const int64_t n = ctx.batch;
      std::string method;
      for (size_t slot : slots_) {
        const Operands t = operands(slot, ctx);
        const int64_t rows_n = t.g.shape()[0], gh = t.g.shape()[1];
        const int64_t steps = rows_n / n;
        if (t.a.defined()) {
          const int64_t in = t.a.shape()[1];
          const kernels::PerSampleShape s{n, steps, in, gh};
          const kernels::NormMethod m = pick_norm_method(ctx, s);
          method = kernels::norm_method_name(m);
          total = total + dense_norm(t.a, t.g, s, in, n * in, gh, n * gh, m);
        } else {
          total = total + bias_norm(t.g, {n, steps, 1, gh}, gh, n * gh, 1);
        }
      }
      return method;
    }

    std::vector<Tensor> clipped_sums(const PerExampleContext& ctx, const Tensor& factor) override {
      std::unordered_map<const void*, Tensor> scaled_taps;
      std::vector<Tensor> sums;
      for (size_t slot : slots_) {
        const Operands t = operands(slot, ctx);
        const int64_t rows_n = t.g.shape()[0], gh = t.g.shape()[1];
        // A weight and its bias share d_gates: scale each tap once.
        Tensor& gs = scaled_taps[t.g.raw_data()];
        if (!gs.defined()) {
          gs = (t.g.view({rows_n / ctx.batch, ctx.batch, gh}) * factor_for(factor, 3, 1))
                   .reshape({rows_n, gh});
        }
        sums.push_back(t.a.defined() ? matmul(gs.transpose(0, 1), t.a) : sum(gs, {0}));
      }
      return sums;
    }

   private:
    // One parameter's operands: g (d_gates rows) and a (input or h_prev rows; undefined for a
    // bias).
    struct Operands {
      Tensor g, a;
    };
    Operands operands(size_t slot, const PerExampleContext& ctx) const {
      const auto info = kernels::rnn_parameters(shape_);
      STRAND_CHECK(slot >= 3 && slot - 3 < info.size(),
                   "DP-SGD: {} node input {} is not one of its {} parameters", ctx.op, slot,
                   info.size());
      const kernels::RnnParamInfo& pi = info[slot - 3];
      const RnnTaps& taps = taps_[pi.layer * shape_.dirs() + pi.dir];
      Operands t;
      switch (pi.kind) {
        case kernels::RnnParamKind::kWeightIh:
          t = {taps.d_gates_ih, taps.input};
          break;
        case kernels::RnnParamKind::kWeightHh:
          t = {taps.d_gates_hh, taps.h_prev};
          break;
        case kernels::RnnParamKind::kBiasIh:
          t = {taps.d_gates_ih, Tensor()};
          break;
        case kernels::RnnParamKind::kBiasHh:
          t = {taps.d_gates_hh, Tensor()};
          break;
      }
      STRAND_CHECK(t.g.shape()[0] % ctx.batch == 0,
                   "DP-SGD: {} taps have {} rows, not a multiple of {}", ctx.op, t.g.shape()[0],
                   ctx.batch);
      return t;
    }

    kernels::RnnShape shape_;
    std::vector<size_t> slots_;
    std::vector<RnnTaps> taps_;
    Tensor grad_;
  };
  std::shared_ptr<RnnState> st_;
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
        const RnnSaved saved = RnnSaved::of(n, s);
        const Tensor &input = saved.input, &h0 = saved.h0, &c0 = saved.c0;
        const std::vector<Tensor>& weights = saved.weights;
        const Tensor d_output = g[0].contiguous(), d_h_n = g[1].contiguous();
        const Tensor d_c_n = lstm ? g[2].contiguous() : Tensor();
        Tensor d_input = n.needs_input_grad(0) ? empty_like(input) : Tensor();
        Tensor d_h0 = n.needs_input_grad(1) ? empty_like(h0) : Tensor();
        Tensor d_c0 = n.needs_input_grad(2) ? empty_like(c0) : Tensor();
        std::vector<Tensor> d_weights;
        for (size_t i = 0; i < weights.size(); ++i) {
          d_weights.push_back(n.needs_input_grad(3 + i) ? zeros_like(weights[i]) : Tensor());
        }
        // Taps for per-example gradients, when the DP-SGD rule asked (RnnState::keep_taps).
        std::vector<RnnTaps> taps;
        if (st->keep_taps) {
          const int64_t rows = s.seq_len * s.batch, gh = s.gates() * s.hidden_size;
          const TensorOptions like{.dtype = input.dtype(), .device = input.device()};
          for (int64_t l = 0; l < s.num_layers; ++l) {
            for (int64_t d = 0; d < s.dirs(); ++d) {
              taps.push_back({empty({rows, gh}, like), empty({rows, gh}, like),
                              empty({rows, s.layer_input_size(l)}, like),
                              empty({rows, s.hidden_size}, like)});
            }
          }
        }
        const kernels::Context ctx = context_for(input.device());
        dispatch_gpu_f32_bf16_cpu_f32_f64(input, "rnn", [&](auto tag) {
          using T = decltype(tag);
          const auto table = layer_table<kernels::RnnLayerWeights<T>, T>(s, weights);
          const auto grad_table = layer_table<kernels::RnnLayerGrads<T>, T>(s, d_weights);
          std::vector<kernels::RnnLayerTaps<T>> tap_table;
          for (const RnnTaps& t : taps) {
            tap_table.push_back({t.d_gates_ih.template data<T>(), t.d_gates_hh.template data<T>(),
                                 t.input.template data<T>(), t.h_prev.template data<T>()});
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
        if (st->keep_taps) st->taps = std::move(taps);
        Grads out{d_input, d_h0, d_c0};
        out.insert(out.end(), d_weights.begin(), d_weights.end());
        return out;
      });
  if (node) {
    RnnSaved{input, h0, c0, weights}.save(*node, s);
    node->set_per_example(std::make_shared<const RnnPerExample>(st));
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
        const RnnSaved saved = RnnSaved::of(node, st->shape);
        for (const Tensor& state : {saved.input, saved.h0, saved.c0}) {
          Tensor t = state.defined() ? state.detach() : Tensor();
          if (t.defined()) t.set_requires_grad(true);
          inputs.push_back(t);
        }
        const RnnResult r =
            rnn_unrolled(inputs[0], saved.weights, st->options, inputs[1], inputs[2]);
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
