// Shape-only layers: Flatten joins dimensions start..end (default: all but the batch dimension);
// Permute reorders dimensions (e.g. a convolution's [N, C, L] into an LSTM's batch-first
// [N, L, C]).
#pragma once

#include <vector>

#include "layers/module.h"

namespace strand::layers {

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start = 1, int64_t end = -1)
      : Module("Flatten"), start_(start), end_(end) {}
  Tensor forward(const Tensor& x) override { return x.flatten(start_, end_); }
  int64_t start() const { return start_; }
  int64_t end() const { return end_; }

 private:
  int64_t start_, end_;
};

class Permute : public Module {
 public:
  explicit Permute(std::vector<int64_t> dims) : Module("Permute"), dims_(std::move(dims)) {}
  Tensor forward(const Tensor& x) override { return x.permute(dims_); }
  const std::vector<int64_t>& dims() const { return dims_; }

 private:
  std::vector<int64_t> dims_;
};

}  // namespace strand::layers
