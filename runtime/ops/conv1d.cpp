// conv1d and conv1d_bases on the kernels/conv1d family, with their backward passes.
#include "kernels/conv1d/conv1d_onehot_pool.h"
#include "runtime/autograd.h"
#include "runtime/deeplift.h"
#include "runtime/dispatch.h"
#include "runtime/ops.h"
#include "runtime/per_example.h"

namespace strand::runtime {
namespace {

kernels::Conv1dShape conv_shape(const Tensor& weight, int64_t batch, int64_t in_channels,
                                int64_t length, const Conv1dOptions& o) {
  kernels::Conv1dShape s;
  s.batch = batch;
  s.in_channels = in_channels;
  s.out_channels = weight.shape()[0];
  s.in_length = length;
  s.kernel_size = weight.shape()[2];
  s.stride = o.stride;
  s.pad_left = o.pad_left;
  s.pad_right = o.pad_right;
  s.dilation = o.dilation;
  s.groups = o.groups;
  if (o.same_padding) {
    STRAND_CHECK(o.stride == 1, "conv1d: padding 'same' needs stride 1, got {}", o.stride);
    s = kernels::with_same_padding(s);
  }
  s.validate();
  return s;
}

void check_weights(const char* op, const Tensor& weight, const Tensor& bias,
                   int64_t in_per_group_expected) {
  STRAND_CHECK(weight.dim() == 3, "{}: weight must be [C_out, C_in/groups, K], got shape {}", op,
               weight.shape());
  STRAND_CHECK(weight.shape()[1] == in_per_group_expected,
               "{}: weight has {} input channels per group, the input gives {}", op,
               weight.shape()[1], in_per_group_expected);
  STRAND_CHECK(!bias.defined() || bias.shape() == Shape{weight.shape()[0]},
               "{}: bias must have shape [{}], got {}", op, weight.shape()[0],
               bias.defined() ? bias.shape() : Shape{});
}

// The CUDA precision implied by the dtype (bf16) or asked for (fp32 / tf32).
kernels::Conv1dGpuOptions gpu_options(const Tensor& t, kernels::Conv1dGpuOptions o) {
  if (t.dtype() == DType::kBF16)
    o.precision = kernels::Conv1dPrecision::kBf16;
  else if (o.precision == kernels::Conv1dPrecision::kBf16)
    o.precision = kernels::Conv1dPrecision::kFp32;
  return o;
}

// What conv1d saves; its backward and per-example rule read it (the names stay in this file).
struct Conv1dSaved {
  Tensor input;   // [N, C_in, L], contiguous
  Tensor weight;  // [C_out, C_in / groups, K], contiguous
  void save(Node& n) const {
    n.save("input", input);
    n.save("weight", weight);
  }
  static Conv1dSaved of(const Node& n) { return {n.saved("input"), n.saved("weight")}; }
};

// What conv1d_bases saves.
struct Conv1dBasesSaved {
  Tensor bases;  // [N, L] base codes, contiguous
  void save(Node& n) const { n.save("bases", bases); }
  static Conv1dBasesSaved of(const Node& n) { return {n.saved("bases")}; }
};

// DP-SGD for conv1d (dense input) and conv1d_bases (base codes): per-example weight-gradient norms
// by kernels/per_sample_norm over the unfolded input, the clipped sums by one weight-gradient pass
// over the factor-scaled output gradient. Parameter slots: weight and bias (1, 2 for conv1d; 0, 1
// for conv1d_bases).
class Conv1dPerExample final : public PerExampleRule {
 public:
  Conv1dPerExample(const kernels::Conv1dShape& shape, bool bases) : shape_(shape), bases_(bases) {}
  bool parameter_slot(size_t slot, bool through_view) const override {
    return !through_view && (slot == weight_slot() || slot == weight_slot() + 1);
  }
  std::unique_ptr<PerExampleGrads> capture(Node& node, const std::vector<size_t>& slots,
                                           const Grads& grad_outputs) const override {
    const Tensor input = bases_ ? Conv1dBasesSaved::of(node).bases : Conv1dSaved::of(node).input;
    return std::make_unique<Captured>(shape_, bases_, slots, input, grad_outputs[0]);
  }

 private:
  size_t weight_slot() const { return bases_ ? 0 : 1; }

  class Captured final : public PerExampleGrads {
   public:
    Captured(const kernels::Conv1dShape& shape, bool bases, std::vector<size_t> slots, Tensor input,
             Tensor grad)
        : shape_(shape),
          bases_(bases),
          slots_(std::move(slots)),
          input_(std::move(input)),
          grad_(std::move(grad)) {}

    std::string add_squared_norms(const PerExampleContext& ctx, Tensor& total) override {
      grad_ = checked_output_grad(grad_, ctx, true);
      const int64_t n = ctx.batch, c_out = grad_.shape()[1], l_out = grad_.shape()[2];
      kernels::Conv1dShape cs = shape_;
      cs.batch = n;
      // On CUDA the input Gram (tensor cores) joins ghost and materialized in the cost model;
      // on the CPU its twin is a reference only (not measured faster there), so it stays out.
      const kernels::NormMethod m =
          ctx.method ? *ctx.method
          : grad_.device().is_cuda()
              ? kernels::choose_conv_norm_method(cs, bases_)
              : kernels::choose_norm_method(kernels::conv_per_sample_shape(cs));
      for (size_t slot : slots_) {
        if (slot != weight_slot()) {
          total = total + bias_norm(grad_, {n, l_out, 1, c_out}, c_out * l_out, 1, l_out);
          continue;
        }
        Tensor out = empty({n}, {.dtype = grad_.dtype(), .device = grad_.device()});
        const kernels::Context kc = context_for(grad_.device());
        dispatch_per_example(grad_, [&](auto tag) {
          using T = decltype(tag);
          const kernels::SampleRows<T> g = sample_rows<T>(grad_, c_out * l_out, 1, l_out);
          if (bases_) {
            STRAND_PER_EXAMPLE_CALL(grad_.device(), per_sample_norm_bases, kc, cs,
                                    input_.data<uint8_t>(), g, m, out.data<T>());
          } else {
            STRAND_PER_EXAMPLE_CALL(grad_.device(), per_sample_norm_conv1d, kc, cs,
                                    input_.data<T>(), g, m, out.data<T>());
          }
        });
        total = total + out;
      }
      return kernels::norm_method_name(m);
    }

    std::vector<Tensor> clipped_sums(const PerExampleContext& ctx, const Tensor& factor) override {
      const Tensor gs = (grad_ * factor_for(factor, 3, 0)).contiguous();
      kernels::Conv1dShape cs = shape_;
      cs.batch = ctx.batch;
      const kernels::Context kc = context_for(gs.device());
      constexpr auto kCodes = kernels::BaseEncoding::kCodes;
      std::vector<Tensor> sums;
      for (size_t slot : slots_) {
        const bool weight = slot == weight_slot();
        const Shape shape = weight
                                ? Shape{cs.out_channels, cs.in_channels / cs.groups, cs.kernel_size}
                                : Shape{cs.out_channels};
        Tensor out = empty(shape, {.dtype = gs.dtype(), .device = gs.device()});
        dispatch_per_example(gs, [&](auto tag) {
          using T = decltype(tag);
          const bool cuda = gs.is_cuda();
          if (!weight) {
            if (cuda) {
              if constexpr (std::is_same_v<T, float>)
                STRAND_CUDA_CALL(kernels::cuda::conv1d_backward_bias<T>(kc, cs, gs.data<T>(),
                                                                        out.data<T>(), false));
            } else {
              kernels::cpu::conv1d_backward_bias<T>(kc, cs, gs.data<T>(), out.data<T>());
            }
          } else if (bases_) {
            if (cuda) {
              if constexpr (std::is_same_v<T, float>)
                STRAND_CUDA_CALL(kernels::cuda::conv1d_onehot_backward_weight<T>(
                    kc, cs, kCodes, input_.data<uint8_t>(), gs.data<T>(), out.data<T>(), false));
            } else {
              kernels::cpu::conv1d_onehot_backward_weight<T>(kc, cs, kCodes, input_.data<uint8_t>(),
                                                             gs.data<T>(), out.data<T>(), false);
            }
          } else {
            if (cuda) {
              if constexpr (std::is_same_v<T, float>)
                STRAND_CUDA_CALL(kernels::cuda::conv1d_backward_weight<T>(
                    kc, cs, input_.data<T>(), gs.data<T>(), out.data<T>(), false));
            } else {
              kernels::cpu::conv1d_backward_weight<T>(kc, cs, input_.data<T>(), gs.data<T>(),
                                                      out.data<T>());
            }
          }
        });
        sums.push_back(out);
      }
      return sums;
    }

   private:
    size_t weight_slot() const { return bases_ ? 0 : 1; }
    kernels::Conv1dShape shape_;
    bool bases_;
    std::vector<size_t> slots_;
    Tensor input_, grad_;
  };

  kernels::Conv1dShape shape_;
  bool bases_;
};

void record_conv_attrs(Node& node, const kernels::Conv1dShape& s) {
  node.set_attr("kernel_size", {s.kernel_size});
  node.set_attr("stride", {s.stride});
  node.set_attr("padding", {s.pad_left, s.pad_right});
  node.set_attr("dilation", {s.dilation});
  node.set_attr("groups", {s.groups});
}

}  // namespace

Tensor conv1d_relu_max_pool1d_inference(const Tensor& x_in, const Tensor& weight_in,
                                        const Tensor& bias_in, int64_t pool,
                                        const Conv1dOptions& options) {
  const char* op = "conv1d_relu_max_pool1d_inference";
  check_floating_same(op, {&x_in, &weight_in, &bias_in});
  STRAND_CHECK(x_in.is_cuda(),
               "{}: CUDA tensors only (on the CPU: conv1d, then "
               "relu_max_pool1d_inference)",
               op);
  STRAND_CHECK(!grad_enabled(), "{}: records no gradient; call it with gradients off", op);
  STRAND_CHECK(x_in.dim() == 3, "{}: input must be [N, C_in, L], got shape {}", op, x_in.shape());
  STRAND_CHECK(options.groups > 0 && x_in.shape()[1] % options.groups == 0,
               "{}: {} input channels are not divisible into {} groups", op, x_in.shape()[1],
               options.groups);
  check_weights(op, weight_in, bias_in, x_in.shape()[1] / options.groups);
  const kernels::Conv1dShape s =
      conv_shape(weight_in, x_in.shape()[0], x_in.shape()[1], x_in.shape()[2], options);
  STRAND_CHECK(pool >= 1 && pool <= s.out_length(), "{}: pool {} outside 1..L_out {}", op, pool,
               s.out_length());
  const Tensor x = x_in.contiguous(), w = weight_in.contiguous();
  const Tensor b = bias_in.defined() ? bias_in.contiguous() : Tensor();
  Tensor y = empty({s.batch, s.out_channels, s.out_length() / pool},
                   {.dtype = x.dtype(), .device = x.device()});
  const kernels::Conv1dGpuOptions gpu = gpu_options(x, options.gpu);
  const kernels::Context ctx = context_for(x.device());
  dispatch_gpu_f32_bf16_cpu_f32_f64(x, op, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, double>) {
      const T* bias = b.defined() ? b.data<T>() : nullptr;
      STRAND_CUDA_CALL(kernels::cuda::conv1d_forward_fused<T>(
          ctx, s, x.data<T>(), w.data<T>(), bias, y.data<T>(), {true, pool}, gpu));
    }
  });
  return y;
}

Tensor conv1d(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in,
              const Conv1dOptions& options) {
  check_floating_same("conv1d", {&x_in, &weight_in, &bias_in});
  STRAND_CHECK(x_in.dim() == 3, "conv1d: input must be [N, C_in, L], got shape {}", x_in.shape());
  STRAND_CHECK(options.groups > 0 && x_in.shape()[1] % options.groups == 0,
               "conv1d: {} input channels are not divisible into {} groups", x_in.shape()[1],
               options.groups);
  check_weights("conv1d", weight_in, bias_in, x_in.shape()[1] / options.groups);
  const kernels::Conv1dShape s =
      conv_shape(weight_in, x_in.shape()[0], x_in.shape()[1], x_in.shape()[2], options);
  const Tensor x = x_in.contiguous(), w = weight_in.contiguous();
  const Tensor b = bias_in.defined() ? bias_in.contiguous() : Tensor();
  Tensor y =
      empty({s.batch, s.out_channels, s.out_length()}, {.dtype = x.dtype(), .device = x.device()});
  const kernels::Conv1dGpuOptions gpu = gpu_options(x, options.gpu);
  const kernels::Context ctx = context_for(x.device());
  dispatch_gpu_f32_bf16_cpu_f32_f64(x, "conv1d", [&](auto tag) {
    using T = decltype(tag);
    const T* bias = b.defined() ? b.data<T>() : nullptr;
    if (x.is_cuda()) {
      if constexpr (!std::is_same_v<T, double>) {
        STRAND_CUDA_CALL(kernels::cuda::conv1d_forward<T>(ctx, s, x.data<T>(), w.data<T>(), bias,
                                                          y.data<T>(), gpu));
      }
    } else if constexpr (!std::is_same_v<T, BFloat16>) {
      kernels::cpu::conv1d_forward<T>(ctx, s, x.data<T>(), w.data<T>(), bias, y.data<T>());
    }
  });
  auto node = record_node(
      "conv1d", {&x_in, &weight_in, &bias_in}, 1, [s, gpu](Node& n, const Grads& g) -> Grads {
        const Conv1dSaved saved = Conv1dSaved::of(n);
        const Tensor &x = saved.input, &w = saved.weight;
        const Tensor dy = g[0].contiguous();
        Tensor dx, dw, db;
        const kernels::Context ctx = context_for(dy.device());
        if (n.needs_input_grad(0)) dx = empty_like(x);
        if (n.needs_input_grad(1)) dw = empty_like(w);
        if (n.needs_input_grad(2))
          db = empty({s.out_channels}, {.dtype = dy.dtype(), .device = dy.device()});
        dispatch_gpu_f32_bf16_cpu_f32_f64(dy, "conv1d backward", [&](auto tag) {
          using T = decltype(tag);
          if (dy.is_cuda()) {
            if constexpr (!std::is_same_v<T, double>) {
              STRAND_CUDA_CALL({
                if (dx.defined())
                  kernels::cuda::conv1d_backward_data<T>(ctx, s, dy.data<T>(), w.data<T>(),
                                                         dx.data<T>(), gpu);
                if (dw.defined())
                  kernels::cuda::conv1d_backward_weight<T>(ctx, s, x.data<T>(), dy.data<T>(),
                                                           dw.data<T>(), false, gpu);
                if (db.defined())
                  kernels::cuda::conv1d_backward_bias<T>(ctx, s, dy.data<T>(), db.data<T>(), false);
              });
            }
          } else if constexpr (!std::is_same_v<T, BFloat16>) {
            if (dx.defined())
              kernels::cpu::conv1d_backward_data<T>(ctx, s, dy.data<T>(), w.data<T>(),
                                                    dx.data<T>());
            if (dw.defined())
              kernels::cpu::conv1d_backward_weight<T>(ctx, s, x.data<T>(), dy.data<T>(),
                                                      dw.data<T>());
            if (db.defined())
              kernels::cpu::conv1d_backward_bias<T>(ctx, s, dy.data<T>(), db.data<T>());
          }
        });
        return {dx, dw, db};
      });
  if (node) {
    Conv1dSaved{x, w}.save(*node);
    node->set_deeplift(deeplift_fixed_weight<Conv1dSaved>("conv1d"));
    node->set_per_example(std::make_shared<const Conv1dPerExample>(s, false));
    record_conv_attrs(*node, s);
  }
  set_outputs(node, {&y});
  return y;
}

Tensor conv1d_bases_relu_max_pool1d_inference(const Tensor& bases_in, const Tensor& weight_in,
                                              const Tensor& bias_in, int64_t pool,
                                              const Conv1dOptions& options) {
  const char* op = "conv1d_bases_relu_max_pool1d_inference";
  check_floating_same(op, {&weight_in, &bias_in});
  check_same_device(op, {&bases_in, &weight_in});
  check_dtype(op, "bases", bases_in, DType::kU8);
  STRAND_CHECK(weight_in.is_cuda(),
               "{}: CUDA tensors only (on the CPU: conv1d_bases, then ReLU "
               "and max_pool1d)",
               op);
  STRAND_CHECK(!grad_enabled(), "{}: records no gradient; call it with gradients off", op);
  STRAND_CHECK(bases_in.dim() == 2, "{}: bases must be [N, L] base codes, got shape {}", op,
               bases_in.shape());
  STRAND_CHECK(options.groups == 1, "{}: groups must be 1, got {}", op, options.groups);
  check_weights(op, weight_in, bias_in, 4);
  const kernels::Conv1dShape s =
      conv_shape(weight_in, bases_in.shape()[0], 4, bases_in.shape()[1], options);
  const kernels::OnehotPool window{pool, pool};
  const int64_t pooled = kernels::check_onehot_pool(s, window, op);
  const Tensor bases = bases_in.contiguous(), w = weight_in.contiguous();
  const Tensor b = bias_in.defined() ? bias_in.contiguous() : Tensor();
  Tensor y = empty({s.batch, s.out_channels, pooled}, {.dtype = w.dtype(), .device = w.device()});
  const kernels::Context ctx = context_for(w.device());
  dispatch_gpu_f32_bf16_cpu_f32_f64(w, op, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, double>) {
      const T* bias = b.defined() ? b.data<T>() : nullptr;
      STRAND_CUDA_CALL(kernels::cuda::conv1d_onehot_relu_maxpool<T>(
          ctx, s, window, kernels::BaseEncoding::kCodes, bases.data<uint8_t>(), w.data<T>(), bias,
          y.data<T>()));
    }
  });
  return y;
}

Tensor conv1d_bases(const Tensor& bases_in, const Tensor& weight_in, const Tensor& bias_in,
                    const Conv1dOptions& options) {
  check_floating_same("conv1d_bases", {&weight_in, &bias_in});
  check_same_device("conv1d_bases", {&bases_in, &weight_in});
  check_dtype("conv1d_bases", "bases", bases_in, DType::kU8);
  STRAND_CHECK(bases_in.dim() == 2, "conv1d_bases: bases must be [N, L] base codes, got shape {}",
               bases_in.shape());
  STRAND_CHECK(options.groups == 1, "conv1d_bases: groups must be 1, got {}", options.groups);
  check_weights("conv1d_bases", weight_in, bias_in, 4);
  const kernels::Conv1dShape s =
      conv_shape(weight_in, bases_in.shape()[0], 4, bases_in.shape()[1], options);
  const Tensor bases = bases_in.contiguous(), w = weight_in.contiguous();
  const Tensor b = bias_in.defined() ? bias_in.contiguous() : Tensor();
  Tensor y =
      empty({s.batch, s.out_channels, s.out_length()}, {.dtype = w.dtype(), .device = w.device()});
  const kernels::Context ctx = context_for(w.device());
  constexpr auto kCodes = kernels::BaseEncoding::kCodes;
  dispatch_gpu_f32_bf16_cpu_f32_f64(w, "conv1d_bases", [&](auto tag) {
    using T = decltype(tag);
    const T* bias = b.defined() ? b.data<T>() : nullptr;
    if (w.is_cuda()) {
      if constexpr (!std::is_same_v<T, double>) {
        STRAND_CUDA_CALL(kernels::cuda::conv1d_onehot_forward<T>(
            ctx, s, kCodes, bases.data<uint8_t>(), w.data<T>(), bias, y.data<T>()));
      }
    } else if constexpr (!std::is_same_v<T, BFloat16>) {
      kernels::cpu::conv1d_onehot_forward<T>(ctx, s, kCodes, bases.data<uint8_t>(), w.data<T>(),
                                             bias, y.data<T>());
    }
  });
  auto node =
      record_node("conv1d_bases", {&weight_in, &bias_in}, 1, [s](Node& n, const Grads& g) -> Grads {
        const Tensor bases = Conv1dBasesSaved::of(n).bases;
        const Tensor dy = g[0].contiguous();
        Tensor dw, db;
        const kernels::Context ctx = context_for(dy.device());
        if (n.needs_input_grad(0))
          dw = empty({s.out_channels, 4, s.kernel_size},
                     {.dtype = dy.dtype(), .device = dy.device()});
        if (n.needs_input_grad(1))
          db = empty({s.out_channels}, {.dtype = dy.dtype(), .device = dy.device()});
        dispatch_gpu_f32_bf16_cpu_f32_f64(dy, "conv1d_bases backward", [&](auto tag) {
          using T = decltype(tag);
          if (dy.is_cuda()) {
            if constexpr (!std::is_same_v<T, double>) {
              STRAND_CUDA_CALL({
                if (dw.defined())
                  kernels::cuda::conv1d_onehot_backward_weight<T>(
                      ctx, s, kCodes, bases.data<uint8_t>(), dy.data<T>(), dw.data<T>(), false);
                if (db.defined())
                  kernels::cuda::conv1d_backward_bias<T>(ctx, s, dy.data<T>(), db.data<T>(), false);
              });
            }
          } else if constexpr (!std::is_same_v<T, BFloat16>) {
            if (dw.defined())
              kernels::cpu::conv1d_onehot_backward_weight<T>(ctx, s, kCodes, bases.data<uint8_t>(),
                                                             dy.data<T>(), dw.data<T>(), false);
            if (db.defined())
              kernels::cpu::conv1d_backward_bias<T>(ctx, s, dy.data<T>(), db.data<T>());
          }
        });
        return {dw, db};
      });
  if (node) {
    Conv1dBasesSaved{bases}.save(*node);
    node->set_per_example(std::make_shared<const Conv1dPerExample>(s, true));
    record_conv_attrs(*node, s);
  }
  set_outputs(node, {&y});
  return y;
}

}  // namespace strand::runtime
