// What the ops' per-example rules share (see per_example.h).
#include "runtime/per_example.h"

#include "runtime/ops.h"

namespace strand::runtime {
namespace {

class Refusal final : public PerExampleRule {
 public:
  explicit Refusal(std::string reason) : reason_(std::move(reason)) {}
  std::string refusal() const override { return reason_; }
  bool parameter_slot(size_t, bool) const override { return false; }
  std::unique_ptr<PerExampleGrads> capture(Node&, const std::vector<size_t>&,
                                           const Grads&) const override {
    return nullptr;
  }

 private:
  std::string reason_;
};

class View final : public PerExampleRule {
 public:
  bool is_view() const override { return true; }
  bool parameter_slot(size_t, bool) const override { return false; }
  std::unique_ptr<PerExampleGrads> capture(Node&, const std::vector<size_t>&,
                                           const Grads&) const override {
    return nullptr;
  }
};

}  // namespace

void throw_dp_sgd_unsupported(std::string message, const char* file, int line,
                              const char* function) {
  try {
    detail::throw_error(std::move(message), file, line, function);  // the usual message and place
  } catch (const Error& e) {
    throw DpSgdUnsupported(e.message(), e.where());
  }
}

std::shared_ptr<const PerExampleRule> per_example_view() {
  static const auto rule = std::make_shared<const View>();
  return rule;
}

std::shared_ptr<const PerExampleRule> per_example_refusal(std::string reason) {
  return std::make_shared<Refusal>(std::move(reason));
}

Tensor checked_output_grad(const Tensor& grad, const PerExampleContext& ctx, bool batch_first) {
  STRAND_CHECK(grad.defined(), "DP-SGD: op '{}' received no output gradient", ctx.op);
  STRAND_CHECK(grad.dim() >= 1 && (!batch_first || grad.shape()[0] == ctx.batch),
               "DP-SGD: op '{}' (parameters {}) has an output of shape {} whose first dimension "
               "is not the batch size {}",
               ctx.op, ctx.parameters, grad.shape(), ctx.batch);
  return grad.contiguous();
}

Tensor dense_norm(const Tensor& a, const Tensor& g, const kernels::PerSampleShape& s, int64_t a_sn,
                  int64_t a_st, int64_t g_sn, int64_t g_st, kernels::NormMethod method) {
  Tensor out = empty({s.batch}, {.dtype = g.dtype(), .device = g.device()});
  const kernels::Context ctx = context_for(g.device());
  dispatch_per_example(g, [&](auto tag) {
    using T = decltype(tag);
    STRAND_PER_EXAMPLE_CALL(g.device(), per_sample_norm_dense, ctx, s,
                            sample_rows<T>(a, a_sn, a_st, 1), sample_rows<T>(g, g_sn, g_st, 1),
                            method, out.data<T>());
  });
  return out;
}

Tensor bias_norm(const Tensor& g, const kernels::PerSampleShape& s, int64_t g_sn, int64_t g_st,
                 int64_t g_sk) {
  Tensor out = empty({s.batch}, {.dtype = g.dtype(), .device = g.device()});
  const kernels::Context ctx = context_for(g.device());
  dispatch_per_example(g, [&](auto tag) {
    using T = decltype(tag);
    STRAND_PER_EXAMPLE_CALL(g.device(), per_sample_bias_norm, ctx, s,
                            sample_rows<T>(g, g_sn, g_st, g_sk), out.data<T>());
  });
  return out;
}

Tensor factor_for(const Tensor& factor, int64_t rank, int64_t batch_dim) {
  Shape shape(rank, 1);
  shape[batch_dim] = factor.numel();
  return factor.reshape(shape);
}

}  // namespace strand::runtime
