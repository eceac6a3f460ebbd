// The DP-SGD engine (see per_sample.h): the graph walk over the ops' per-example rules
// (runtime/per_example.h), the hooks, the clip factors and the noise.
#include "runtime/per_sample.h"

#include <cmath>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "kernels/random/philox.h"
#include "kernels/random/random.h"
#include "runtime/autograd.h"
#include "runtime/dispatch.h"
#include "runtime/ops.h"
#include "runtime/per_example.h"

namespace strand::runtime {

struct PerSampleClipper::Record {
  std::shared_ptr<Node> node;
  const PerExampleRule* rule = nullptr;
  std::vector<std::pair<size_t, size_t>> uses;  // (node input, parameter index)
  int hook_id = -1;
  std::unique_ptr<PerExampleGrads> captured;  // by the post-hook, while saved state is alive
};

namespace {

bool is_view(const Node& n) {
  return n.per_example() && n.per_example()->is_view() && n.next_edges().size() == 1;
}

std::string layer_of(const std::string& param_name) {
  const size_t dot = param_name.rfind('.');
  return dot == std::string::npos ? param_name : param_name.substr(0, dot);
}

// g[i] += the i-th draw of kernels::cpu::normal(n, s, 0, sd) (the same numbers bit for bit, so
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

  // Walk the graph; every op that consumes a parameter becomes a record. This is the one place
  // DP-SGD refuses a model (DpSgdUnsupported).
  std::vector<std::unique_ptr<Record>> records;
  std::unordered_map<size_t, std::string> used_by;
  std::shared_ptr<Node> refused;  // an op whose rule refuses DP-SGD
  {
    std::vector<std::shared_ptr<Node>> stack{loss.grad_fn()};
    std::unordered_set<const Node*> seen{loss.grad_fn().get()};
    while (!stack.empty()) {
      std::shared_ptr<Node> node = stack.back();
      stack.pop_back();
      const PerExampleRule* rule = node->per_example();
      if (rule && !rule->refusal().empty() &&
          (!refused || node->sequence_nr() < refused->sequence_nr()))
        refused = node;  // the first in forward order is named
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
        if (rule && !rule->refusal().empty()) continue;  // refused as a whole after the walk
        const size_t k = it->second;
        const std::string& pname = params_[k].first;
        if (!rule || !rule->parameter_slot(i, through_view)) {
          STRAND_DP_SGD_UNSUPPORTED(
              "DP-SGD: layer '{}': parameter '{}' is input {}{} of op '{}', which has no "
              "per-example rule for it (the rules live beside each op in runtime/ops)",
              layer_of(pname), pname, i, through_view ? " (through a view)" : "", node->name());
        }
        STRAND_CHECK(!used_by.count(k),
                     "DP-SGD: parameter '{}' is used by more than one op ('{}' and '{}'); "
                     "per-example norms need each parameter used once per step",
                     pname, used_by[k], node->name());
        used_by[k] = node->name();
        if (!rec) {
          records.push_back(std::make_unique<Record>());
          rec = records.back().get();
          rec->node = node;
          rec->rule = rule;
        }
        rec->uses.emplace_back(i, k);
        if (rec->uses.size() > rule->max_parameters()) {
          STRAND_DP_SGD_UNSUPPORTED(
              "DP-SGD: layer '{}': op '{}' takes {} parameters ('{}' and '{}'); its "
              "per-example rule covers {}",
              layer_of(pname), node->name(), rec->uses.size(), params_[rec->uses[0].second].first,
              pname, rule->max_parameters());
        }
      }
    }
  }

  if (refused) {
    std::string layer = format("op '{}'", refused->name());
    for (const Edge& e : refused->next_edges()) {
      if (e.node && accumulators.count(e.node.get()))
        layer = format("layer '{}'", layer_of(params_[accumulators[e.node.get()]].first));
    }
    STRAND_DP_SGD_UNSUPPORTED("DP-SGD: {} is {}", layer, refused->per_example()->refusal());
  }

  // Hooks: skip each parameter's ordinary gradient; the rule keeps what the norms and the
  // clipped sum need.
  for (auto& owned : records) {
    Record* rec = owned.get();
    Node& n = *rec->node;
    std::vector<size_t> slots;
    for (const auto& [input, k] : rec->uses) {
      n.skip_input_grad(input);
      slots.push_back(input);
    }
    rec->rule->prepare();
    rec->hook_id = n.add_post_hook([rec, slots](Node& node, Grads&, const Grads& grad_outputs) {
      rec->captured = rec->rule->capture(node, slots, grad_outputs);
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

  NoGradGuard no_grad;
  const TensorOptions like{.dtype = loss.dtype(), .device = loss.device()};
  Tensor total = zeros({batch_size}, like);
  layers_.clear();
  std::vector<PerExampleContext> contexts;

  // Pass 1: per-example squared norms of every parameter.
  for (auto& owned : records) {
    Record& r = *owned;
    PerExampleContext ctx{batch_size, options_.method, r.node->name(), ""};
    for (const auto& [input, k] : r.uses)
      ctx.parameters += (ctx.parameters.empty() ? "" : ", ") + params_[k].first;
    STRAND_CHECK(r.captured != nullptr, "DP-SGD: op '{}' received no output gradient", ctx.op);
    const std::string method = r.captured->add_squared_norms(ctx, total);
    layers_.push_back({ctx.op, ctx.parameters, method});
    contexts.push_back(std::move(ctx));
  }

  // Clip factors min(1, C / ||g_i||) (an all-zero gradient keeps factor 1).
  const Tensor norms = sqrt(total);
  const Tensor factor = clamp(rdiv(norms, options_.max_grad_norm), 0.0, 1.0);

  // Pass 2: the clipped sums, one reweighted weight-gradient pass per layer, into .grad.
  for (size_t j = 0; j < records.size(); ++j) {
    Record& r = *records[j];
    const std::vector<Tensor> sums = r.captured->clipped_sums(contexts[j], factor);
    for (size_t u = 0; u < r.uses.size(); ++u) {
      Tensor& p = params_[r.uses[u].second].second;
      const Tensor contribution = sums[u].reshape(p.shape());
      Tensor current = p.grad();
      if (current.defined()) {
        add_(current, contribution);
      } else {
        p.set_grad(contribution.contiguous().clone());
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
