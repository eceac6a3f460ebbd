// CPU elementwise kernels: the reference twins of elementwise.cu, parallel over elements.
#include <algorithm>

#include "core/bfloat16.h"
#include "kernels/common/type_lists.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/elementwise/elementwise_ops.h"

namespace strand::kernels::cpu {
namespace {
// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelGrain = 1 << 15;
}  // namespace

namespace {

// The loops live in plain functions of local pointers: inside the generic lambdas below GCC kept
// relu's select as a branch (a mispredicted branch per element made ReLU ~10x slower than memory).
template <UnaryOp kOp, typename T>
void unary_loop(int64_t n, const T* x, T* y, acc_t<T> a0, acc_t<T> a1) {
  using A = acc_t<T>;
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = T(unary_value<kOp, A>(A(x[i]), a0, a1));
}

template <UnaryOp kOp, typename T>
void unary_backward_loop(int64_t n, const T* dy, const T* xs, const T* ys, T* dx, acc_t<T> a0,
                         acc_t<T> a1) {
  using A = acc_t<T>;
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
  for (int64_t i = 0; i < n; ++i)
    dx[i] = T(A(dy[i]) * unary_slope<kOp, A>(A(xs[i]), A(ys[i]), a0, a1));
}

}  // namespace

template <typename T>
void unary(const Context&, UnaryOp op, int64_t n, const T* x, T* y, double p0, double p1) {
  using A = acc_t<T>;
  with_unary_op(op, [&](auto kop) { unary_loop<decltype(kop)::value, T>(n, x, y, A(p0), A(p1)); });
}

template <typename T>
void unary_backward(const Context&, UnaryOp op, int64_t n, const T* dy, const T* x, const T* y,
                    T* dx, double p0, double p1) {
  using A = acc_t<T>;
  // An op's slope never reads what its forward pass did not save, so a missing x or y can stand
  // in as dy: the loop then has no per-element branch and vectorises.
  const T* xs = x ? x : dy;
  const T* ys = y ? y : dy;
  with_unary_op(op, [&](auto kop) {
    unary_backward_loop<decltype(kop)::value, T>(n, dy, xs, ys, dx, A(p0), A(p1));
  });
}

namespace {

// One row of a binary op; the common stride patterns get their own loops so they vectorise.
template <BinaryOp kOp, typename T>
void binary_row(int64_t n, const T* a, int64_t sa, const T* b, int64_t sb, T* out, int64_t so) {
  using A = acc_t<T>;
  if (so == 1 && sa == 1 && sb == 1) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) out[j] = T(binary_value<kOp, A>(A(a[j]), A(b[j])));
  } else if (so == 1 && sa == 1 && sb == 0) {
    const A bv = A(b[0]);
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) out[j] = T(binary_value<kOp, A>(A(a[j]), bv));
  } else if (so == 1 && sa == 0 && sb == 1) {
    const A av = A(a[0]);
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) out[j] = T(binary_value<kOp, A>(av, A(b[j])));
  } else {
    for (int64_t j = 0; j < n; ++j)
      out[j * so] = T(binary_value<kOp, A>(A(a[j * sa]), A(b[j * sb])));
  }
}

}  // namespace

template <typename T>
void binary(const Context&, BinaryOp op, const StridedIter<3>& it, const T* a, const T* b, T* out) {
  // Innermost dimension as a row loop, the outer ones through offsets.
  const int last = it.ndim - 1;
  const int64_t inner = it.sizes[last];
  const int64_t so = it.strides[0][last], sa = it.strides[1][last], sb = it.strides[2][last];
  const int64_t rows = it.numel / inner;
  with_binary_op(op, [&](auto kop) {
    if (rows == 1) {
      // One long row (the contiguous case): split it across threads.
      constexpr int64_t kChunk = 1 << 14;
      const int64_t chunks = (inner + kChunk - 1) / kChunk;
#pragma omp parallel for if (inner > kParallelGrain) schedule(static)
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t begin = c * kChunk, len = std::min(kChunk, inner - begin);
        binary_row<decltype(kop)::value, T>(len, a + begin * sa, sa, b + begin * sb, sb,
                                            out + begin * so, so);
      }
      return;
    }
#pragma omp parallel for if (it.numel > kParallelGrain) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t base = r * inner;
      binary_row<decltype(kop)::value, T>(inner, a + it.offset(1, base), sa, b + it.offset(2, base),
                                          sb, out + it.offset(0, base), so);
    }
  });
}

template <typename T>
void strided_copy(const Context&, const StridedIter<2>& it, const T* in, T* out) {
  const int64_t n = it.numel;
  const int last = it.ndim - 1;
  const int64_t inner = it.sizes[last];
  const int64_t so = it.strides[0][last], si = it.strides[1][last];
  const int64_t rows = n / inner;
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t base = r * inner;
    T* o = out + it.offset(0, base);
    const T* pi = in + it.offset(1, base);
    for (int64_t j = 0; j < inner; ++j) o[j * so] = pi[j * si];
  }
}

template <typename T>
void bce_with_logits(const Context&, int64_t n, int64_t tasks, const T* x, const T* y, const T* w,
                     T* loss) {
  using A = acc_t<T>;
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    loss[i] = T(bce_logits<A>(A(x[i]), A(y[i]), w ? A(w[i % tasks]) : A(1)));
  }
}

template <typename T>
void bce_with_logits_backward(const Context&, int64_t n, int64_t tasks, const T* x, const T* y,
                              const T* w, const T* dloss, T* dx) {
  using A = acc_t<T>;
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    dx[i] = T(A(dloss[i]) * bce_logits_grad<A>(A(x[i]), A(y[i]), w ? A(w[i % tasks]) : A(1)));
  }
}

STRAND_FLOATING_TYPES(STRAND_ELEMENTWISE_INSTANTIATE)

// Copies move bytes, so one instantiation per element size serves every dtype.
#define INSTANTIATE(T) \
  template void strided_copy<T>(const Context&, const StridedIter<2>&, const T*, T*);
STRAND_WORD_TYPES(INSTANTIATE)
#undef INSTANTIATE

}  // namespace strand::kernels::cpu
