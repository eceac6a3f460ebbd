// Argument checks shared by the ops (see dispatch.h).
#include "runtime/dispatch.h"

namespace strand::runtime {

void check_same_device(const char* op, const std::vector<const Tensor*>& tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t || !t->defined()) continue;
    if (!first) {
      first = t;
      continue;
    }
    STRAND_CHECK(t->device() == first->device(),
                 "{}: tensors are on different devices ({} and {}); move them with to()", op,
                 first->device().str(), t->device().str());
  }
}

void check_floating_same(const char* op, const std::vector<const Tensor*>& tensors) {
  check_same_device(op, tensors);
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t || !t->defined()) continue;
    STRAND_CHECK(is_floating(t->dtype()), "{}: needs floating tensors (f32, f64 or bf16), got {}",
                 op, t->dtype());
    if (!first) {
      first = t;
      continue;
    }
    STRAND_CHECK(t->dtype() == first->dtype(),
                 "{}: dtype mismatch ({} and {}); convert with to(dtype)", op, first->dtype(),
                 t->dtype());
  }
}

void check_dtype(const char* op, const char* what, const Tensor& t, DType expected) {
  STRAND_CHECK(t.dtype() == expected, "{}: {} must have dtype {}, got {}", op, what, expected,
               t.dtype());
}

DimSplit split_at(const Shape& shape, int64_t first, int64_t last) {
  DimSplit s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < first) {
      s.outer *= shape[d];
    } else if (d <= last) {
      s.dim *= shape[d];
    } else {
      s.inner *= shape[d];
    }
  }
  return s;
}

}  // namespace strand::runtime
