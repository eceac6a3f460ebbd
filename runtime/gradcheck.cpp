// Central-difference gradient checking (see gradcheck.h).
#include "runtime/gradcheck.h"

#include <cmath>
#include <sstream>

#include "core/error.h"
#include "runtime/autograd.h"
#include "runtime/ops.h"

namespace strand::runtime {

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (!t.defined() || !t.requires_grad()) continue;
    STRAND_CHECK(
        t.dtype() == DType::kF64 && t.device().is_cpu() && t.is_contiguous() && t.is_leaf(),
        "gradcheck: input {} must be a contiguous f64 CPU leaf tensor", i);
  }
  const Tensor probe = [&] {
    NoGradGuard no_grad;
    return fn(inputs);
  }();
  const Tensor weights = randn(probe.shape(), options.seed, {.dtype = DType::kF64});
  auto objective = [&](const std::vector<Tensor>& xs) { return sum(mul(fn(xs), weights)); };

  // Analytic gradients.
  std::vector<Tensor> differentiable;
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) differentiable.push_back(t);
  }
  const std::vector<Tensor> analytic = grad({objective(inputs)}, differentiable);

  GradcheckResult result;
  std::ostringstream report;
  int shown = 0;
  size_t k = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (!t.defined() || !t.requires_grad()) continue;
    const std::vector<double> a = analytic[k++].to_vector<double>();
    double* data = t.data<double>();
    for (int64_t e = 0; e < t.numel(); ++e) {
      const double saved = data[e];
      double plus, minus;
      {
        NoGradGuard no_grad;
        data[e] = saved + options.eps;
        plus = objective(inputs).item();
        data[e] = saved - options.eps;
        minus = objective(inputs).item();
        data[e] = saved;
      }
      const double numeric = (plus - minus) / (2 * options.eps);
      const double diff = std::abs(numeric - a[e]);
      if (!(diff <= options.atol + options.rtol * std::abs(numeric))) {
        result.ok = false;
        if (shown++ < 8) {
          report << "input " << i << " element " << e << ": analytic " << a[e] << ", numeric "
                 << numeric << " (difference " << diff << ")\n";
        }
      }
    }
  }
  result.report = report.str();
  return result;
}

}  // namespace strand::runtime
