// Fused batch normalisation on the kernels/batch_norm family.
#include "kernels/batch_norm.h"
#include "runtime/autograd.h"
#include "runtime/dispatch.h"
#include "runtime/ops.h"

namespace strand::runtime {

Tensor batch_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  double momentum, double eps) {
  check_floating_same("batch_norm", {&x_in, &weight, &bias, &running_mean, &running_var});
  STRAND_CHECK(x_in.dim() == 2 || x_in.dim() == 3,
               "batch_norm: input must be [N, C] or [N, C, L], got shape {}", x_in.shape());
  const kernels::BatchNormShape s{x_in.shape()[0], x_in.shape()[1],
                                  x_in.dim() == 3 ? x_in.shape()[2] : 1};
  const Shape channel_shape{s.channels};
  for (const Tensor* t : {&weight, &bias, &running_mean, &running_var}) {
    STRAND_CHECK(!t->defined() || t->shape() == channel_shape,
                 "batch_norm: per-channel tensors must have shape [{}], got {}", s.channels,
                 t->defined() ? t->shape() : Shape{});
  }
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
  STRAND_CHECK(s.batch * s.length > 1,
               "batch_norm: training needs more than one value per channel, got input of shape {}",
               x_in.shape());
  const Tensor x = x_in.contiguous();
  const Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  const Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = empty_like(x);
  const TensorOptions like{.dtype = x.dtype(), .device = x.device()};
  Tensor mean = empty(channel_shape, like), invstd = empty(channel_shape, like);
  const kernels::Context ctx = context_for(x.device());
  dispatch_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    STRAND_DISPATCH_DEVICE(x.device(), batch_norm_forward<T>, s, x.data<T>(),
                           w.defined() ? w.data<T>() : nullptr, b.defined() ? b.data<T>() : nullptr,
                           eps, y.data<T>(), mean.data<T>(), invstd.data<T>(), ctx);
  });
  if (running_mean.defined() && running_var.defined()) {
    NoGradGuard no_grad;
    const double m = static_cast<double>(s.batch * s.length);
    const Tensor batch_var = (rdiv(invstd * invstd, 1.0) - eps) * (m / (m - 1));  // unbiased
    Tensor rm = running_mean, rv = running_var;
    rm.copy_(rm * (1 - momentum) + mean * momentum);
    rv.copy_(rv * (1 - momentum) + batch_var * momentum);
  }
  auto node =
      record_node("batch_norm", {&x_in, &weight, &bias}, 1, [s](Node& n, const Grads& g) -> Grads {
        const Tensor& x = n.saved("input");
        const Tensor w = n.has_saved("weight") ? n.saved("weight") : Tensor();
        const Tensor& mean = n.saved("mean");
        const Tensor& invstd = n.saved("invstd");
        const Tensor dy = g[0].contiguous();
        Tensor dx = n.needs_input_grad(0) ? empty_like(x) : Tensor();
        Tensor dgamma = n.needs_input_grad(1) ? empty_like(mean) : Tensor();
        Tensor dbeta = n.needs_input_grad(2) ? empty_like(mean) : Tensor();
        const kernels::Context ctx = context_for(dy.device());
        dispatch_floating(dy.dtype(), "batch_norm backward", [&](auto tag) {
          using T = decltype(tag);
          STRAND_DISPATCH_DEVICE(dy.device(), batch_norm_backward<T>, s, x.data<T>(), dy.data<T>(),
                                 w.defined() ? w.data<T>() : nullptr, mean.data<T>(),
                                 invstd.data<T>(), dx.defined() ? dx.data<T>() : nullptr,
                                 dgamma.defined() ? dgamma.data<T>() : nullptr,
                                 dbeta.defined() ? dbeta.data<T>() : nullptr, ctx);
        });
        return {dx, dgamma, dbeta};
      });
  if (node) {
    node->save("input", x);
    if (w.defined()) node->save("weight", w);
    node->save("mean", mean);
    node->save("invstd", invstd);
  }
  set_outputs(node, {&y});
  return y;
}

}  // namespace strand::runtime
