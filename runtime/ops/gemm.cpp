// Matrix products and the linear layer, through the GEMM kernel family. A transposed view is
// passed to GEMM as a transpose flag rather than copied.
#include "kernels/gemm/gemm.h"

#include "runtime/autograd.h"
#include "runtime/deeplift.h"
#include "runtime/dispatch.h"
#include "runtime/ops.h"
#include "runtime/per_example.h"

namespace strand::runtime {
namespace {

// A matrix (or batch of matrices, last two dimensions) as GEMM reads it.
struct GemmOperand {
  Tensor data;  // storage to read; the matrix is data's last two dims, possibly transposed
  bool transposed = false;
  int64_t ld = 0;  // row stride of the stored (untransposed) matrix
  int64_t batch_stride = 0;
};

GemmOperand as_operand(const Tensor& t) {
  const int64_t r = t.dim() - 2, c = t.dim() - 1;
  const bool batched = t.dim() == 3;
  const int64_t rows = t.shape()[r], cols = t.shape()[c];
  const Shape& st = t.strides();
  const bool batch_ok = !batched || t.shape()[0] == 1 || st[0] >= rows * cols;
  if (batch_ok && (st[c] == 1 || cols == 1) && st[r] >= std::max<int64_t>(cols, 1)) {
    return {t, false, std::max<int64_t>(st[r], 1), batched ? st[0] : 0};
  }
  if (batch_ok && (st[r] == 1 || rows == 1) && st[c] >= std::max<int64_t>(rows, 1)) {
    return {t, true, std::max<int64_t>(st[c], 1), batched ? st[0] : 0};
  }
  const Tensor dense = t.contiguous();
  return {dense, false, std::max<int64_t>(cols, 1), batched ? rows * cols : 0};
}

// out (contiguous [batch?, m, n]) = a b (+ beta * out).
void gemm_into(const Tensor& a, const Tensor& b, Tensor& out, double beta, kernels::MathMode mode) {
  const GemmOperand ga = as_operand(a), gb = as_operand(b);
  kernels::GemmShape s;
  s.m = a.shape()[a.dim() - 2];
  s.k = a.shape()[a.dim() - 1];
  s.n = b.shape()[b.dim() - 1];
  s.trans_a = ga.transposed, s.trans_b = gb.transposed;
  s.lda = ga.ld, s.ldb = gb.ld, s.ldc = s.n;
  s.batch = out.dim() == 3 ? out.shape()[0] : 1;
  s.stride_a = ga.batch_stride, s.stride_b = gb.batch_stride, s.stride_c = s.m * s.n;
  const kernels::Context ctx = context_for(out.device());
  dispatch_floating(out.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    STRAND_DISPATCH_DEVICE(out.device(), gemm<T>, ctx, s, 1.0, ga.data.template data<T>(),
                           gb.data.template data<T>(), beta, out.data<T>(), mode);
  });
}

Tensor matmul_values(const Tensor& a, const Tensor& b, kernels::MathMode mode) {
  Shape shape;
  if (a.dim() == 3 || b.dim() == 3) shape.push_back(a.dim() == 3 ? a.shape()[0] : b.shape()[0]);
  shape.push_back(a.shape()[a.dim() - 2]);
  shape.push_back(b.shape()[b.dim() - 1]);
  Tensor out = empty(shape, {.dtype = a.dtype(), .device = a.device()});
  // Batch entries of a shared 2-D operand have stride 0 (as_operand gives 0 for 2-D).
  gemm_into(a, b, out, 0.0, mode);
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, kernels::MathMode mode) {
  check_floating_same("matmul", {&a, &b});
  STRAND_CHECK((a.dim() == 2 || a.dim() == 3) && (b.dim() == 2 || b.dim() == 3),
               "matmul: operands must be 2-D or batched 3-D, got shapes {} and {}", a.shape(),
               b.shape());
  STRAND_CHECK(a.shape()[a.dim() - 1] == b.shape()[b.dim() - 2],
               "matmul: inner dimensions differ: {} x {}", a.shape(), b.shape());
  STRAND_CHECK(a.dim() == 2 || b.dim() == 2 || a.shape()[0] == b.shape()[0],
               "matmul: batch sizes differ: {} x {}", a.shape(), b.shape());
  Tensor out = matmul_values(a, b, mode);
  // Gradients of a product at operands (a, b): at the operands' midpoints between the input and
  // the reference they are DeepLIFT's multipliers (exact for a bilinear map).
  const auto grads = [mode](Node& n, const Tensor& a, const Tensor& b, const Tensor& g) -> Grads {
    Tensor ga, gb;
    if (n.needs_input_grad(0)) {
      ga = matmul_values(g, b.transpose(-1, -2), mode);
      if (a.dim() == 2 && ga.dim() == 3) ga = sum(ga, {0});
    }
    if (n.needs_input_grad(1)) {
      gb = matmul_values(a.transpose(-1, -2), g, mode);
      if (b.dim() == 2 && gb.dim() == 3) gb = sum(gb, {0});
    }
    return {ga, gb};
  };
  auto node = record_node("matmul", {&a, &b}, 1, [grads](Node& n, const Grads& g) -> Grads {
    return grads(n, n.saved("a"), n.saved("b"), g[0]);
  });
  if (node) {
    node->save("a", a);
    node->save("b", b);
    node->set_deeplift([grads](Node& n, Node& ref, const Grads& g) -> Grads {
      return grads(n, (n.saved("a") + ref.saved("a")) * 0.5, (n.saved("b") + ref.saved("b")) * 0.5,
                   g[0]);
    });
  }
  set_outputs(node, {&out});
  return out;
}

namespace {

// What linear saves; its backward and per-example rule read it (the names stay in this file).
struct LinearSaved {
  Tensor input;   // x, any leading dimensions [..., in]
  Tensor weight;  // [out, in]
  void save(Node& n) const {
    n.save("input", input);
    n.save("weight", weight);
  }
  static LinearSaved of(const Node& n) { return {n.saved("input"), n.saved("weight")}; }
};

// DP-SGD: the weight's per-example gradient is sum over positions of g (x) x, the bias's sum of g.
class LinearPerExample final : public PerExampleRule {
 public:
  bool parameter_slot(size_t slot, bool through_view) const override {
    return !through_view && (slot == 1 || slot == 2);
  }
  std::unique_ptr<PerExampleGrads> capture(Node& node, const std::vector<size_t>& slots,
                                           const Grads& grad_outputs) const override {
    return std::make_unique<Captured>(slots, LinearSaved::of(node).input, grad_outputs[0]);
  }

 private:
  class Captured final : public PerExampleGrads {
   public:
    Captured(std::vector<size_t> slots, Tensor input, Tensor grad)
        : slots_(std::move(slots)), input_(std::move(input)), grad_(std::move(grad)) {}
    std::string add_squared_norms(const PerExampleContext& ctx, Tensor& total) override {
      grad_ = checked_output_grad(grad_, ctx, true);
      const int64_t n = ctx.batch, in = input_.shape().back(), out = grad_.shape().back();
      const int64_t positions = input_.numel() / (n * in);
      input_ = input_.contiguous();
      const kernels::PerSampleShape s{n, positions, in, out};
      const kernels::NormMethod m = pick_norm_method(ctx, s);
      for (size_t slot : slots_) {
        total = total + (slot == 1 ? dense_norm(input_, grad_, s, positions * in, in,
                                                positions * out, out, m)
                                   : bias_norm(grad_, s, positions * out, out, 1));
      }
      return kernels::norm_method_name(m);
    }
    std::vector<Tensor> clipped_sums(const PerExampleContext&, const Tensor& factor) override {
      const int64_t in = input_.shape().back(), out = grad_.shape().back();
      const Tensor gs = (grad_ * factor_for(factor, grad_.dim(), 0)).reshape({-1, out});
      std::vector<Tensor> sums;
      for (size_t slot : slots_) {
        sums.push_back(slot == 1 ? matmul(gs.transpose(0, 1), input_.reshape({-1, in}))
                                 : sum(gs, {0}));
      }
      return sums;
    }

   private:
    std::vector<size_t> slots_;
    Tensor input_, grad_;
  };
};

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, kernels::MathMode mode) {
  check_floating_same("linear", {&x, &weight, &bias});
  STRAND_CHECK(weight.dim() == 2, "linear: weight must be [out, in], got shape {}", weight.shape());
  STRAND_CHECK(x.dim() >= 1 && x.shape().back() == weight.shape()[1],
               "linear: input's last dimension ({}) must equal weight's in_features ({}); input "
               "shape {}, weight shape {}",
               x.dim() ? x.shape().back() : 0, weight.shape()[1], x.shape(), weight.shape());
  const int64_t out_features = weight.shape()[0];
  STRAND_CHECK(!bias.defined() || bias.shape() == Shape{out_features},
               "linear: bias must have shape [{}], got {}", out_features,
               bias.defined() ? bias.shape() : Shape{});
  const Tensor x2 = x.detach().reshape({-1, weight.shape()[1]});
  Tensor out = empty({x2.shape()[0], out_features}, {.dtype = x.dtype(), .device = x.device()});
  double beta = 0.0;
  if (bias.defined()) {  // start from the bias rows, then accumulate the product onto them
    out.copy_(bias.detach().unsqueeze(0).expand(out.shape()));
    beta = 1.0;
  }
  gemm_into(x2, weight.detach().transpose(0, 1), out, beta, mode);
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  out = out.view(out_shape);

  auto node =
      record_node("linear", {&x, &weight, &bias}, 1, [mode](Node& n, const Grads& g) -> Grads {
        const auto [input, w] = LinearSaved::of(n);
        const Tensor g2 = g[0].reshape({-1, w.shape()[0]});
        Tensor gx, gw, gb;
        if (n.needs_input_grad(0)) gx = matmul_values(g2, w, mode).reshape(input.shape());
        if (n.needs_input_grad(1)) {
          gw = matmul_values(g2.transpose(0, 1), input.reshape({-1, w.shape()[1]}), mode);
        }
        if (n.needs_input_grad(2)) gb = sum(g2, {0});
        return {gx, gw, gb};
      });
  if (node) {
    LinearSaved{x, weight}.save(*node);
    node->set_deeplift(deeplift_fixed_weight<LinearSaved>("linear"));
    static const auto per_example = std::make_shared<const LinearPerExample>();
    node->set_per_example(per_example);
  }
  set_outputs(node, {&out});
  return out;
}

}  // namespace strand::runtime
