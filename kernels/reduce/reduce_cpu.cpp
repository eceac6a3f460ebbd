// CPU twins of reduce.cu and softmax.cu: plain loops, accumulating in double.
#include <cmath>
#include <limits>

#include "core/bfloat16.h"
#include "kernels/reduce/reduce.h"
#include "kernels/reduce/softmax.h"

namespace strand::kernels::cpu {

template <typename T>
void reduce(ReduceOp op, int64_t outer, int64_t dim, int64_t inner, const T* x, T* out,
            int64_t* index, const Context&) {
#pragma omp parallel for collapse(2) if (outer * inner * dim > (1 << 15))
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T* p = x + o * dim * inner + i;
      double acc = op == ReduceOp::kSum ? 0.0 : static_cast<double>(p[0]);
      int64_t arg = 0;
      for (int64_t d = 0; d < dim; ++d) {
        const double v = static_cast<double>(p[d * inner]);
        if (op == ReduceOp::kSum) {
          acc += v;
        } else if (std::isnan(v) && !std::isnan(acc)) {
          acc = v, arg = d;  // NaN propagates, as in PyTorch
        } else if ((op == ReduceOp::kMax && v > acc) || (op == ReduceOp::kMin && v < acc)) {
          acc = v, arg = d;
        }
      }
      out[o * inner + i] = T(acc);
      if (index) index[o * inner + i] = arg;
    }
  }
}

template <typename T>
void softmax(bool log, int64_t outer, int64_t dim, int64_t inner, const T* x, T* y,
             const Context&) {
#pragma omp parallel for collapse(2) if (outer * inner * dim > (1 << 15))
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T* px = x + o * dim * inner + i;
      T* py = y + o * dim * inner + i;
      double max = -std::numeric_limits<double>::infinity();
      for (int64_t d = 0; d < dim; ++d) max = std::max(max, static_cast<double>(px[d * inner]));
      double sum = 0;
      for (int64_t d = 0; d < dim; ++d) sum += std::exp(static_cast<double>(px[d * inner]) - max);
      const double log_sum = std::log(sum);
      for (int64_t d = 0; d < dim; ++d) {
        const double shifted = static_cast<double>(px[d * inner]) - max;
        py[d * inner] = T(log ? shifted - log_sum : std::exp(shifted) / sum);
      }
    }
  }
}

template <typename T>
void softmax_backward(bool log, int64_t outer, int64_t dim, int64_t inner, const T* y, const T* dy,
                      T* dx, const Context&) {
#pragma omp parallel for collapse(2) if (outer * inner * dim > (1 << 15))
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * dim * inner + i;
      double dot = 0;
      for (int64_t d = 0; d < dim; ++d) {
        const double g = static_cast<double>(dy[base + d * inner]);
        dot += log ? g : g * static_cast<double>(y[base + d * inner]);
      }
      for (int64_t d = 0; d < dim; ++d) {
        const double yv = static_cast<double>(y[base + d * inner]);
        const double g = static_cast<double>(dy[base + d * inner]);
        dx[base + d * inner] = T(log ? g - std::exp(yv) * dot : yv * (g - dot));
      }
    }
  }
}

#define INSTANTIATE(T)                                                                       \
  template void reduce<T>(ReduceOp, int64_t, int64_t, int64_t, const T*, T*, int64_t*,       \
                          const Context&);                                                   \
  template void softmax<T>(bool, int64_t, int64_t, int64_t, const T*, T*, const Context&);   \
  template void softmax_backward<T>(bool, int64_t, int64_t, int64_t, const T*, const T*, T*, \
                                    const Context&);
INSTANTIATE(float)
INSTANTIATE(double)
INSTANTIATE(BFloat16)
#undef INSTANTIATE

}  // namespace strand::kernels::cpu
