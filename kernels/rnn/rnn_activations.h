// The activations of the LSTM and GRU cells, compiled for both host and device (STRAND_RNN_HD) so
// every RNN path evaluates the same expressions.
#pragma once

#include <cmath>

#if defined(__CUDACC__)
#define STRAND_RNN_HD __host__ __device__ __forceinline__
#else
#define STRAND_RNN_HD inline
#endif

namespace strand::kernels::detail {

STRAND_RNN_HD float rnn_exp(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  return std::exp(x);
#endif
}
STRAND_RNN_HD double rnn_exp(double x) {
#if defined(__CUDA_ARCH__)
  return ::exp(x);
#else
  return std::exp(x);
#endif
}
STRAND_RNN_HD float rnn_tanh(float x) {
#if defined(__CUDA_ARCH__)
  return tanhf(x);
#else
  return std::tanh(x);
#endif
}
STRAND_RNN_HD double rnn_tanh(double x) {
#if defined(__CUDA_ARCH__)
  return ::tanh(x);
#else
  return std::tanh(x);
#endif
}
template <typename A>
STRAND_RNN_HD A rnn_sigmoid(A x) {
  return A(1) / (A(1) + rnn_exp(-x));
}

}  // namespace strand::kernels::detail
