// Dropout: inverted dropout in training mode, identity in eval mode; masks come from the default
// Philox generator (seeded by runtime::manual_seed), identical on CPU and GPU.
#pragma once

#include "layers/module.h"

namespace strand::layers {

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  double p() const { return p_; }

 protected:
  std::string extra_repr() const override;

 private:
  double p_;
};

}  // namespace strand::layers
