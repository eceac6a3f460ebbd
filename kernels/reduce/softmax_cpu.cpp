// CPU twin of softmax.cu: plain loops, accumulating in double.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/bfloat16.h"
#include "kernels/common/type_lists.h"
#include "kernels/reduce/softmax.h"

namespace strand::kernels::cpu {

template <typename T>
void softmax(const Context&, bool log, int64_t outer, int64_t dim, int64_t inner, const T* x,
             T* y) {
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
void softmax_backward(const Context&, bool log, int64_t outer, int64_t dim, int64_t inner,
                      const T* y, const T* dy, T* dx) {
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

STRAND_FLOATING_TYPES(STRAND_SOFTMAX_INSTANTIATE)

}  // namespace strand::kernels::cpu
