// Sequential: children run in order, named "0", "1", ... as in PyTorch's nn.Sequential.
#pragma once

#include <memory>
#include <vector>

#include "layers/module.h"

namespace strand::layers {

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  explicit Sequential(std::vector<std::shared_ptr<Module>> modules);
  Sequential& add(std::shared_ptr<Module> module);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return modules_.size(); }
  Module& operator[](size_t i) { return *modules_.at(i); }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

}  // namespace strand::layers
