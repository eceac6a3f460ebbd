// bf16 autocast: inside an AutocastGuard(true), Linear, Conv1d, LSTM and GRU layers on a CUDA
// device cast their float32 inputs and weights to bf16 (the matmul, convolution and recurrence
// kernels accumulate in fp32) and return float32 outputs. The parameters stay float32 master
// weights and get float32 gradients through the casts. On a CPU with AVX512-BF16 or AMX the guard
// also turns on the kernels' bf16 math (kernels/common/onednn.h): fp32 convolutions and matrix
// products (LSTM/GRU's included) read their inputs rounded to bf16 and accumulate in fp32; tensors
// stay float32. On other CPUs the CPU computes in fp32.
#pragma once

#include "runtime/tensor.h"

namespace strand::layers {

// Turns autocast on or off for this thread until the guard goes out of scope (guards nest).
class AutocastGuard {
 public:
  explicit AutocastGuard(bool enabled);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool previous_;
};

bool autocast_enabled();
// True when autocast is on and x is a float32 CUDA tensor: the layer then runs in bf16.
bool autocast_applies(const runtime::Tensor& x);
// t as bf16 (differentiable cast) for an autocast layer; an undefined tensor stays undefined.
runtime::Tensor to_bf16(const runtime::Tensor& t);

}  // namespace strand::layers
