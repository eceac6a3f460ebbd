// Helpers every op uses: run a kernel family function on the tensor's device, and the argument
// checks that turn mismatched devices, dtypes and shapes into clear errors.
#pragma once

#include <vector>

#include "kernels/error.h"
#include "runtime/device.h"
#include "runtime/tensor.h"

// Calls strand::kernels::cpu::fn(...) or strand::kernels::cuda::fn(...) for the device.
#define STRAND_DISPATCH_DEVICE(device, fn, ...)                   \
  do {                                                            \
    if ((device).is_cuda()) {                                     \
      STRAND_CUDA_CALL(::strand::kernels::cuda::fn(__VA_ARGS__)); \
    } else {                                                      \
      ::strand::kernels::cpu::fn(__VA_ARGS__);                    \
    }                                                             \
  } while (0)

namespace strand::runtime {

// All defined tensors on one device and of one floating dtype; names the op and the culprit.
void check_floating_same(const char* op, const std::vector<const Tensor*>& tensors);
void check_same_device(const char* op, const std::vector<const Tensor*>& tensors);
void check_dtype(const char* op, const char* what, const Tensor& t, DType expected);

}  // namespace strand::runtime
