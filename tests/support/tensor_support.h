// Tensor comparisons for tests: every element checked, failures reported with their indices.
#pragma once

#include <vector>

#include "runtime/tensor.h"
#include "tests/support/test_support.h"

namespace strand::testing {

inline ::testing::AssertionResult tensor_close(const Tensor& actual,
                                               const std::vector<double>& expected,
                                               double rtol = 1e-6, double atol = 1e-6) {
  return all_close(actual.to_vector<double>(), expected, rtol, atol);
}

inline ::testing::AssertionResult tensors_close(const Tensor& actual, const Tensor& expected,
                                                double rtol = 1e-6, double atol = 1e-6) {
  if (actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << "shape " << runtime::shape_str(actual.shape()) << " vs "
                                         << runtime::shape_str(expected.shape());
  }
  return all_close(actual.to_vector<double>(), expected.to_vector<double>(), rtol, atol);
}

// An f64 CPU leaf with values from a seeded normal draw, requiring grad.
inline Tensor f64_param(const Shape& shape, uint64_t seed) {
  return runtime::randn(shape, seed, {.dtype = DType::kF64}).set_requires_grad(true);
}

}  // namespace strand::testing
