// The DP-SGD test oracle: in float64, each example's gradient from its own backward pass,
// clipped to C and summed naively, compared with runtime::PerSampleClipper on the whole batch.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/autograd.h"
#include "runtime/ops.h"
#include "runtime/per_sample.h"
#include "tests/support/tensor_support.h"

namespace strand::testing {

using runtime::Tensor;
using runtime::operator*;
using runtime::operator+;

// 0/1 labels [n, outputs], seeded.
inline Tensor random_targets(int64_t n, int64_t outputs, uint64_t seed) {
  std::vector<double> v =
      runtime::rand({n, outputs}, seed, {.dtype = DType::kF64}).to_vector<double>();
  for (double& e : v) e = e < 0.5 ? 0.0 : 1.0;
  return runtime::from_vector(v, {n, outputs});
}

struct Problem {
  std::vector<std::pair<std::string, Tensor>> params;
  std::function<Tensor(const Tensor&)> forward;  // batch-first input -> logits [n, outputs]
  Tensor x, y;
};

inline Tensor loss_of(const Problem& p, const Tensor& x, const Tensor& y) {
  return runtime::binary_cross_entropy_with_logits(p.forward(x), y);
}

// Per-example gradients (each from its own backward) and their norms.
inline std::vector<std::vector<Tensor>> per_example_grads(const Problem& p,
                                                          std::vector<double>& norms) {
  std::vector<Tensor> inputs;
  for (const auto& [name, t] : p.params) inputs.push_back(t);
  std::vector<std::vector<Tensor>> out;
  const int64_t n = p.x.shape()[0];
  for (int64_t i = 0; i < n; ++i) {
    const Tensor loss = loss_of(p, p.x.slice(0, i, i + 1), p.y.slice(0, i, i + 1));
    out.push_back(runtime::grad({loss}, inputs));
    double sq = 0;
    for (const Tensor& g : out.back()) sq += runtime::sum(g * g).item();
    norms.push_back(std::sqrt(sq));
  }
  return out;
}

// Runs the engine and compares every parameter's gradient and the norms with the oracle.
inline void check(const Problem& p, std::optional<kernels::NormMethod> method,
                  double c_fraction = 0.5) {
  std::vector<double> norms;
  const auto grads = per_example_grads(p, norms);
  const auto [lo, hi] = std::minmax_element(norms.begin(), norms.end());
  const double c = *lo + c_fraction * (*hi - *lo);  // some examples clipped, some not
  std::vector<Tensor> expected;
  for (size_t k = 0; k < p.params.size(); ++k) {
    Tensor acc = runtime::zeros_like(p.params[k].second);
    for (size_t i = 0; i < grads.size(); ++i) {
      acc = acc + grads[i][k] * std::min(1.0, c / norms[i]);
    }
    expected.push_back(acc);
  }
  runtime::PerSampleClipper clipper(p.params, {.max_grad_norm = c, .method = method});
  for (auto& [name, t] : p.params) Tensor(t).zero_grad();
  const int64_t n = p.x.shape()[0];
  const Tensor got_norms = clipper.backward(loss_of(p, p.x, p.y), n, static_cast<double>(n));
  EXPECT_TRUE(tensor_close(got_norms, norms, 1e-9, 1e-12));
  for (size_t k = 0; k < p.params.size(); ++k) {
    EXPECT_TRUE(tensors_close(p.params[k].second.grad(), expected[k], 1e-9, 1e-12))
        << p.params[k].first << " method "
        << (method ? kernels::norm_method_name(*method) : "auto");
  }
}

}  // namespace strand::testing
