// Fused batch normalisation on the kernels/batch_norm family, and batch norm + ReLU + max pooling
// as one node (kernels/batch_norm/batch_norm_relu_pool.h).
#include "kernels/batch_norm/batch_norm.h"

#include <cmath>
#include <vector>

#include "kernels/batch_norm/batch_norm_relu_pool.h"
#include "runtime/autograd.h"
#include "runtime/dispatch.h"
#include "runtime/ops.h"
#include "runtime/per_example.h"

namespace strand::runtime {
namespace {

kernels::BatchNormShape check_batch_norm(const char* op, const Tensor& x, const Tensor& weight,
                                         const Tensor& bias, const Tensor& running_mean,
                                         const Tensor& running_var) {
  check_floating_same(op, {&x, &weight, &bias, &running_mean, &running_var});
  STRAND_CHECK(x.dim() == 2 || x.dim() == 3, "{}: input must be [N, C] or [N, C, L], got shape {}",
               op, x.shape());
  const kernels::BatchNormShape s{x.shape()[0], x.shape()[1], x.dim() == 3 ? x.shape()[2] : 1};
  const Shape channel_shape{s.channels};
  for (const Tensor* t : {&weight, &bias, &running_mean, &running_var}) {
    STRAND_CHECK(!t->defined() || t->shape() == channel_shape,
                 "{}: per-channel tensors must have shape [{}], got {}", op, s.channels,
                 t->defined() ? t->shape() : Shape{});
  }
  return s;
}

void check_batch_statistics(const char* op, const kernels::BatchNormShape& s, const Tensor& x) {
  STRAND_CHECK(s.batch * s.length > 1,
               "{}: training needs more than one value per channel, got input of shape {}", op,
               x.shape());
}

// running = running * (1 - momentum) + batch * momentum, with the unbiased batch variance.
void update_running_stats(const kernels::BatchNormShape& s, const Tensor& mean,
                          const Tensor& invstd, const Tensor& running_mean,
                          const Tensor& running_var, double momentum, double eps) {
  if (!running_mean.defined() || !running_var.defined()) return;
  NoGradGuard no_grad;
  const double m = static_cast<double>(s.batch * s.length);
  const Tensor batch_var = (rdiv(invstd * invstd, 1.0) - eps) * (m / (m - 1));  // unbiased
  Tensor rm = running_mean, rv = running_var;
  rm.copy_(rm * (1 - momentum) + mean * momentum);
  rv.copy_(rv * (1 - momentum) + batch_var * momentum);
}

// What both training nodes save for their backward passes (the names stay in this file).
struct BatchNormSaved {
  Tensor input, weight, mean, invstd;  // weight undefined without an affine scale
  Tensor affine;                       // the fused node only: [C, 2] f64 scale and shift
  void save(Node& n) const {
    n.save("input", input);
    if (weight.defined()) n.save("weight", weight);
    n.save("mean", mean);
    n.save("invstd", invstd);
    if (affine.defined()) n.save("affine", affine);
  }
  static BatchNormSaved of(const Node& n) {
    return {n.saved("input"), n.has_saved("weight") ? n.saved("weight") : Tensor(), n.saved("mean"),
            n.saved("invstd"), n.has_saved("affine") ? n.saved("affine") : Tensor()};
  }
};

// DP-SGD refuses both training nodes, whatever their parameters: batch statistics make every
// example's output depend on the others, so no per-example gradient exists for any layer below.
const std::shared_ptr<const PerExampleRule>& batch_norm_per_example() {
  static const auto rule = per_example_refusal(
      "BatchNorm1d (batch normalisation), which mixes the examples of a batch, so no per-example "
      "gradient (and no privacy guarantee) exists; use GroupNorm or LayerNorm instead (e.g. model "
      "basset-groupnorm)");
  return rule;
}

// t's data, or null for an undefined (optional or not needed) tensor.
template <typename T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

Tensor batch_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  double momentum, double eps) {
  const kernels::BatchNormShape s =
      check_batch_norm("batch_norm", x_in, weight, bias, running_mean, running_var);
  const Shape channel_shape{s.channels};
  if (!training) {
    STRAND_CHECK(running_mean.defined() && running_var.defined(),
                 "batch_norm: evaluation needs running statistics");
    // Differentiable through plain ops: eval-mode normalisation is an affine map of x.
    const Shape b = x_in.dim() == 3 ? Shape{s.channels, 1} : Shape{s.channels};
    Tensor y =
        (x_in - running_mean.detach().reshape(b)) / sqrt(running_var.detach().reshape(b) + eps);
    if (weight.defined()) y = y * weight.reshape(b);
    if (bias.defined()) y = y + bias.reshape(b);
    return y;
  }
  check_batch_statistics("batch_norm", s, x_in);
  const Tensor x = x_in.contiguous();
  const Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  const Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = empty_like(x);
  const TensorOptions like{.dtype = x.dtype(), .device = x.device()};
  Tensor mean = empty(channel_shape, like), invstd = empty(channel_shape, like);
  const kernels::Context ctx = context_for(x.device());
  dispatch_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    STRAND_DISPATCH_DEVICE(x.device(), batch_norm_forward<T>, ctx, s, x.data<T>(),
                           w.defined() ? w.data<T>() : nullptr, b.defined() ? b.data<T>() : nullptr,
                           eps, y.data<T>(), mean.data<T>(), invstd.data<T>());
  });
  update_running_stats(s, mean, invstd, running_mean, running_var, momentum, eps);
  auto node =
      record_node("batch_norm", {&x_in, &weight, &bias}, 1, [s](Node& n, const Grads& g) -> Grads {
        const BatchNormSaved saved = BatchNormSaved::of(n);
        const Tensor &x = saved.input, &w = saved.weight, &mean = saved.mean,
                     &invstd = saved.invstd;
        const Tensor dy = g[0].contiguous();
        Tensor dx = n.needs_input_grad(0) ? empty_like(x) : Tensor();
        Tensor dgamma = n.needs_input_grad(1) ? empty_like(mean) : Tensor();
        Tensor dbeta = n.needs_input_grad(2) ? empty_like(mean) : Tensor();
        const kernels::Context ctx = context_for(dy.device());
        dispatch_floating(dy.dtype(), "batch_norm backward", [&](auto tag) {
          using T = decltype(tag);
          STRAND_DISPATCH_DEVICE(dy.device(), batch_norm_backward<T>, ctx, s, x.data<T>(),
                                 dy.data<T>(), data_or_null<T>(w), mean.data<T>(), invstd.data<T>(),
                                 data_or_null<T>(dx), data_or_null<T>(dgamma),
                                 data_or_null<T>(dbeta));
        });
        return {dx, dgamma, dbeta};
      });
  if (node) {
    BatchNormSaved{x, w, mean, invstd, Tensor()}.save(*node);
    node->set_per_example(batch_norm_per_example());
  }
  set_outputs(node, {&y});
  return y;
}

Tensor batch_norm_relu_max_pool1d(const Tensor& x_in, const Tensor& weight, const Tensor& bias,
                                  const Tensor& running_mean, const Tensor& running_var,
                                  double momentum, double eps, int64_t kernel, int64_t stride,
                                  int64_t padding) {
  const char* op = "batch_norm_relu_max_pool1d";
  const kernels::BatchNormShape norm =
      check_batch_norm(op, x_in, weight, bias, running_mean, running_var);
  STRAND_CHECK(x_in.dim() == 3, "{}: input must be [N, C, L], got shape {}", op, x_in.shape());
  if (x_in.is_cuda()) {
    // No CUDA kernel: the unfused chain (the same values, one node per op).
    return max_pool1d(
        relu(batch_norm(x_in, weight, bias, running_mean, running_var, true, momentum, eps)),
        kernel, stride, padding);
  }
  check_batch_statistics(op, norm, x_in);
  const kernels::BatchNormReluPoolShape s{
      .norm = norm, .kernel = kernel, .stride = stride < 0 ? kernel : stride, .padding = padding};
  kernels::check_pool1d(s.pool());
  const Tensor x = x_in.contiguous();
  const Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  const Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  const TensorOptions like{.dtype = x.dtype(), .device = x.device()};
  Tensor y = empty({norm.batch, norm.channels, s.out_length()}, like);
  Tensor mean = empty({norm.channels}, like), invstd = empty({norm.channels}, like);
  Tensor affine = empty({norm.channels, 2}, {.dtype = DType::kF64, .device = x.device()});
  const kernels::Context ctx = context_for(x.device());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::batch_norm_relu_max_pool_forward<T>(
        ctx, s, x.data<T>(), w.defined() ? w.data<T>() : nullptr,
        b.defined() ? b.data<T>() : nullptr, eps, y.data<T>(), mean.data<T>(), invstd.data<T>(),
        affine.data<double>());
  });
  update_running_stats(norm, mean, invstd, running_mean, running_var, momentum, eps);
  auto node =
      record_node(op, {&x_in, &weight, &bias}, 1, [s, op](Node& n, const Grads& g) -> Grads {
        const BatchNormSaved saved = BatchNormSaved::of(n);
        const Tensor &x = saved.input, &w = saved.weight, &mean = saved.mean,
                     &invstd = saved.invstd, &affine = saved.affine;
        const Tensor dy = g[0].contiguous();
        Tensor dx = n.needs_input_grad(0) ? empty_like(x) : Tensor();
        Tensor dgamma = n.needs_input_grad(1) ? empty_like(mean) : Tensor();
        Tensor dbeta = n.needs_input_grad(2) ? empty_like(mean) : Tensor();
        const kernels::Context ctx = context_for(dy.device());
        dispatch_floating(dy.dtype(), op, [&](auto tag) {
          using T = decltype(tag);
          kernels::cpu::batch_norm_relu_max_pool_backward<T>(
              ctx, s, x.data<T>(), dy.data<T>(), data_or_null<T>(w), mean.data<T>(),
              invstd.data<T>(), affine.data<double>(), data_or_null<T>(dx), data_or_null<T>(dgamma),
              data_or_null<T>(dbeta));
        });
        return {dx, dgamma, dbeta};
      });
  if (node) {
    BatchNormSaved{x, w, mean, invstd, affine}.save(*node);
    node->set_per_example(batch_norm_per_example());
    node->set_attr("kernel", {s.kernel});
    node->set_attr("stride", {s.stride});
    node->set_attr("padding", {s.padding});
  }
  set_outputs(node, {&y});
  return y;
}

Tensor relu_max_pool1d_inference(const Tensor& x_in, int64_t kernel, int64_t stride,
                                 int64_t padding, const Tensor& weight, const Tensor& bias,
                                 const Tensor& running_mean, const Tensor& running_var,
                                 double eps) {
  const char* op = "relu_max_pool1d_inference";
  STRAND_CHECK(!grad_enabled(), "{}: records no gradient; call it under NoGradGuard", op);
  STRAND_CHECK(!x_in.is_cuda(), "{}: CPU tensors only", op);
  STRAND_CHECK(x_in.dim() == 3, "{}: input must be [N, C, L], got shape {}", op, x_in.shape());
  const bool normalize = running_mean.defined() || running_var.defined();
  const kernels::BatchNormShape norm =
      check_batch_norm(op, x_in, weight, bias, running_mean, running_var);
  STRAND_CHECK(!normalize || (running_mean.defined() && running_var.defined()),
               "{}: needs both running statistics or neither", op);
  const kernels::BatchNormReluPoolShape s{
      .norm = norm, .kernel = kernel, .stride = stride < 0 ? kernel : stride, .padding = padding};
  kernels::check_pool1d(s.pool());
  // Eval-mode batch norm as y = x * scale + shift per channel, in double.
  std::vector<double> scale, shift;
  if (normalize) {
    auto values = [&](const Tensor& t, double fill) {
      std::vector<double> v(norm.channels, fill);
      if (t.defined()) {
        const Tensor d = t.detach().to(DType::kF64).contiguous();
        std::copy(d.data<double>(), d.data<double>() + norm.channels, v.begin());
      }
      return v;
    };
    const std::vector<double> mean = values(running_mean, 0.0), var = values(running_var, 1.0),
                              w = values(weight, 1.0), b = values(bias, 0.0);
    scale.resize(norm.channels), shift.resize(norm.channels);
    for (int64_t c = 0; c < norm.channels; ++c) {
      scale[c] = w[c] / std::sqrt(var[c] + eps);
      shift[c] = b[c] - mean[c] * scale[c];
    }
  }
  const Tensor x = x_in.contiguous();
  Tensor y = empty({norm.batch, norm.channels, s.out_length()}, {.dtype = x.dtype()});
  const kernels::Context ctx = context_for(x.device());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::affine_relu_max_pool_inference<T>(
        ctx, s, x.data<T>(), normalize ? scale.data() : nullptr, normalize ? shift.data() : nullptr,
        y.data<T>());
  });
  return y;
}

}  // namespace strand::runtime
