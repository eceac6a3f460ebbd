// CPU twin of reduce.cu: plain loops, accumulating in double.
#include <cmath>

#include "core/bfloat16.h"
#include "kernels/common/type_lists.h"
#include "kernels/reduce/reduce.h"

namespace strand::kernels::cpu {

template <typename T>
void reduce(const Context&, ReduceOp op, int64_t outer, int64_t dim, int64_t inner, const T* x,
            T* out, int64_t* index) {
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

STRAND_FLOATING_TYPES(STRAND_REDUCE_INSTANTIATE)

}  // namespace strand::kernels::cpu
