// CPU twins of pool.cu.
#include <cmath>
#include <limits>

#include "core/bfloat16.h"
#include "core/error.h"
#include "kernels/common/type_lists.h"
#include "kernels/elementwise/elementwise_ops.h"
#include "kernels/pool/pool.h"

namespace strand::kernels {

void check_pool1d(const Pool1dShape& s) {
  STRAND_CHECK(s.kernel > 0 && s.stride > 0 && s.padding >= 0,
               "pool1d: kernel {} and stride {} must be positive and padding {} non-negative",
               s.kernel, s.stride, s.padding);
  STRAND_CHECK(s.padding * 2 <= s.kernel,
               "pool1d: padding {} must be at most half the kernel size {}", s.padding, s.kernel);
  STRAND_CHECK(s.length + 2 * s.padding >= s.kernel,
               "pool1d: kernel {} is longer than the padded input ({} + 2 x {})", s.kernel,
               s.length, s.padding);
}

namespace cpu {

template <typename T>
void max_pool1d(const Context&, const Pool1dShape& s, const T* x, T* y, int64_t* index) {
  check_pool1d(s);
  using A = acc_t<T>;
  const int64_t out_len = s.out_length();
#pragma omp parallel for if (s.rows * out_len * s.kernel > (1 << 15))
  for (int64_t r = 0; r < s.rows; ++r) {
    const T* row = x + r * s.length;
    for (int64_t t = 0; t < out_len; ++t) {
      // The window, clipped to the row (padding never wins: it is -inf).
      const int64_t first = std::max<int64_t>(t * s.stride - s.padding, 0);
      const int64_t last = std::min<int64_t>(t * s.stride - s.padding + s.kernel, s.length);
      A best = A(row[first]);
      int64_t arg = first;
      for (int64_t pos = first + 1; pos < last && best == best; ++pos) {
        const A v = A(row[pos]);
        if (v > best || v != v) best = v, arg = pos;  // the first NaN wins and ends the scan
      }
      y[r * out_len + t] = T(best);
      index[r * out_len + t] = arg;
    }
  }
}

template <typename T>
void max_pool1d_backward(const Context&, const Pool1dShape& s, const T* dy, const int64_t* index,
                         T* dx) {
  const int64_t out_len = s.out_length();
#pragma omp parallel for if (s.rows * s.length > (1 << 15))
  for (int64_t r = 0; r < s.rows; ++r) {
    T* row = dx + r * s.length;
    for (int64_t i = 0; i < s.length; ++i) row[i] = T(0);
    for (int64_t t = 0; t < out_len; ++t) {
      const int64_t pos = index[r * out_len + t];
      row[pos] = T(acc_t<T>(row[pos]) + acc_t<T>(dy[r * out_len + t]));
    }
  }
}

template <typename T>
void avg_pool1d(const Context&, const Pool1dShape& s, const T* x, T* y) {
  check_pool1d(s);
  const int64_t out_len = s.out_length();
#pragma omp parallel for if (s.rows * out_len * s.kernel > (1 << 15))
  for (int64_t r = 0; r < s.rows; ++r) {
    for (int64_t t = 0; t < out_len; ++t) {
      double sum = 0;
      for (int64_t k = 0; k < s.kernel; ++k) {
        const int64_t pos = t * s.stride - s.padding + k;
        if (pos >= 0 && pos < s.length) sum += static_cast<double>(x[r * s.length + pos]);
      }
      y[r * out_len + t] = T(sum / static_cast<double>(s.kernel));
    }
  }
}

template <typename T>
void avg_pool1d_backward(const Context&, const Pool1dShape& s, const T* dy, T* dx) {
  const int64_t out_len = s.out_length();
  const double inv = 1.0 / static_cast<double>(s.kernel);
#pragma omp parallel for if (s.rows * s.length > (1 << 15))
  for (int64_t r = 0; r < s.rows; ++r) {
    for (int64_t i = 0; i < s.length; ++i) {
      // Windows t with t*stride - padding <= i < t*stride - padding + kernel.
      const int64_t hi = (i + s.padding) / s.stride;
      const int64_t lo_num = i + s.padding - s.kernel + 1;
      const int64_t lo = lo_num <= 0 ? 0 : (lo_num + s.stride - 1) / s.stride;
      double sum = 0;
      for (int64_t t = lo; t <= std::min(hi, out_len - 1); ++t)
        sum += static_cast<double>(dy[r * out_len + t]);
      dx[r * s.length + i] = T(sum * inv);
    }
  }
}

STRAND_FLOATING_TYPES(STRAND_POOL_INSTANTIATE)

}  // namespace cpu
}  // namespace strand::kernels
