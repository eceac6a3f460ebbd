// Finite-difference gradient checking in float64 on CPU: compares autograd's gradient of
// sum(fn(inputs) * r), r a fixed random weighting, with central differences for every element of
// every input that requires grad.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace strand::runtime {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-4;
  uint64_t seed = 1234;  // for the output weighting r
};

struct GradcheckResult {
  bool ok = true;
  std::string report;  // the worst mismatches, with input and element indices
  explicit operator bool() const { return ok; }
};

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace strand::runtime
