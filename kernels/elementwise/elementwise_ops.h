// The scalar formulas of every elementwise op and of its derivative, written once for host and
// device. Computation is in Acc (float for f32/bf16, double for f64).
#pragma once

#include <cmath>
#include <type_traits>

#include "kernels/common/hd.h"
#include "kernels/elementwise/elementwise.h"

namespace strand::kernels {

template <typename T>
struct AccOf {
  using type = float;
};
template <>
struct AccOf<double> {
  using type = double;
};
template <typename T>
using acc_t = typename AccOf<T>::type;

STRAND_HD float hd_exp(float x) { return expf(x); }
STRAND_HD double hd_exp(double x) { return exp(x); }
STRAND_HD float hd_log(float x) { return logf(x); }
STRAND_HD double hd_log(double x) { return log(x); }
STRAND_HD float hd_log1p(float x) { return log1pf(x); }
STRAND_HD double hd_log1p(double x) { return log1p(x); }
STRAND_HD float hd_sqrt(float x) { return sqrtf(x); }
STRAND_HD double hd_sqrt(double x) { return sqrt(x); }
STRAND_HD float hd_tanh(float x) { return tanhf(x); }
STRAND_HD double hd_tanh(double x) { return tanh(x); }
STRAND_HD float hd_erf(float x) { return erff(x); }
STRAND_HD double hd_erf(double x) { return erf(x); }
STRAND_HD float hd_pow(float x, float y) { return powf(x, y); }
STRAND_HD double hd_pow(double x, double y) { return pow(x, y); }
STRAND_HD float hd_abs(float x) { return fabsf(x); }
STRAND_HD double hd_abs(double x) { return fabs(x); }

template <typename A>
STRAND_HD A hd_sigmoid(A x) {
  // Split by sign so exp never overflows.
  if (x >= A(0)) return A(1) / (A(1) + hd_exp(-x));
  const A e = hd_exp(x);
  return e / (A(1) + e);
}

// softplus(x) = log(1 + e^x), linear above threshold 20 as in PyTorch.
template <typename A>
STRAND_HD A hd_softplus(A x) {
  if (x > A(20)) return x;
  return hd_log1p(hd_exp(x));
}

// The formulas per op as compile-time templates, so each CPU loop compiles to straight-line
// vector code; apply_* below select one at run time (CUDA kernels, where the op is uniform).
template <UnaryOp kOp, typename A>
STRAND_HD A unary_value(A x, A p0, A p1) {
  if constexpr (kOp == UnaryOp::kNeg)
    return -x;
  else if constexpr (kOp == UnaryOp::kExp)
    return hd_exp(x);
  else if constexpr (kOp == UnaryOp::kLog)
    return hd_log(x);
  else if constexpr (kOp == UnaryOp::kSqrt)
    return hd_sqrt(x);
  else if constexpr (kOp == UnaryOp::kAbs)
    return hd_abs(x);
  else if constexpr (kOp == UnaryOp::kRelu)
    return x > A(0) ? x : A(0);
  else if constexpr (kOp == UnaryOp::kSigmoid)
    return hd_sigmoid(x);
  else if constexpr (kOp == UnaryOp::kTanh)
    return hd_tanh(x);
  // Exact (erf) GELU, PyTorch's default.
  else if constexpr (kOp == UnaryOp::kGelu)
    return A(0.5) * x * (A(1) + hd_erf(x * A(0.7071067811865476)));
  else if constexpr (kOp == UnaryOp::kSoftplus)
    return hd_softplus(x);
  else if constexpr (kOp == UnaryOp::kClamp)
    return x < p0 ? p0 : (x > p1 ? p1 : x);
  else if constexpr (kOp == UnaryOp::kAddScalar)
    return x + p0;
  else if constexpr (kOp == UnaryOp::kMulScalar)
    return x * p0;
  else if constexpr (kOp == UnaryOp::kPowScalar)
    return hd_pow(x, p0);
  else if constexpr (kOp == UnaryOp::kRsubScalar)
    return p0 - x;
  else
    return p0 / x;  // kRdivScalar
}

// d(op(x))/dx given x and y = op(x) (each op uses whichever is cheaper and stable).
template <UnaryOp kOp, typename A>
STRAND_HD A unary_slope(A x, A y, A p0, A p1) {
  if constexpr (kOp == UnaryOp::kNeg)
    return A(-1);
  else if constexpr (kOp == UnaryOp::kExp)
    return y;
  else if constexpr (kOp == UnaryOp::kLog)
    return A(1) / x;
  else if constexpr (kOp == UnaryOp::kSqrt)
    return A(0.5) / y;
  else if constexpr (kOp == UnaryOp::kAbs)
    return x > A(0) ? A(1) : (x < A(0) ? A(-1) : A(0));
  else if constexpr (kOp == UnaryOp::kRelu)
    return x > A(0) ? A(1) : A(0);
  else if constexpr (kOp == UnaryOp::kSigmoid)
    return y * (A(1) - y);
  else if constexpr (kOp == UnaryOp::kTanh)
    return A(1) - y * y;
  else if constexpr (kOp == UnaryOp::kGelu) {
    const A cdf = A(0.5) * (A(1) + hd_erf(x * A(0.7071067811865476)));
    const A pdf = hd_exp(A(-0.5) * x * x) * A(0.3989422804014327);
    return cdf + x * pdf;
  } else if constexpr (kOp == UnaryOp::kSoftplus)
    return x > A(20) ? A(1) : hd_sigmoid(x);
  else if constexpr (kOp == UnaryOp::kClamp)
    return (x >= p0 && x <= p1) ? A(1) : A(0);
  else if constexpr (kOp == UnaryOp::kAddScalar)
    return A(1);
  else if constexpr (kOp == UnaryOp::kMulScalar)
    return p0;
  else if constexpr (kOp == UnaryOp::kPowScalar)
    return p0 == A(0) ? A(0) : p0 * hd_pow(x, p0 - A(1));
  else if constexpr (kOp == UnaryOp::kRsubScalar)
    return A(-1);
  else
    return -y / x;  // kRdivScalar
}

template <BinaryOp kOp, typename A>
STRAND_HD A binary_value(A a, A b) {
  if constexpr (kOp == BinaryOp::kAdd)
    return a + b;
  else if constexpr (kOp == BinaryOp::kSub)
    return a - b;
  else if constexpr (kOp == BinaryOp::kMul)
    return a * b;
  else if constexpr (kOp == BinaryOp::kDiv)
    return a / b;
  else if constexpr (kOp == BinaryOp::kPow)
    return hd_pow(a, b);
  else if constexpr (kOp == BinaryOp::kMaximum)
    return a > b ? a : b;
  else if constexpr (kOp == BinaryOp::kMinimum)
    return a < b ? a : b;
  else
    return a >= b ? A(1) : A(0);  // kGe
}

#define STRAND_UNARY_CASES(X)                                                                  \
  X(kNeg)                                                                                      \
  X(kExp)                                                                                      \
  X(kLog)                                                                                      \
  X(kSqrt) X(kAbs) X(kRelu) X(kSigmoid) X(kTanh) X(kGelu) X(kSoftplus) X(kClamp) X(kAddScalar) \
      X(kMulScalar) X(kPowScalar) X(kRsubScalar) X(kRdivScalar)
#define STRAND_BINARY_CASES(X) \
  X(kAdd) X(kSub) X(kMul) X(kDiv) X(kPow) X(kMaximum) X(kMinimum) X(kGe)

template <typename A>
STRAND_HD A apply_unary(UnaryOp op, A x, A p0, A p1) {
  switch (op) {
#define STRAND_CASE(name) \
  case UnaryOp::name:     \
    return unary_value<UnaryOp::name, A>(x, p0, p1);
    STRAND_UNARY_CASES(STRAND_CASE)
#undef STRAND_CASE
  }
  return x;
}

template <typename A>
STRAND_HD A unary_derivative(UnaryOp op, A x, A y, A p0, A p1) {
  switch (op) {
#define STRAND_CASE(name) \
  case UnaryOp::name:     \
    return unary_slope<UnaryOp::name, A>(x, y, p0, p1);
    STRAND_UNARY_CASES(STRAND_CASE)
#undef STRAND_CASE
  }
  return A(0);
}

template <typename A>
STRAND_HD A apply_binary(BinaryOp op, A a, A b) {
  switch (op) {
#define STRAND_CASE(name) \
  case BinaryOp::name:    \
    return binary_value<BinaryOp::name, A>(a, b);
    STRAND_BINARY_CASES(STRAND_CASE)
#undef STRAND_CASE
  }
  return a;
}

// Calls fn(std::integral_constant<UnaryOp, op>{}): CPU loops then instantiate unary_value for a
// constant op.
template <typename Fn>
decltype(auto) with_unary_op(UnaryOp op, Fn&& fn) {
  switch (op) {
#define STRAND_CASE(name) \
  case UnaryOp::name:     \
    return fn(std::integral_constant<UnaryOp, UnaryOp::name>{});
    STRAND_UNARY_CASES(STRAND_CASE)
#undef STRAND_CASE
  }
  return fn(std::integral_constant<UnaryOp, UnaryOp::kNeg>{});
}

template <typename Fn>
decltype(auto) with_binary_op(BinaryOp op, Fn&& fn) {
  switch (op) {
#define STRAND_CASE(name) \
  case BinaryOp::name:    \
    return fn(std::integral_constant<BinaryOp, BinaryOp::name>{});
    STRAND_BINARY_CASES(STRAND_CASE)
#undef STRAND_CASE
  }
  return fn(std::integral_constant<BinaryOp, BinaryOp::kAdd>{});
}

// Binary cross-entropy with logits, per element, stable for any x:
//   l = (1 - y) x + (1 + (w - 1) y) (log(1 + e^-|x|) + max(-x, 0)),  w = pos_weight.
template <typename A>
STRAND_HD A bce_logits(A x, A y, A w) {
  const A log_weight = A(1) + (w - A(1)) * y;
  const A neg_x = -x > A(0) ? -x : A(0);
  return (A(1) - y) * x + log_weight * (hd_log1p(hd_exp(-hd_abs(x))) + neg_x);
}

// dl/dx = (1 - y) - (1 + (w - 1) y) sigmoid(-x).
template <typename A>
STRAND_HD A bce_logits_grad(A x, A y, A w) {
  const A log_weight = A(1) + (w - A(1)) * y;
  return (A(1) - y) - log_weight * hd_sigmoid(-x);
}

}  // namespace strand::kernels
