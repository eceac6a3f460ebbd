// MaxPool1d and AvgPool1d over the length of [N, C, L], as PyTorch's (stride defaults to kernel).
#pragma once

#include "layers/module.h"

namespace strand::layers {

class Pool1d : public Module {
 public:
  enum class Kind { kMax, kAvg };
  Pool1d(Kind kind, int64_t kernel, int64_t stride = -1, int64_t padding = 0);
  Tensor forward(const Tensor& x) override;
  Kind kind() const { return kind_; }
  int64_t kernel() const { return kernel_; }
  int64_t stride() const { return stride_; }
  int64_t padding() const { return padding_; }

 protected:
  std::string extra_repr() const override;

 private:
  Kind kind_;
  int64_t kernel_, stride_, padding_;
};

inline std::shared_ptr<Pool1d> MaxPool1d(int64_t kernel, int64_t stride = -1, int64_t padding = 0) {
  return std::make_shared<Pool1d>(Pool1d::Kind::kMax, kernel, stride, padding);
}
inline std::shared_ptr<Pool1d> AvgPool1d(int64_t kernel, int64_t stride = -1, int64_t padding = 0) {
  return std::make_shared<Pool1d>(Pool1d::Kind::kAvg, kernel, stride, padding);
}

}  // namespace strand::layers
