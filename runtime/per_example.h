// The per-example rule slot of an op record (the other slot is DeepLIFT's, deeplift.h). An op with
// parameters declares, in its own file under runtime/ops, a struct of what it saves and beside it a
// PerExampleRule over that struct, and sets the rule on its node when it records it
// (Node::set_per_example). The DP-SGD engine (per_sample.h) walks the graph, asks each node's rule
// which inputs may be parameters, lets the rule capture what it needs while the node's saved
// state is alive, then asks it for per-example squared norms and clipped sums. The engine knows
// no op by name and reads no saved tensor; an op without a rule cannot take a parameter under
// DP-SGD, and an op whose rule is a refusal (batch normalisation) cannot appear at all.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "kernels/per_sample_norm/per_sample_norm.h"
#include "runtime/autograd.h"
#include "runtime/dispatch.h"

namespace strand::runtime {

// The one error DP-SGD raises for a model it cannot make private: an op that mixes the examples
// of a batch, or a parameter used where no per-example rule covers it. Callers may catch it apart
// from other errors.
class DpSgdUnsupported : public Error {
 public:
  using Error::Error;
};
[[noreturn]] void throw_dp_sgd_unsupported(std::string message, const char* file, int line,
                                           const char* function);
// Raises DpSgdUnsupported with a formatted message (as STRAND_FAIL raises Error).
#define STRAND_DP_SGD_UNSUPPORTED(...)                                                           \
  ::strand::runtime::throw_dp_sgd_unsupported(::strand::format(__VA_ARGS__), __FILE__, __LINE__, \
                                              __func__)

// What the engine tells a rule about the step.
struct PerExampleContext {
  int64_t batch = 0;                          // N, the examples in the step
  std::optional<kernels::NormMethod> method;  // forced (tests), else the cost model
  std::string op;                             // the node's name, for errors
  std::string parameters;                     // its parameters' names, for errors
};

// One op's parameters in one backward, captured by the op's rule.
class PerExampleGrads {
 public:
  virtual ~PerExampleGrads() = default;
  // total[i] += ||g_i||^2 for each captured parameter, in capture order (total is [N]). Returns
  // the path taken ("ghost", "materialized", "elementwise"; "" when no choice was made).
  virtual std::string add_squared_norms(const PerExampleContext& ctx, Tensor& total) = 0;
  // sum_i factor[i] g_i for each captured parameter, in capture order (any shape with the
  // parameter's number of elements).
  virtual std::vector<Tensor> clipped_sums(const PerExampleContext& ctx, const Tensor& factor) = 0;
};

class PerExampleRule {
 public:
  virtual ~PerExampleRule() = default;
  // Empty when the op's per-example gradients exist; otherwise the reason they do not, which
  // follows "layer 'name' is " in the DpSgdUnsupported error.
  virtual std::string refusal() const { return ""; }
  // Whether input `slot` may be a parameter; through_view: it reaches the op through views.
  virtual bool parameter_slot(size_t slot, bool through_view) const = 0;
  // The most parameters one node of the op may take.
  virtual size_t max_parameters() const { return std::numeric_limits<size_t>::max(); }
  // A view: no parameters of its own; the engine follows it to the parameter it reshapes.
  virtual bool is_view() const { return false; }
  // Before backward, once the parameters are known (the RNN keeps its gate gradients).
  virtual void prepare() const {}
  // From the node's post-hook, while its saved state is alive. slots: the parameter inputs.
  virtual std::unique_ptr<PerExampleGrads> capture(Node& node, const std::vector<size_t>& slots,
                                                   const Grads& grad_outputs) const = 0;
};

// The rule of an op whose parameters have no per-example gradient, saying why.
std::shared_ptr<const PerExampleRule> per_example_refusal(std::string reason);

// The rule of view(): the engine looks through it.
std::shared_ptr<const PerExampleRule> per_example_view();

// What the rules share.

// The contiguous output gradient, checked defined and (batch_first) [N, ...].
Tensor checked_output_grad(const Tensor& grad, const PerExampleContext& ctx, bool batch_first);

inline kernels::NormMethod pick_norm_method(const PerExampleContext& ctx,
                                            const kernels::PerSampleShape& s) {
  return ctx.method ? *ctx.method : kernels::choose_norm_method(s);
}

template <typename T>
kernels::SampleRows<T> sample_rows(const Tensor& t, int64_t stride_n, int64_t stride_t,
                                   int64_t stride_k) {
  return {t.data<T>(), stride_n, stride_t, stride_k};
}

// ||sum_t g_t a_t^T||^2 per example for a [N*T, in] / g [N*T, out] laid out with the given row
// strides (elements between examples and between positions).
Tensor dense_norm(const Tensor& a, const Tensor& g, const kernels::PerSampleShape& s, int64_t a_sn,
                  int64_t a_st, int64_t g_sn, int64_t g_st, kernels::NormMethod method);
// ||sum_t g_t||^2 per example.
Tensor bias_norm(const Tensor& g, const kernels::PerSampleShape& s, int64_t g_sn, int64_t g_st,
                 int64_t g_sk);

// The factor per example, shaped to broadcast over a tensor of rank `rank` whose dimension
// `batch_dim` is the batch.
Tensor factor_for(const Tensor& factor, int64_t rank, int64_t batch_dim);

// Runs fn(T{}) for the dtypes the per-sample kernels take: f32/f64 on the CPU, f32 on CUDA.
template <typename Fn>
void dispatch_per_example(const Tensor& t, Fn&& fn) {
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

// Inside dispatch_per_example: kernels::cuda::fn<T> on a CUDA device (float only), else cpu.
#define STRAND_PER_EXAMPLE_CALL(device, fn, ...)             \
  do {                                                       \
    if ((device).is_cuda()) {                                \
      if constexpr (std::is_same_v<T, float>) {              \
        STRAND_CUDA_CALL(kernels::cuda::fn<T>(__VA_ARGS__)); \
      }                                                      \
    } else {                                                 \
      kernels::cpu::fn<T>(__VA_ARGS__);                      \
    }                                                        \
  } while (0)

}  // namespace strand::runtime
