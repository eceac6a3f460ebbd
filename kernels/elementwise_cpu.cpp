// CPU elementwise kernels: the reference twins of elementwise.cu, parallel over elements.
#include "kernels/elementwise.h"

#include "kernels/bfloat16.h"
#include "kernels/elementwise_ops.h"

namespace strand::kernels::cpu {
namespace {
// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelGrain = 1 << 15;
}  // namespace

template <typename T>
void unary(UnaryOp op, int64_t n, const T* x, T* y, double p0, double p1, const Context&) {
  using A = acc_t<T>;
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = T(apply_unary<A>(op, A(x[i]), A(p0), A(p1)));
}

template <typename T>
void unary_backward(UnaryOp op, int64_t n, const T* dy, const T* x, const T* y, T* dx, double p0,
                    double p1, const Context&) {
  using A = acc_t<T>;
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const A xi = x ? A(x[i]) : A(0);
    const A yi = y ? A(y[i]) : A(0);
    dx[i] = T(A(dy[i]) * unary_derivative<A>(op, xi, yi, A(p0), A(p1)));
  }
}

template <typename T>
void binary(BinaryOp op, const StridedIter<3>& it, const T* a, const T* b, T* out,
            const Context&) {
  using A = acc_t<T>;
  const int64_t n = it.numel;
  if (it.ndim == 1 && it.strides[0][0] == 1 && it.strides[1][0] == 1 && it.strides[2][0] == 1) {
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
    for (int64_t i = 0; i < n; ++i) out[i] = T(apply_binary<A>(op, A(a[i]), A(b[i])));
    return;
  }
  // Innermost dimension as a plain loop, the outer ones through offsets.
  const int last = it.ndim - 1;
  const int64_t inner = it.sizes[last];
  const int64_t so = it.strides[0][last], sa = it.strides[1][last], sb = it.strides[2][last];
  const int64_t rows = n / inner;
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t base = r * inner;
    T* o = out + it.offset(0, base);
    const T* pa = a + it.offset(1, base);
    const T* pb = b + it.offset(2, base);
    for (int64_t j = 0; j < inner; ++j) o[j * so] = T(apply_binary<A>(op, A(pa[j * sa]), A(pb[j * sb])));
  }
}

template <typename T>
void strided_copy(const StridedIter<2>& it, const T* in, T* out, const Context&) {
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
void bce_with_logits(int64_t n, int64_t tasks, const T* x, const T* y, const T* w, T* loss,
                     const Context&) {
  using A = acc_t<T>;
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    loss[i] = T(bce_logits<A>(A(x[i]), A(y[i]), w ? A(w[i % tasks]) : A(1)));
  }
}

template <typename T>
void bce_with_logits_backward(int64_t n, int64_t tasks, const T* x, const T* y, const T* w,
                              const T* dloss, T* dx, const Context&) {
  using A = acc_t<T>;
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    dx[i] = T(A(dloss[i]) * bce_logits_grad<A>(A(x[i]), A(y[i]), w ? A(w[i % tasks]) : A(1)));
  }
}

#define INSTANTIATE(T)                                                                         \
  template void unary<T>(UnaryOp, int64_t, const T*, T*, double, double, const Context&);     \
  template void unary_backward<T>(UnaryOp, int64_t, const T*, const T*, const T*, T*, double, \
                                  double, const Context&);                                    \
  template void binary<T>(BinaryOp, const StridedIter<3>&, const T*, const T*, T*,            \
                          const Context&);                                                    \
  template void bce_with_logits<T>(int64_t, int64_t, const T*, const T*, const T*, T*,        \
                                   const Context&);                                           \
  template void bce_with_logits_backward<T>(int64_t, int64_t, const T*, const T*, const T*,   \
                                            const T*, T*, const Context&);
INSTANTIATE(float)
INSTANTIATE(double)
INSTANTIATE(BFloat16)
#undef INSTANTIATE

// Copies move bytes, so one instantiation per element size serves every dtype.
template void strided_copy<uint8_t>(const StridedIter<2>&, const uint8_t*, uint8_t*, const Context&);
template void strided_copy<uint16_t>(const StridedIter<2>&, const uint16_t*, uint16_t*, const Context&);
template void strided_copy<uint32_t>(const StridedIter<2>&, const uint32_t*, uint32_t*, const Context&);
template void strided_copy<uint64_t>(const StridedIter<2>&, const uint64_t*, uint64_t*, const Context&);

}  // namespace strand::kernels::cpu
