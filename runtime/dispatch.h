// Helpers every op uses: run a kernel family function on the tensor's device, and the argument
// checks that turn mismatched devices, dtypes and shapes into clear errors.
#pragma once

#include <vector>

#include "core/error.h"
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

// A contiguous shape viewed as [outer, dims first..last, inner], as the reduction and index
// kernels take it.
struct DimSplit {
  int64_t outer = 1, dim = 1, inner = 1;
};
DimSplit split_at(const Shape& shape, int64_t first, int64_t last);

// Runs fn(T{}) for the families whose kernels take f32 or bf16 on CUDA and f32 or f64 on the CPU
// (convolution, recurrence), or raises a clear error naming the op and the dtype.
template <typename Fn>
void dispatch_gpu_f32_bf16_cpu_f32_f64(const Tensor& t, const char* op, Fn&& fn) {
  if (t.is_cuda()) {
    STRAND_CHECK(t.dtype() == DType::kF32 || t.dtype() == DType::kBF16,
                 "{} on CUDA needs f32 or bf16 tensors, got {}", op, t.dtype());
  } else {
    STRAND_CHECK(t.dtype() == DType::kF32 || t.dtype() == DType::kF64,
                 "{} on the CPU needs f32 or f64 tensors, got {}", op, t.dtype());
  }
  switch (t.dtype()) {
    case DType::kF32:
      fn(float{});
      break;
    case DType::kF64:
      fn(double{});
      break;
    default:
      fn(BFloat16{});
      break;
  }
}

}  // namespace strand::runtime
