// The DP-SGD engine (see per_sample.h): graph walk and hooks, per-example norms through
// kernels/per_sample_norm, clip factors, and the reweighted weight-gradient pass per layer.
#include "runtime/per_sample.h"

#include <cmath>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_onehot.h"
#include "kernels/random/philox.h"
#include "kernels/random/random.h"
#include "kernels/rnn/rnn.h"
#include "runtime/autograd.h"
#include "runtime/dispatch.h"
#include "runtime/ops.h"

namespace strand::runtime {

struct PerSampleClipper::Record {
  std::shared_ptr<Node> node;
  std::string op;
  std::vector<std::pair<size_t, size_t>> uses;  // (node input, parameter index)
  int hook_id = -1;
  // Captured by the post-hook while the node's saved tensors are alive.
  Tensor input;  // linear / conv1d: the layer input; conv1d_bases: the base codes; mul: the
                 // other operand
  Tensor grad;   // the output gradient
  Shape param_side_shape;  // mul / add: the parameter operand's (broadcast) shape
  std::vector<std::pair<std::string, Tensor>> taps;  // lstm / gru
  // Per parameter use (same order as uses): the per-example gradient of elementwise parameters.
  std::vector<Tensor> per_example;
};

namespace {

using kernels::NormMethod;
using kernels::PerSampleShape;
using kernels::SampleRows;

bool is_view(const Node& n) {
  return (n.name() == "view" || n.name() == "reshape") && n.next_edges().size() == 1;
}

bool is_rnn(const std::string& op) { return op == "lstm" || op == "gru"; }

// Which inputs of a supported op may be parameters.
bool parameter_slot_ok(const std::string& op, size_t input) {
  if (op == "linear" || op == "conv1d") return input == 1 || input == 2;
  if (op == "conv1d_bases") return input == 0 || input == 1;
  if (is_rnn(op)) return input >= 3;
  if (op == "mul" || op == "add") return input <= 1;
  return false;
}

std::string layer_of(const std::string& param_name) {
  const size_t dot = param_name.rfind('.');
  return dot == std::string::npos ? param_name : param_name.substr(0, dot);
}

template <typename T>
SampleRows<T> rows(const Tensor& t, int64_t stride_n, int64_t stride_t, int64_t stride_k) {
  return {t.data<T>(), stride_n, stride_t, stride_k};
}

// Runs fn(T{}) for the dtypes the per-sample kernels take: f32/f64 on the CPU, f32 on CUDA.
template <typename Fn>
void dispatch_norm(const Tensor& t, Fn&& fn) {
  if (t.is_cuda()) {
    STRAND_CHECK(t.dtype() == DType::kF32, "DP-SGD on CUDA needs f32 tensors, got {}", t.dtype());
    fn(float{});
    return;
  }
  STRAND_CHECK(t.dtype() == DType::kF32 || t.dtype() == DType::kF64,
               "DP-SGD on the CPU needs f32 or f64 tensors, got {}", t.dtype());
  if (t.dtype() == DType::kF32)
    fn(float{});
  else
    fn(double{});
}

#define STRAND_NORM_CALL(device, fn, ...)                    \
  do {                                                       \
    if ((device).is_cuda()) {                                \
      if constexpr (std::is_same_v<T, float>) {              \
        STRAND_CUDA_CALL(kernels::cuda::fn<T>(__VA_ARGS__)); \
      }                                                      \
    } else {                                                 \
      kernels::cpu::fn<T>(__VA_ARGS__);                      \
    }                                                        \
  } while (0)

NormMethod pick(const std::optional<NormMethod>& forced, const PerSampleShape& s) {
  return forced ? *forced : kernels::choose_norm_method(s);
}

// ||sum_t g_t a_t^T||^2 per example for a [N*T, in] / g [N*T, out] laid out with the given row
// strides (elements between examples and between positions).
Tensor dense_norm(const Tensor& a, const Tensor& g, const PerSampleShape& s, int64_t a_sn,
                  int64_t a_st, int64_t g_sn, int64_t g_st, NormMethod method) {
  Tensor out = empty({s.batch}, {.dtype = g.dtype(), .device = g.device()});
  const kernels::Context ctx = context_for(g.device());
  dispatch_norm(g, [&](auto tag) {
    using T = decltype(tag);
    STRAND_NORM_CALL(g.device(), per_sample_norm_dense, ctx, s, rows<T>(a, a_sn, a_st, 1),
                     rows<T>(g, g_sn, g_st, 1), method, out.data<T>());
  });
  return out;
}

Tensor bias_norm(const Tensor& g, const PerSampleShape& s, int64_t g_sn, int64_t g_st,
                 int64_t g_sk) {
  Tensor out = empty({s.batch}, {.dtype = g.dtype(), .device = g.device()});
  const kernels::Context ctx = context_for(g.device());
  dispatch_norm(g, [&](auto tag) {
    using T = decltype(tag);
    STRAND_NORM_CALL(g.device(), per_sample_bias_norm, ctx, s, rows<T>(g, g_sn, g_st, g_sk),
                     out.data<T>());
  });
  return out;
}

// The factor per example, shaped to broadcast over a tensor of rank `rank` whose dimension
// `batch_dim` is the batch.
Tensor factor_for(const Tensor& factor, int64_t rank, int64_t batch_dim) {
  Shape shape(rank, 1);
  shape[batch_dim] = factor.numel();
  return factor.reshape(shape);
}

kernels::Conv1dShape conv_shape_of(const Node& n, int64_t batch, int64_t in_channels,
                                   int64_t in_length, int64_t out_channels) {
  kernels::Conv1dShape s;
  s.batch = batch;
  s.in_channels = in_channels;
  s.in_length = in_length;
  s.out_channels = out_channels;
  s.kernel_size = n.attr("kernel_size")[0];
  s.stride = n.attr("stride")[0];
  s.pad_left = n.attr("padding")[0];
  s.pad_right = n.attr("padding")[1];
  s.dilation = n.attr("dilation")[0];
  s.groups = n.attr("groups")[0];
  return s;
}

kernels::RnnShape rnn_shape_of(const Node& n, const std::string& op, int64_t input_size,
                               size_t num_params) {
  kernels::RnnShape s;
  s.mode = op == "lstm" ? kernels::RnnMode::kLstm : kernels::RnnMode::kGru;
  s.seq_len = 1;
  s.batch = 1;
  s.input_size = input_size;
  s.hidden_size = n.attr("hidden_size")[0];
  s.num_layers = n.attr("num_layers")[0];
  s.bidirectional = n.attr("bidirectional")[0] != 0;
  s.bias = static_cast<int64_t>(num_params) == s.num_layers * s.dirs() * 4;
  return s;
}

const Tensor& tap(const PerSampleClipper::Record& r, const std::string& name) {
  for (const auto& [key, t] : r.taps) {
    if (key == name) return t;
  }
  STRAND_FAIL("DP-SGD: the {} node exposed no tensor '{}' (was it run with the cuDNN path?)", r.op,
              name);
}

// One recurrent parameter's operands: g (d_gates rows) and a (input or h_prev rows; undefined
// for a bias).
struct RnnTap {
  Tensor g, a;
};

RnnTap rnn_tap(const PerSampleClipper::Record& r, size_t input, int64_t batch) {
  const size_t num_params = r.node->next_edges().size() - 3;
  const int64_t input_size = tap(r, "input_l0").shape()[1];
  const kernels::RnnShape s = rnn_shape_of(*r.node, r.op, input_size, num_params);
  const auto info = kernels::rnn_parameters(s);
  STRAND_CHECK(info.size() == num_params && input >= 3 && input - 3 < info.size(),
               "DP-SGD: {} node input {} is not one of its {} parameters", r.op, input, num_params);
  const kernels::RnnParamInfo& pi = info[input - 3];
  const std::string suffix = rnn_tap_suffix(pi.layer, pi.dir);
  RnnTap t;
  switch (pi.kind) {
    case kernels::RnnParamKind::kWeightIh:
      t = {tap(r, "d_gates_ih_" + suffix), tap(r, "input_" + suffix)};
      break;
    case kernels::RnnParamKind::kWeightHh:
      t = {tap(r, "d_gates_hh_" + suffix), tap(r, "h_prev_" + suffix)};
      break;
    case kernels::RnnParamKind::kBiasIh:
      t = {tap(r, "d_gates_ih_" + suffix), Tensor()};
      break;
    case kernels::RnnParamKind::kBiasHh:
      t = {tap(r, "d_gates_hh_" + suffix), Tensor()};
      break;
  }
  STRAND_CHECK(t.g.shape()[0] % batch == 0, "DP-SGD: {} taps have {} rows, not a multiple of {}",
               r.op, t.g.shape()[0], batch);
  return t;
}

// g[i] += the i-th draw of kernels::cpu::normal(ctx, n, s, 0, sd) (the same numbers bit for bit, so
// the same as on CUDA), computing each Philox block and Box-Muller pair once instead of once per
// output: noise for millions of parameters is a visible part of a private step on the CPU.
template <typename T>
void add_normal_cpu(T* g, int64_t n, kernels::PhiloxState s, float sd) {
  const int64_t blocks = static_cast<int64_t>(kernels::philox_blocks(static_cast<uint64_t>(n)));
#pragma omp parallel for if (n > (1 << 14))
  for (int64_t b = 0; b < blocks; ++b) {
    const kernels::Philox4 block =
        kernels::philox4x32_10(s.offset + static_cast<uint64_t>(b), s.seed);
    for (int pair = 0; pair < 2; ++pair) {
      const int64_t i = 4 * b + 2 * pair;
      if (i >= n) break;
      // As kernels::philox_normal: u1 in (0, 1], u2 in [0, 1).
      const float u1 = (static_cast<float>(block.v[2 * pair] >> 8) + 1.0f) * (1.0f / 16777216.0f);
      const float u2 = static_cast<float>(block.v[2 * pair + 1] >> 8) * (1.0f / 16777216.0f);
      const float radius = sqrtf(-2.0f * logf(u1));
      const float angle = 6.283185307179586f * u2;
      const float z0 = radius * cosf(angle);
      g[i] += T(0.0f + sd * z0);
      if (i + 1 < n) {
        const float z1 = radius * sinf(angle);
        g[i + 1] += T(0.0f + sd * z1);
      }
    }
  }
}

}  // namespace

PerSampleClipper::PerSampleClipper(std::vector<std::pair<std::string, Tensor>> named_parameters,
                                   PerSampleOptions options)
    : params_(std::move(named_parameters)), options_(options) {
  STRAND_CHECK(options_.max_grad_norm > 0 && std::isfinite(options_.max_grad_norm),
               "DP-SGD: max_grad_norm (the clipping bound C) must be positive and finite, got {}",
               options_.max_grad_norm);
}

Tensor PerSampleClipper::backward(const Tensor& loss, int64_t batch_size, double loss_scale) {
  STRAND_CHECK(batch_size > 0, "DP-SGD: batch size must be positive, got {}", batch_size);
  STRAND_CHECK(loss.defined() && loss.grad_fn(),
               "DP-SGD: the loss has no graph (did the model run under NoGradGuard?)");
  // Which leaf accumulator belongs to which parameter.
  std::unordered_map<const Node*, size_t> accumulators;
  for (size_t k = 0; k < params_.size(); ++k) {
    const Tensor& p = params_[k].second;
    if (!p.requires_grad()) continue;
    if (auto acc = p.impl().accumulator.lock()) accumulators[acc.get()] = k;
  }

  // Walk the graph; every op that consumes a parameter becomes a record.
  std::vector<std::unique_ptr<Record>> records;
  std::unordered_map<size_t, std::string> used_by;
  {
    std::vector<std::shared_ptr<Node>> stack{loss.grad_fn()};
    std::unordered_set<const Node*> seen{loss.grad_fn().get()};
    while (!stack.empty()) {
      std::shared_ptr<Node> node = stack.back();
      stack.pop_back();
      if (node->name() == "batch_norm") {
        std::string layer = "a batch_norm op";
        for (const Edge& e : node->next_edges()) {
          if (e.node && accumulators.count(e.node.get()))
            layer = format("layer '{}'", layer_of(params_[accumulators[e.node.get()]].first));
        }
        STRAND_FAIL(
            "DP-SGD: {} is batch normalisation, which mixes the examples of a batch, so no "
            "per-example gradient (and no privacy guarantee) exists; use GroupNorm or LayerNorm "
            "instead (e.g. model basset-groupnorm)",
            layer);
      }
      Record* rec = nullptr;
      const auto& edges = node->next_edges();
      for (size_t i = 0; i < edges.size(); ++i) {
        const Edge& e = edges[i];
        if (!e.node) continue;
        // Follow views (a norm's per-channel weight is reshaped before it is multiplied).
        Node* target = e.node.get();
        bool through_view = false;
        while (is_view(*target) && target->next_edges()[0].node && !accumulators.count(target)) {
          target = target->next_edges()[0].node.get();
          through_view = true;
        }
        const auto it = accumulators.find(target);
        if (it == accumulators.end()) {
          if (seen.insert(e.node.get()).second) stack.push_back(e.node);
          continue;
        }
        const size_t k = it->second;
        const std::string& pname = params_[k].first;
        STRAND_CHECK(parameter_slot_ok(node->name(), i) &&
                         (!through_view || node->name() == "mul" || node->name() == "add"),
                     "DP-SGD: parameter '{}' is used by op '{}', for which per-example gradients "
                     "are not supported (supported: linear, conv1d, conv1d_bases, lstm, gru, and "
                     "the elementwise mul/add of norm affine parameters)",
                     pname, node->name());
        STRAND_CHECK(!used_by.count(k),
                     "DP-SGD: parameter '{}' is used by more than one op ('{}' and '{}'); "
                     "per-example norms need each parameter used once per step",
                     pname, used_by[k], node->name());
        used_by[k] = node->name();
        if (!rec) {
          records.push_back(std::make_unique<Record>());
          rec = records.back().get();
          rec->node = node;
          rec->op = node->name();
        }
        rec->uses.emplace_back(i, k);
      }
    }
  }

  // Hooks: skip each parameter's ordinary gradient; keep what the norms and the clipped sum need.
  for (auto& owned : records) {
    Record* rec = owned.get();
    Node& n = *rec->node;
    if ((rec->op == "mul" || rec->op == "add") && rec->uses.size() > 1) {
      STRAND_FAIL("DP-SGD: op '{}' multiplies two parameters ('{}' and '{}'); not supported",
                  rec->op, params_[rec->uses[0].second].first, params_[rec->uses[1].second].first);
    }
    for (const auto& [input, k] : rec->uses) n.skip_input_grad(input);
    if (is_rnn(rec->op)) n.set_attr(kRnnTapsAttr, {1});
    rec->hook_id = n.add_post_hook([rec](Node& node, Grads&, const Grads& grad_outputs) {
      rec->grad = grad_outputs[0];
      if (rec->op == "linear" || rec->op == "conv1d") {
        rec->input = node.saved("input");
      } else if (rec->op == "conv1d_bases") {
        rec->input = node.saved("bases");
      } else if (rec->op == "mul" || rec->op == "add") {
        const bool param_is_b = rec->uses[0].first == 1;
        rec->param_side_shape = node.saved(param_is_b ? "b" : "a").shape();
        if (rec->op == "mul") rec->input = node.saved(param_is_b ? "a" : "b");
      } else {
        for (const auto& [name, t] : node.saved_tensors()) {
          if (name.rfind("d_gates_", 0) == 0 || name.rfind("input_", 0) == 0 ||
              name.rfind("h_prev_", 0) == 0)
            rec->taps.emplace_back(name, t);
        }
      }
    });
  }

  {
    Tensor root_grad;
    {
      NoGradGuard no_grad;
      root_grad = ones_like(loss) * loss_scale;
    }
    runtime::backward({loss}, {root_grad});
  }
  for (auto& rec : records) rec->node->remove_hook(rec->hook_id);

  const int64_t n_batch = batch_size;
  NoGradGuard no_grad;
  const TensorOptions like{.dtype = loss.dtype(), .device = loss.device()};
  Tensor total = zeros({n_batch}, like);
  layers_.clear();
  const auto& forced = options_.method;

  // Pass 1: per-example squared norms of every parameter.
  for (auto& owned : records) {
    Record& r = *owned;
    STRAND_CHECK(r.grad.defined(), "DP-SGD: op '{}' received no output gradient", r.op);
    PerSampleLayerInfo info{r.op, "", ""};
    for (const auto& [input, k] : r.uses)
      info.parameters += (info.parameters.empty() ? "" : ", ") + params_[k].first;
    STRAND_CHECK(r.grad.dim() >= 1 && (is_rnn(r.op) || r.grad.shape()[0] == n_batch),
                 "DP-SGD: op '{}' (parameters {}) has an output of shape {} whose first dimension "
                 "is not the batch size {}",
                 r.op, info.parameters, r.grad.shape(), n_batch);
    r.grad = r.grad.contiguous();
    if (r.op == "linear") {
      const int64_t in = r.input.shape().back(), out = r.grad.shape().back();
      const int64_t positions = r.input.numel() / (n_batch * in);
      r.input = r.input.contiguous();
      const PerSampleShape s{n_batch, positions, in, out};
      const NormMethod m = pick(forced, s);
      info.method = kernels::norm_method_name(m);
      for (const auto& [input, k] : r.uses) {
        if (input == 1) {
          total =
              total + dense_norm(r.input, r.grad, s, positions * in, in, positions * out, out, m);
        } else {
          total = total + bias_norm(r.grad, s, positions * out, out, 1);
        }
      }
    } else if (r.op == "conv1d" || r.op == "conv1d_bases") {
      const bool bases = r.op == "conv1d_bases";
      const int64_t c_out = r.grad.shape()[1], l_out = r.grad.shape()[2];
      const kernels::Conv1dShape cs = conv_shape_of(
          *r.node, n_batch, bases ? 4 : r.input.shape()[1], r.input.shape()[bases ? 1 : 2], c_out);
      const PerSampleShape s = kernels::conv_per_sample_shape(cs);
      const NormMethod m = pick(forced, s);
      info.method = kernels::norm_method_name(m);
      const size_t weight_slot = bases ? 0 : 1;
      for (const auto& [input, k] : r.uses) {
        if (input == weight_slot) {
          Tensor out = empty({n_batch}, like);
          const kernels::Context ctx = context_for(r.grad.device());
          dispatch_norm(r.grad, [&](auto tag) {
            using T = decltype(tag);
            const SampleRows<T> g = rows<T>(r.grad, c_out * l_out, 1, l_out);
            if (bases) {
              STRAND_NORM_CALL(r.grad.device(), per_sample_norm_bases, ctx, cs,
                               r.input.data<uint8_t>(), g, m, out.data<T>());
            } else {
              STRAND_NORM_CALL(r.grad.device(), per_sample_norm_conv1d, ctx, cs, r.input.data<T>(),
                               g, m, out.data<T>());
            }
          });
          total = total + out;
        } else {
          total = total + bias_norm(r.grad, {n_batch, l_out, 1, c_out}, c_out * l_out, 1, l_out);
        }
      }
    } else if (r.op == "mul" || r.op == "add") {
      const Tensor prod = r.op == "mul" ? r.grad * r.input : r.grad;
      Shape per_shape(prod.dim(), 1);
      const Shape& b = r.param_side_shape;
      const int64_t offset = prod.dim() - static_cast<int64_t>(b.size());
      STRAND_CHECK(offset >= 1 || b[0] == 1,
                   "DP-SGD: parameter '{}' is broadcast over shape {} including the batch "
                   "dimension; not supported",
                   info.parameters, b);
      for (size_t d = 0; d < b.size(); ++d) per_shape[offset + d] = b[d];
      per_shape[0] = n_batch;
      const Tensor per_example = sum_to(prod, per_shape).reshape({n_batch, -1});
      r.per_example = {per_example};
      total = total + sum(per_example * per_example, {1});
      info.method = "elementwise";
    } else {  // lstm / gru: rows of the taps are (step, example), time-major
      for (const auto& [input, k] : r.uses) {
        const RnnTap t = rnn_tap(r, input, n_batch);
        const int64_t rows_n = t.g.shape()[0], gh = t.g.shape()[1];
        const int64_t steps = rows_n / n_batch;
        if (t.a.defined()) {
          const int64_t in = t.a.shape()[1];
          const PerSampleShape s{n_batch, steps, in, gh};
          const NormMethod m = pick(forced, s);
          info.method = kernels::norm_method_name(m);
          total = total + dense_norm(t.a, t.g, s, in, n_batch * in, gh, n_batch * gh, m);
        } else {
          total = total + bias_norm(t.g, {n_batch, steps, 1, gh}, gh, n_batch * gh, 1);
        }
      }
    }
    layers_.push_back(info);
  }

  // Clip factors min(1, C / ||g_i||) (an all-zero gradient keeps factor 1).
  const Tensor norms = sqrt(total);
  const Tensor factor = clamp(rdiv(norms, options_.max_grad_norm), 0.0, 1.0);

  // Pass 2: the clipped sums, one reweighted weight-gradient pass per layer.
  auto deposit = [&](size_t k, const Tensor& g) {
    Tensor& p = params_[k].second;
    const Tensor contribution = g.reshape(p.shape());
    Tensor current = p.grad();
    if (current.defined()) {
      add_(current, contribution);
    } else {
      p.set_grad(contribution.contiguous().clone());
    }
  };
  for (auto& owned : records) {
    Record& r = *owned;
    if (r.op == "linear") {
      const int64_t in = r.input.shape().back(), out = r.grad.shape().back();
      const Tensor gs = (r.grad * factor_for(factor, r.grad.dim(), 0)).reshape({-1, out});
      for (const auto& [input, k] : r.uses) {
        if (input == 1) {
          deposit(k, matmul(gs.transpose(0, 1), r.input.reshape({-1, in})));
        } else {
          deposit(k, sum(gs, {0}));
        }
      }
    } else if (r.op == "conv1d" || r.op == "conv1d_bases") {
      const bool bases = r.op == "conv1d_bases";
      const Tensor gs = (r.grad * factor_for(factor, 3, 0)).contiguous();
      const int64_t c_out = gs.shape()[1];
      const kernels::Conv1dShape cs = conv_shape_of(
          *r.node, n_batch, bases ? 4 : r.input.shape()[1], r.input.shape()[bases ? 1 : 2], c_out);
      const size_t weight_slot = bases ? 0 : 1;
      const kernels::Context ctx = context_for(gs.device());
      for (const auto& [input, k] : r.uses) {
        const Tensor& p = params_[k].second;
        Tensor out = empty(p.shape(), like);
        dispatch_norm(gs, [&](auto tag) {
          using T = decltype(tag);
          const bool cuda = gs.is_cuda();
          if (input != weight_slot) {
            if (cuda) {
              if constexpr (std::is_same_v<T, float>)
                STRAND_CUDA_CALL(kernels::cuda::conv1d_backward_bias<T>(ctx, cs, gs.data<T>(),
                                                                        out.data<T>(), false));
            } else {
              kernels::cpu::conv1d_backward_bias<T>(ctx, cs, gs.data<T>(), out.data<T>());
            }
          } else if (bases) {
            constexpr auto kCodes = kernels::BaseEncoding::kCodes;
            if (cuda) {
              if constexpr (std::is_same_v<T, float>)
                STRAND_CUDA_CALL(kernels::cuda::conv1d_onehot_backward_weight<T>(
                    ctx, cs, kCodes, r.input.data<uint8_t>(), gs.data<T>(), out.data<T>(), false));
            } else {
              kernels::cpu::conv1d_onehot_backward_weight<T>(
                  ctx, cs, kCodes, r.input.data<uint8_t>(), gs.data<T>(), out.data<T>(), false);
            }
          } else {
            if (cuda) {
              if constexpr (std::is_same_v<T, float>)
                STRAND_CUDA_CALL(kernels::cuda::conv1d_backward_weight<T>(
                    ctx, cs, r.input.data<T>(), gs.data<T>(), out.data<T>(), false));
            } else {
              kernels::cpu::conv1d_backward_weight<T>(ctx, cs, r.input.data<T>(), gs.data<T>(),
                                                      out.data<T>());
            }
          }
        });
        deposit(k, out);
      }
    } else if (r.op == "mul" || r.op == "add") {
      deposit(r.uses[0].second, sum(r.per_example[0] * factor_for(factor, 2, 0), {0}));
    } else {
      std::unordered_map<const void*, Tensor> scaled_taps;
      for (const auto& [input, k] : r.uses) {
        const RnnTap t = rnn_tap(r, input, n_batch);
        const int64_t rows_n = t.g.shape()[0], gh = t.g.shape()[1];
        // A weight and its bias share d_gates: scale each tap once.
        Tensor& gs = scaled_taps[t.g.raw_data()];
        if (!gs.defined()) {
          gs = (t.g.view({rows_n / n_batch, n_batch, gh}) * factor_for(factor, 3, 1))
                   .reshape({rows_n, gh});
        }
        deposit(k, t.a.defined() ? matmul(gs.transpose(0, 1), t.a) : sum(gs, {0}));
      }
    }
  }
  return norms;
}

void PerSampleClipper::add_noise(Generator& gen, double noise_multiplier,
                                 double expected_batch_size) {
  STRAND_CHECK(noise_multiplier >= 0 && std::isfinite(noise_multiplier),
               "DP-SGD: noise_multiplier (sigma) must be >= 0 and finite, got {}",
               noise_multiplier);
  STRAND_CHECK(expected_batch_size > 0, "DP-SGD: expected batch size must be positive, got {}",
               expected_batch_size);
  NoGradGuard no_grad;
  const double std = noise_multiplier * options_.max_grad_norm;
  for (auto& [name, p] : params_) {
    if (!p.requires_grad()) continue;
    Tensor g = p.grad();
    if (!g.defined()) {
      g = zeros_like(p);
      p.set_grad(g);
    }
    if (std > 0 && !g.is_cuda() && g.is_contiguous() &&
        (g.dtype() == DType::kF32 || g.dtype() == DType::kF64)) {
      const kernels::PhiloxState state = gen.next(static_cast<uint64_t>(g.numel()));
      if (g.dtype() == DType::kF32)
        add_normal_cpu(g.data<float>(), g.numel(), state, static_cast<float>(std));
      else
        add_normal_cpu(g.data<double>(), g.numel(), state, static_cast<float>(std));
    } else if (std > 0) {
      Tensor noise = empty(p.shape(), {.dtype = p.dtype(), .device = p.device()});
      const kernels::PhiloxState state = gen.next(static_cast<uint64_t>(noise.numel()));
      const kernels::Context ctx = context_for(noise.device());
      dispatch_floating(noise.dtype(), "DP-SGD noise", [&](auto tag) {
        using T = decltype(tag);
        STRAND_DISPATCH_DEVICE(noise.device(), normal<T>, ctx, noise.numel(), state, 0.0, std,
                               noise.data<T>());
      });
      add_(g, noise);
    }
    g.copy_(g / expected_batch_size);
  }
}

}  // namespace strand::runtime
