// Sequential: children run in order, named "0", "1", ... as in PyTorch's nn.Sequential; and
// Flatten, which joins dimensions start..end (default: all but the batch dimension).
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

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start = 1, int64_t end = -1) : Module("Flatten"), start_(start), end_(end) {}
  Tensor forward(const Tensor& x) override { return x.flatten(start_, end_); }

 private:
  int64_t start_, end_;
};

}  // namespace strand::layers
