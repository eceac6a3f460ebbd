// Activation layers, stateless wrappers of the runtime ops: ReLU, Sigmoid, Tanh, GELU, Softplus.
#pragma once

#include <functional>

#include "layers/module.h"

namespace strand::layers {

class Activation : public Module {
 public:
  // name: "ReLU", "Sigmoid", "Tanh", "GELU" or "Softplus"; anything else is an error.
  explicit Activation(const std::string& name);
  Tensor forward(const Tensor& x) override { return fn_(x); }

 private:
  std::function<Tensor(const Tensor&)> fn_;
};

}  // namespace strand::layers
