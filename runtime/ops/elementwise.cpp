// Elementwise ops with broadcasting, and their backward formulas.
#include "kernels/elementwise/elementwise.h"

#include <algorithm>

#include "runtime/autograd.h"
#include "runtime/deeplift.h"
#include "runtime/dispatch.h"
#include "runtime/iter.h"
#include "runtime/ops.h"
#include "runtime/per_example.h"

namespace strand::runtime {
namespace {

using kernels::BinaryOp;
using kernels::UnaryOp;

// t's strides when broadcast to shape (0 along broadcast dimensions).
Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape strides(shape.size(), 0);
  const size_t lead = shape.size() - t.shape().size();
  for (size_t d = 0; d < t.shape().size(); ++d) {
    if (t.shape()[d] == shape[lead + d]) strides[lead + d] = t.strides()[d];
  }
  return strides;
}

void run_binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out,
                const char* name) {
  const auto it = make_iter<3>(out.shape(), {out.strides(), broadcast_strides(a, out.shape()),
                                             broadcast_strides(b, out.shape())});
  const kernels::Context ctx = context_for(out.device());
  dispatch_floating(out.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    STRAND_DISPATCH_DEVICE(out.device(), binary<T>, ctx, op, it, a.data<T>(), b.data<T>(),
                           out.data<T>());
  });
}

Tensor binary_values(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_floating_same(name, {&a, &b});
  Tensor out =
      empty(broadcast_shapes(a.shape(), b.shape()), {.dtype = a.dtype(), .device = a.device()});
  run_binary(op, a, b, out, name);
  return out;
}

// The gradients of op at (a, b) for the output gradient grad, in the output's (broadcast) shape.
std::pair<Tensor, Tensor> local_grads(BinaryOp op, const Tensor& a, const Tensor& b,
                                      const Tensor& grad) {
  switch (op) {
    case BinaryOp::kAdd:
      return {grad, grad};
    case BinaryOp::kSub:
      return {grad, neg(grad)};
    case BinaryOp::kMul:
      return {grad * b, grad * a};
    case BinaryOp::kDiv:
      return {grad / b, neg(grad * a / (b * b))};
    case BinaryOp::kPow:
      return {grad * b * pow(a, b - 1.0), grad * pow(a, b) * log(a)};
    case BinaryOp::kMaximum: {
      const Tensor mask = binary_values(BinaryOp::kGe, a, b, "maximum_backward");
      return {grad * mask, grad * rsub(mask, 1.0)};
    }
    case BinaryOp::kMinimum: {
      const Tensor mask = binary_values(BinaryOp::kGe, b, a, "minimum_backward");
      return {grad * mask, grad * rsub(mask, 1.0)};
    }
    case BinaryOp::kGe:
      break;
  }
  return {};
}

// DeepLIFT multipliers of c = op(a, b) between (a, b) and the reference's (ar, br): the Shapley
// values of the two inputs, which sum to c - c_ref exactly. mul and div in closed form (for
// z = a * b: m_a = (b + b_ref) / 2, m_b = (a + a_ref) / 2); other ops from the four corners.
std::pair<Tensor, Tensor> deeplift_binary(BinaryOp op, const Tensor& a, const Tensor& b,
                                          const Tensor& ar, const Tensor& br, const Tensor& g) {
  if (op == BinaryOp::kMul) return {g * ((b + br) * 0.5), g * ((a + ar) * 0.5)};
  if (op == BinaryOp::kDiv) {
    return {g * ((rdiv(b, 1.0) + rdiv(br, 1.0)) * 0.5), neg(g * ((a + ar) * 0.5) / (b * br))};
  }
  const auto f = [op](const Tensor& x, const Tensor& y) {
    return binary_values(op, x, y, "deeplift_corner");
  };
  const Tensor c = f(a, b), c_abr = f(a, br), c_arb = f(ar, b), c_r = f(ar, br);
  const Tensor phi_a = ((c_abr - c_r) + (c - c_arb)) * 0.5;
  const Tensor phi_b = ((c_arb - c_r) + (c - c_abr)) * 0.5;
  const auto [ga, gb] = local_grads(op, a, b, g);
  return {deeplift_rescale(a - ar, g * phi_a, ga), deeplift_rescale(b - br, g * phi_b, gb)};
}

// What a binary op saves; its backward and rules read it (the names stay in this file).
struct BinarySaved {
  Tensor a, b;
  void save(Node& n) const {
    n.save("a", a);
    n.save("b", b);
  }
  static BinarySaved of(const Node& n) { return {n.saved("a"), n.saved("b")}; }
};

// DP-SGD for one parameter of mul or add (a norm's affine weight or bias, reached through views):
// the per-example gradient is the output gradient (times the other operand for mul) summed to the
// parameter's broadcast shape, example by example.
class BinaryPerExample final : public PerExampleRule {
 public:
  explicit BinaryPerExample(BinaryOp op) : op_(op) {}
  bool parameter_slot(size_t slot, bool) const override { return slot <= 1; }
  size_t max_parameters() const override { return 1; }
  std::unique_ptr<PerExampleGrads> capture(Node& node, const std::vector<size_t>& slots,
                                           const Grads& grad_outputs) const override {
    const BinarySaved saved = BinarySaved::of(node);
    const bool param_is_b = slots[0] == 1;
    const Tensor& other = param_is_b ? saved.a : saved.b;
    return std::make_unique<Captured>(op_ == BinaryOp::kMul ? other : Tensor(),
                                      (param_is_b ? saved.b : saved.a).shape(), grad_outputs[0]);
  }

 private:
  class Captured final : public PerExampleGrads {
   public:
    Captured(Tensor other, Shape param_shape, Tensor grad)
        : other_(std::move(other)), param_shape_(std::move(param_shape)), grad_(std::move(grad)) {}
    std::string add_squared_norms(const PerExampleContext& ctx, Tensor& total) override {
      grad_ = checked_output_grad(grad_, ctx, true);
      const Tensor prod = other_.defined() ? grad_ * other_ : grad_;
      Shape per_shape(prod.dim(), 1);
      const Shape& b = param_shape_;
      const int64_t offset = prod.dim() - static_cast<int64_t>(b.size());
      STRAND_CHECK(offset >= 1 || b[0] == 1,
                   "DP-SGD: parameter '{}' is broadcast over shape {} including the batch "
                   "dimension; not supported",
                   ctx.parameters, b);
      for (size_t d = 0; d < b.size(); ++d) per_shape[offset + d] = b[d];
      per_shape[0] = ctx.batch;
      per_example_ = sum_to(prod, per_shape).reshape({ctx.batch, -1});
      total = total + sum(per_example_ * per_example_, {1});
      return "elementwise";
    }
    std::vector<Tensor> clipped_sums(const PerExampleContext&, const Tensor& factor) override {
      return {sum(per_example_ * factor_for(factor, 2, 0), {0})};
    }

   private:
    Tensor other_;  // mul: the operand that is not the parameter
    Shape param_shape_;
    Tensor grad_, per_example_;
  };
  BinaryOp op_;
};

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  Tensor out = binary_values(op, a, b, name);
  auto node = record_node(name, {&a, &b}, 1, [op](Node& n, const Grads& g) -> Grads {
    const auto [a, b] = BinarySaved::of(n);
    const auto [ga, gb] = local_grads(op, a, b, g[0]);
    return {n.needs_input_grad(0) && ga.defined() ? sum_to(ga, a.shape()) : Tensor(),
            n.needs_input_grad(1) && gb.defined() ? sum_to(gb, b.shape()) : Tensor()};
  });
  if (node) {
    BinarySaved{a, b}.save(*node);
    if (op == BinaryOp::kMul || op == BinaryOp::kAdd) {
      static const auto mul_rule = std::make_shared<const BinaryPerExample>(BinaryOp::kMul);
      static const auto add_rule = std::make_shared<const BinaryPerExample>(BinaryOp::kAdd);
      node->set_per_example(op == BinaryOp::kMul ? mul_rule : add_rule);
    }
    if (op == BinaryOp::kAdd || op == BinaryOp::kSub) {
      node->set_deeplift_linear();
    } else {
      node->set_deeplift([op](Node& n, Node& ref, const Grads& g) -> Grads {
        const auto [a, b] = BinarySaved::of(n);
        const BinarySaved r = BinarySaved::of(ref);
        const auto [ga, gb] = deeplift_binary(op, a, b, r.a, r.b, g[0]);
        return {n.needs_input_grad(0) ? sum_to(ga, a.shape()) : Tensor(),
                n.needs_input_grad(1) ? sum_to(gb, b.shape()) : Tensor()};
      });
    }
  }
  set_outputs(node, {&out});
  return out;
}

// Which of x and y = op(x) the derivative reads.
bool derivative_needs_input(UnaryOp op) {
  switch (op) {
    case UnaryOp::kLog:
    case UnaryOp::kAbs:
    case UnaryOp::kRelu:
    case UnaryOp::kGelu:
    case UnaryOp::kSoftplus:
    case UnaryOp::kClamp:
    case UnaryOp::kPowScalar:
    case UnaryOp::kRdivScalar:
      return true;
    default:
      return false;
  }
}
bool derivative_needs_output(UnaryOp op) {
  switch (op) {
    case UnaryOp::kExp:
    case UnaryOp::kSqrt:
    case UnaryOp::kSigmoid:
    case UnaryOp::kTanh:
    case UnaryOp::kRdivScalar:
      return true;
    default:
      return false;
  }
}

Tensor unary(UnaryOp op, const Tensor& x_in, const char* name, double p0 = 0, double p1 = 0) {
  check_floating_same(name, {&x_in});
  const Tensor x = x_in.contiguous();
  Tensor y = empty(x.shape(), {.dtype = x.dtype(), .device = x.device()});
  const kernels::Context ctx = context_for(x.device());
  dispatch_floating(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    STRAND_DISPATCH_DEVICE(x.device(), unary<T>, ctx, op, x.numel(), x.data<T>(), y.data<T>(), p0,
                           p1);
  });
  const auto backward = [op, p0, p1, name](Node& n, const Grads& g) -> Grads {
    const Tensor dy = g[0].contiguous();
    const Tensor x = n.has_saved("input") ? n.saved("input") : Tensor();
    const Tensor y = n.has_saved("output") ? n.saved("output") : Tensor();
    Tensor dx = empty_like(dy);
    const kernels::Context ctx = context_for(dy.device());
    dispatch_floating(dy.dtype(), name, [&](auto tag) {
      using T = decltype(tag);
      STRAND_DISPATCH_DEVICE(dy.device(), unary_backward<T>, ctx, op, dy.numel(), dy.data<T>(),
                             x.defined() ? x.data<T>() : nullptr,
                             y.defined() ? y.data<T>() : nullptr, dx.data<T>(), p0, p1);
    });
    return {dx};
  };
  auto node = record_node(name, {&x_in}, 1, backward);
  if (node) {
    const bool linear = op == UnaryOp::kNeg || op == UnaryOp::kAddScalar ||
                        op == UnaryOp::kMulScalar || op == UnaryOp::kRsubScalar;
    const bool rescale = !linear && deeplift_saving();  // the rescale rule reads x and y
    if (derivative_needs_input(op) || rescale) node->save("input", x);
    if (derivative_needs_output(op) || rescale) node->save("output", y);
    if (linear) {
      node->set_deeplift_linear();
    } else {
      // DeepLIFT's rescale rule: (y - y_ref) / (x - x_ref) for the local derivative.
      node->set_deeplift([backward](Node& n, Node& ref, const Grads& g) -> Grads {
        const Tensor x = n.saved("input"), y = n.saved("output");
        return {deeplift_rescale(x - ref.saved("input"), g[0] * (y - ref.saved("output")),
                                 backward(n, g)[0])};
      });
    }
  }
  set_outputs(node, {&y});
  return y;
}

}  // namespace

Tensor deeplift_rescale(const Tensor& delta_in, const Tensor& contribution, const Tensor& fallback,
                        double eps) {
  const Tensor limit = full({}, eps, {.dtype = delta_in.dtype(), .device = delta_in.device()});
  const Tensor use = binary_values(BinaryOp::kGe, abs(delta_in), limit, "deeplift_rescale");
  const Tensor keep = rsub(use, 1.0);
  return use * (contribution / (delta_in + keep)) + keep * fallback;
}

void check_fixed_weight(const char* op, const Tensor& w, const Tensor& wr) {
  STRAND_CHECK(w.raw_data() == wr.raw_data() && w.shape() == wr.shape(),
               "DeepLIFT: {}'s weight differs between the input's and the reference's pass (the "
               "weights must be the model's, fixed)",
               op);
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  Shape out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    const int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    STRAND_CHECK(da == db || da == 1 || db == 1, "shapes {} and {} cannot be broadcast together", a,
                 b);
    out[out.size() - 1 - i] = da == 1 ? db : da;
  }
  return out;
}

Tensor sum_to(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  const size_t lead = t.shape().size() - shape.size();
  std::vector<int64_t> dims;
  for (size_t d = 0; d < t.shape().size(); ++d) {
    if (d < lead || (shape[d - lead] == 1 && t.shape()[d] != 1))
      dims.push_back(static_cast<int64_t>(d));
  }
  Tensor reduced = dims.empty() ? t : sum(t, dims, /*keepdim=*/true);
  return reduced.reshape(shape);
}

void add_(Tensor& dst, const Tensor& src) {
  check_floating_same("add_", {&dst, &src});
  STRAND_CHECK(broadcast_shapes(dst.shape(), src.shape()) == dst.shape(),
               "add_: source of shape {} does not broadcast to destination shape {}", src.shape(),
               dst.shape());
  run_binary(BinaryOp::kAdd, dst, src, dst, "add_");
}

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::kAdd, a, b, "add"); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::kSub, a, b, "sub"); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::kMul, a, b, "mul"); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::kDiv, a, b, "div"); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary(BinaryOp::kPow, a, b, "pow"); }
Tensor maximum(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::kMaximum, a, b, "maximum");
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::kMinimum, a, b, "minimum");
}

Tensor add(const Tensor& a, double b) { return unary(UnaryOp::kAddScalar, a, "add_scalar", b); }
Tensor mul(const Tensor& a, double b) { return unary(UnaryOp::kMulScalar, a, "mul_scalar", b); }
Tensor pow(const Tensor& a, double e) { return unary(UnaryOp::kPowScalar, a, "pow_scalar", e); }
Tensor rsub(const Tensor& a, double b) { return unary(UnaryOp::kRsubScalar, a, "rsub_scalar", b); }
Tensor rdiv(const Tensor& a, double b) { return unary(UnaryOp::kRdivScalar, a, "rdiv_scalar", b); }
Tensor neg(const Tensor& x) { return unary(UnaryOp::kNeg, x, "neg"); }
Tensor exp(const Tensor& x) { return unary(UnaryOp::kExp, x, "exp"); }
Tensor log(const Tensor& x) { return unary(UnaryOp::kLog, x, "log"); }
Tensor sqrt(const Tensor& x) { return unary(UnaryOp::kSqrt, x, "sqrt"); }
Tensor abs(const Tensor& x) { return unary(UnaryOp::kAbs, x, "abs"); }
Tensor relu(const Tensor& x) { return unary(UnaryOp::kRelu, x, "relu"); }
Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::kSigmoid, x, "sigmoid"); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::kTanh, x, "tanh"); }
Tensor gelu(const Tensor& x) { return unary(UnaryOp::kGelu, x, "gelu"); }
Tensor softplus(const Tensor& x) { return unary(UnaryOp::kSoftplus, x, "softplus"); }
Tensor clamp(const Tensor& x, double low, double high) {
  STRAND_CHECK(low <= high, "clamp: low {} is greater than high {}", low, high);
  return unary(UnaryOp::kClamp, x, "clamp", low, high);
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return add(a, -b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return mul(a, 1.0 / b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(double a, const Tensor& b) { return rsub(b, a); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(double a, const Tensor& b) { return rdiv(b, a); }

}  // namespace strand::runtime
