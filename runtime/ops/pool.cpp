// Dropout, 1D pooling and the losses.
#include "kernels/pool/pool.h"

#include <limits>

#include "kernels/elementwise/elementwise.h"
#include "kernels/random/random.h"
#include "runtime/autograd.h"
#include "runtime/batch_share.h"
#include "runtime/deeplift.h"
#include "runtime/dispatch.h"
#include "runtime/ops.h"

namespace strand::runtime {

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  STRAND_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability must be in [0, 1], got {}", p);
  check_floating_same("dropout", {&x});
  if (!training || p == 0.0) return x;
  if (p == 1.0) return mul(x, 0.0);
  // A data-parallel rank holding rows [first, first + rows) of the global batch draws the global
  // tensor's numbers from the first of its elements (aligned down to a Philox block) on.
  const BatchShare& share = batch_share();
  const bool shared = share.global > 0 && x.dim() >= 1 && share.rows > 0 && x.size(0) == share.rows;
  const int64_t per_row = shared ? x.numel() / share.rows : 0;
  const int64_t skip = shared ? (share.first * per_row) % 4 : 0;
  kernels::PhiloxState state =
      gen.next(static_cast<uint64_t>(shared ? share.global * per_row : x.numel()));
  if (shared) state.offset += static_cast<uint64_t>(share.first * per_row / 4);
  Tensor mask = empty({x.numel() + skip}, {.dtype = x.dtype(), .device = x.device()});
  const kernels::Context ctx = context_for(x.device());
  dispatch_floating(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    STRAND_DISPATCH_DEVICE(x.device(), bernoulli_mask<T>, ctx, mask.numel(), state, 1.0 - p,
                           1.0 / (1.0 - p), mask.data<T>());
  });
  return mul(x, mask.slice(0, skip, skip + x.numel()).view(x.shape()));
}

namespace {

// x [N, C, L] or [C, L] as pooling rows.
kernels::Pool1dShape pool_shape(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding,
                                const char* op) {
  STRAND_CHECK(x.dim() == 2 || x.dim() == 3, "{}: input must be [N, C, L] or [C, L], got shape {}",
               op, x.shape());
  kernels::Pool1dShape s;
  s.length = x.shape().back();
  s.rows = x.numel() / std::max<int64_t>(s.length, 1);
  s.kernel = kernel;
  s.stride = stride < 0 ? kernel : stride;
  s.padding = padding;
  kernels::check_pool1d(s);
  return s;
}

Shape pooled_shape(const Tensor& x, const kernels::Pool1dShape& s) {
  Shape shape = x.shape();
  shape.back() = s.out_length();
  return shape;
}

}  // namespace

Tensor max_pool1d(const Tensor& x_in, int64_t kernel, int64_t stride, int64_t padding) {
  check_floating_same("max_pool1d", {&x_in});
  const kernels::Pool1dShape s = pool_shape(x_in, kernel, stride, padding, "max_pool1d");
  const Tensor x = x_in.contiguous();
  Tensor y = empty(pooled_shape(x, s), {.dtype = x.dtype(), .device = x.device()});
  Tensor index = empty(y.shape(), {.dtype = DType::kI64, .device = x.device()});
  const kernels::Context ctx = context_for(x.device());
  dispatch_floating(x.dtype(), "max_pool1d", [&](auto tag) {
    using T = decltype(tag);
    STRAND_DISPATCH_DEVICE(x.device(), max_pool1d<T>, ctx, s, x.data<T>(), y.data<T>(),
                           index.data<int64_t>());
  });
  const Shape in_shape = x.shape();
  // Scatters dy [.., out] to the input positions in index (the gradient when index is the argmax).
  const auto unpool = [s, in_shape](const Tensor& dy_in, const Tensor& index) {
    const Tensor dy = dy_in.contiguous();
    Tensor dx = empty(in_shape, {.dtype = dy.dtype(), .device = dy.device()});
    const kernels::Context ctx = context_for(dy.device());
    dispatch_floating(dy.dtype(), "max_pool1d_backward", [&](auto tag) {
      using T = decltype(tag);
      STRAND_DISPATCH_DEVICE(dy.device(), max_pool1d_backward<T>, ctx, s, dy.data<T>(),
                             index.data<int64_t>(), dx.data<T>());
    });
    return dx;
  };
  auto node = record_node("max_pool1d", {&x_in}, 1, [unpool](Node& n, const Grads& g) -> Grads {
    return {unpool(g[0], n.saved("indices"))};
  });
  if (node) {
    node->save("indices", index);
    if (deeplift_saving()) {
      node->save("input", x);
      node->save("output", y);
    }
    node->set_attr("kernel", {s.kernel});
    node->set_attr("stride", {s.stride});
    node->set_attr("padding", {s.padding});
    // DeepLIFT, as Captum and tangermeme: with m = max(y, y_ref), m - y_ref goes to the input's
    // argmax and y - m to the reference's; each position's sum over delta x is its multiplier.
    node->set_deeplift([unpool](Node& n, Node& ref, const Grads& g) -> Grads {
      const Tensor &y = n.saved("output"), &yr = ref.saved("output");
      const Tensor m = maximum(y, yr);
      const Tensor contribution = unpool(g[0] * (m - yr), n.saved("indices")) +
                                  unpool(g[0] * (y - m), ref.saved("indices"));
      // A position's routed change is bounded by its own change: only an exact zero falls back.
      return {deeplift_rescale(n.saved("input") - ref.saved("input"), contribution,
                               unpool(g[0], n.saved("indices")),
                               std::numeric_limits<float>::denorm_min())};
    });
  }
  set_outputs(node, {&y});
  return y;
}

Tensor avg_pool1d(const Tensor& x_in, int64_t kernel, int64_t stride, int64_t padding) {
  check_floating_same("avg_pool1d", {&x_in});
  const kernels::Pool1dShape s = pool_shape(x_in, kernel, stride, padding, "avg_pool1d");
  const Tensor x = x_in.contiguous();
  Tensor y = empty(pooled_shape(x, s), {.dtype = x.dtype(), .device = x.device()});
  const kernels::Context ctx = context_for(x.device());
  dispatch_floating(x.dtype(), "avg_pool1d", [&](auto tag) {
    using T = decltype(tag);
    STRAND_DISPATCH_DEVICE(x.device(), avg_pool1d<T>, ctx, s, x.data<T>(), y.data<T>());
  });
  const Shape in_shape = x.shape();
  auto node = record_node("avg_pool1d", {&x_in}, 1, [s, in_shape](Node&, const Grads& g) -> Grads {
    const Tensor dy = g[0].contiguous();
    Tensor dx = empty(in_shape, {.dtype = dy.dtype(), .device = dy.device()});
    const kernels::Context ctx = context_for(dy.device());
    dispatch_floating(dy.dtype(), "avg_pool1d_backward", [&](auto tag) {
      using T = decltype(tag);
      STRAND_DISPATCH_DEVICE(dy.device(), avg_pool1d_backward<T>, ctx, s, dy.data<T>(),
                             dx.data<T>());
    });
    return {dx};
  });
  if (node) {
    node->set_deeplift_linear();
    node->set_attr("kernel", {s.kernel});
    node->set_attr("stride", {s.stride});
    node->set_attr("padding", {s.padding});
  }
  set_outputs(node, {&y});
  return y;
}

namespace {

Tensor reduce_loss(const Tensor& per_element, Reduction reduction) {
  switch (reduction) {
    case Reduction::kMean:
      return mean(per_element);
    case Reduction::kSum:
      return sum(per_element);
    case Reduction::kNone:
      return per_element;
  }
  return per_element;
}

void check_targets(const char* op, const Tensor& input, const Tensor& target) {
  check_floating_same(op, {&input, &target});
  STRAND_CHECK(input.shape() == target.shape(), "{}: input shape {} and target shape {} differ", op,
               input.shape(), target.shape());
  STRAND_CHECK(!target.requires_grad(), "{}: targets must not require grad", op);
}

}  // namespace

Tensor binary_cross_entropy_with_logits(const Tensor& logits_in, const Tensor& targets_in,
                                        const Tensor& pos_weight_in, Reduction reduction) {
  const char* op = "binary_cross_entropy_with_logits";
  check_targets(op, logits_in, targets_in);
  check_floating_same(op, {&logits_in, &pos_weight_in});
  const int64_t tasks = logits_in.dim() ? logits_in.shape().back() : 1;
  STRAND_CHECK(!pos_weight_in.defined() || pos_weight_in.shape() == Shape{tasks},
               "{}: pos_weight must have shape [{}] (one weight per task), got {}", op, tasks,
               pos_weight_in.defined() ? pos_weight_in.shape() : Shape{});
  const Tensor x = logits_in.contiguous(), y = targets_in.contiguous();
  const Tensor w = pos_weight_in.defined() ? pos_weight_in.contiguous() : Tensor();
  Tensor loss = empty_like(x);
  const kernels::Context ctx = context_for(x.device());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    STRAND_DISPATCH_DEVICE(x.device(), bce_with_logits<T>, ctx, x.numel(), tasks, x.data<T>(),
                           y.data<T>(), w.defined() ? w.data<T>() : nullptr, loss.data<T>());
  });
  auto node = record_node(op, {&logits_in}, 1, [tasks, op](Node& n, const Grads& g) -> Grads {
    const Tensor& x = n.saved("logits");
    const Tensor& y = n.saved("targets");
    const Tensor w = n.has_saved("pos_weight") ? n.saved("pos_weight") : Tensor();
    const Tensor dl = g[0].contiguous();
    Tensor dx = empty_like(x);
    const kernels::Context ctx = context_for(x.device());
    dispatch_floating(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      STRAND_DISPATCH_DEVICE(x.device(), bce_with_logits_backward<T>, ctx, x.numel(), tasks,
                             x.data<T>(), y.data<T>(), w.defined() ? w.data<T>() : nullptr,
                             dl.data<T>(), dx.data<T>());
    });
    return {dx};
  });
  if (node) {
    node->save("logits", x);
    node->save("targets", y);
    if (w.defined()) node->save("pos_weight", w);
  }
  set_outputs(node, {&loss});
  return reduce_loss(loss, reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, Reduction reduction) {
  check_floating_same("cross_entropy", {&logits});
  check_same_device("cross_entropy", {&logits, &targets});
  check_dtype("cross_entropy", "targets (class indices)", targets, DType::kI64);
  STRAND_CHECK(logits.dim() == 2, "cross_entropy: logits must be [N, C], got shape {}",
               logits.shape());
  STRAND_CHECK(targets.shape() == Shape{logits.shape()[0]},
               "cross_entropy: targets must have shape [{}] (one class per row), got {}",
               logits.shape()[0], targets.shape());
  if (!targets.is_cuda()) {  // a clear message naming the row; CUDA's gather reports the position
    const int64_t classes = logits.shape()[1];
    const std::vector<int64_t> t = targets.to_vector<int64_t>();
    for (size_t i = 0; i < t.size(); ++i) {
      STRAND_CHECK(t[i] >= 0 && t[i] < classes,
                   "cross_entropy: target class {} at row {} is out of range for {} classes", t[i],
                   i, classes);
    }
  }
  const Tensor picked = gather(log_softmax(logits, 1), 1, targets.unsqueeze(1)).squeeze(1);
  return reduce_loss(neg(picked), reduction);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_targets("mse_loss", input, target);
  const Tensor diff = sub(input, target);
  return reduce_loss(mul(diff, diff), reduction);
}

Tensor poisson_nll_loss(const Tensor& log_rate, const Tensor& target, Reduction reduction) {
  check_targets("poisson_nll_loss", log_rate, target);
  return reduce_loss(sub(exp(log_rate), mul(target, log_rate)), reduction);
}

}  // namespace strand::runtime
