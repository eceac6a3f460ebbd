// Reverse-complement averaging: a wrapper Module whose output is the mean of the wrapped model's
// outputs on a sequence and on its reverse complement, so predictions do not depend on which
// strand a sequence was read from. It averages raw outputs (logits), before any sigmoid/softmax.
#pragma once

#include <memory>

#include "layers/module.h"

namespace strand::layers {

// The reverse complement of a batch of DNA: u8 base codes [N, L] (flip L; A<->T, C<->G, the
// unknown code 4 stays) or a float one-hot [N, 4, L] in A, C, G, T channel order (flip L and the
// channels; differentiable). Other shapes or dtypes are an error.
Tensor reverse_complement(const Tensor& x);

class ReverseComplementAverage : public Module {
 public:
  // The wrapped model appears under "model." in state_dict, as a PyTorch wrapper holding it as
  // self.model would name it.
  explicit ReverseComplementAverage(std::shared_ptr<Module> model);
  Tensor forward(const Tensor& x) override;
  Module& model() { return *model_; }

 private:
  std::shared_ptr<Module> model_;
};

}  // namespace strand::layers
