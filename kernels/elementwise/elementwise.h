// Elementwise kernels: unary ops (with up to two scalar parameters), binary ops over broadcast
// strided operands, the unary ops' backward, and the fused binary cross-entropy with logits.
// Types: float, double, BFloat16 (computed in float).
#pragma once

#include <cstdint>

#include "kernels/common/context.h"
#include "kernels/elementwise/strided.h"

namespace strand::kernels {

enum class UnaryOp : int {
  kNeg,
  kExp,
  kLog,
  kSqrt,
  kAbs,
  kRelu,
  kSigmoid,
  kTanh,
  kGelu,
  kSoftplus,
  kClamp,       // p0 = low, p1 = high
  kAddScalar,   // x + p0
  kMulScalar,   // x * p0
  kPowScalar,   // x ^ p0
  kRsubScalar,  // p0 - x
  kRdivScalar,  // p0 / x
};

// kGe yields 1 where a >= b, else 0 (masks for the backward of maximum and minimum).
enum class BinaryOp : int { kAdd, kSub, kMul, kDiv, kPow, kMaximum, kMinimum, kGe };

#define STRAND_ELEMENTWISE_API(ns)                                                                \
  namespace ns {                                                                                  \
  /* y = op(x), all contiguous with n elements. */                                                \
  template <typename T>                                                                           \
  void unary(const Context& ctx, UnaryOp op, int64_t n, const T* x, T* y, double p0, double p1);  \
  /* dx = dy * op'(x) (x and y = op(x) as saved by the forward pass), all contiguous. */          \
  template <typename T>                                                                           \
  void unary_backward(const Context& ctx, UnaryOp op, int64_t n, const T* dy, const T* x,         \
                      const T* y, T* dx, double p0, double p1);                                   \
  /* out = a op b over it (operand 0 = out, 1 = a, 2 = b; element strides, 0 = broadcast). */     \
  template <typename T>                                                                           \
  void binary(const Context& ctx, BinaryOp op, const StridedIter<3>& it, const T* a, const T* b,  \
              T* out);                                                                            \
  /* out = copy of in over it (operand 0 = out, 1 = in): makes strided data contiguous. */        \
  template <typename T>                                                                           \
  void strided_copy(const Context& ctx, const StridedIter<2>& it, const T* in, T* out);           \
  /* Per-element BCE with logits: x, y contiguous [n]; w = pos_weight broadcast along the last */ \
  /* dimension of size tasks (nullptr = 1). loss[i] or, in backward, dx[i] = dl[i] * dl/dx. */    \
  template <typename T>                                                                           \
  void bce_with_logits(const Context& ctx, int64_t n, int64_t tasks, const T* x, const T* y,      \
                       const T* w, T* loss);                                                      \
  template <typename T>                                                                           \
  void bce_with_logits_backward(const Context& ctx, int64_t n, int64_t tasks, const T* x,         \
                                const T* y, const T* w, const T* dloss, T* dx);                   \
  }

STRAND_ELEMENTWISE_API(cpu)
STRAND_ELEMENTWISE_API(cuda)
#undef STRAND_ELEMENTWISE_API

// The explicit instantiations for element type T, the same in the CPU and the CUDA file.
#define STRAND_ELEMENTWISE_INSTANTIATE(T)                                                          \
  template void unary<T>(const Context&, UnaryOp, int64_t, const T*, T*, double, double);          \
  template void unary_backward<T>(const Context&, UnaryOp, int64_t, const T*, const T*, const T*,  \
                                  T*, double, double);                                             \
  template void binary<T>(const Context&, BinaryOp, const StridedIter<3>&, const T*, const T*,     \
                          T*);                                                                     \
  template void bce_with_logits<T>(const Context&, int64_t, int64_t, const T*, const T*, const T*, \
                                   T*);                                                            \
  template void bce_with_logits_backward<T>(const Context&, int64_t, int64_t, const T*, const T*,  \
                                            const T*, const T*, T*);

}  // namespace strand::kernels
