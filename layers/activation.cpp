// Activation layers (see activation.h).
#include "layers/activation.h"

#include "core/error.h"
#include "runtime/ops.h"

namespace strand::layers {

Activation::Activation(const std::string& name) : Module(name) {
  using namespace runtime;
  if (name == "ReLU")
    fn_ = [](const Tensor& x) { return relu(x); };
  else if (name == "Sigmoid")
    fn_ = [](const Tensor& x) { return sigmoid(x); };
  else if (name == "Tanh")
    fn_ = [](const Tensor& x) { return runtime::tanh(x); };
  else if (name == "GELU")
    fn_ = [](const Tensor& x) { return gelu(x); };
  else if (name == "Softplus")
    fn_ = [](const Tensor& x) { return softplus(x); };
  else
    STRAND_FAIL("unknown activation '{}': expected ReLU, Sigmoid, Tanh, GELU or Softplus", name);
}

}  // namespace strand::layers
