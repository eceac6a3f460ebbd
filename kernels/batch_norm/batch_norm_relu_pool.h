// Training-mode batch normalisation, ReLU and max pooling over x [N, C, L] fused into one pass
// each way (the Basset conv block): the normalised and rectified activations are never stored;
// the backward pass recomputes them from x to route the pooled gradient. The arithmetic repeats
// batch_norm_cpu.cpp, relu and max_pool1d exactly, so the results equal the unfused chain's.
#pragma once

#include <cstdint>

#include "kernels/batch_norm/batch_norm.h"
#include "kernels/common/context.h"
#include "kernels/pool/pool.h"

namespace strand::kernels {

struct BatchNormReluPoolShape {
  BatchNormShape norm;  // length = L of the input
  int64_t kernel = 1, stride = 1, padding = 0;
  Pool1dShape pool() const {
    return {.rows = norm.batch * norm.channels,
            .length = norm.length,
            .kernel = kernel,
            .stride = stride,
            .padding = padding};
  }
  int64_t out_length() const { return pool().out_length(); }
};

namespace cpu {

// y [N, C, out_len] = max_pool(relu(batch_norm(x))); mean and invstd [C] as batch_norm_forward
// writes them; affine [2C] gets each channel's scale and shift (in double) that the backward pass
// needs to recompute the activations bit for bit. gamma/beta may be null.
template <typename T>
void batch_norm_relu_max_pool_forward(const Context& ctx, const BatchNormReluPoolShape& s,
                                      const T* x, const T* gamma, const T* beta, double eps, T* y,
                                      T* mean, T* invstd, double* affine);

// dy [N, C, out_len] -> dx [N, C, L] (may be null), dgamma and dbeta [C] (may be null).
template <typename T>
void batch_norm_relu_max_pool_backward(const Context& ctx, const BatchNormReluPoolShape& s,
                                       const T* x, const T* dy, const T* gamma, const T* mean,
                                       const T* invstd, const double* affine, T* dx, T* dgamma,
                                       T* dbeta);

// Inference (nothing flows back, so no indices and no statistics): y [N, C, out_len] =
// max_pool(relu(x * scale[c] + shift[c])), the per-channel affine map of eval-mode batch norm in
// double, applied in T's accumulation type; scale and shift null: max_pool(relu(x)). One pass
// over x instead of five.
template <typename T>
void affine_relu_max_pool_inference(const Context& ctx, const BatchNormReluPoolShape& s, const T* x,
                                    const double* scale, const double* shift, T* y);

}  // namespace cpu
}  // namespace strand::kernels
