// Per-thread, per-device cuBLAS handles (see cublas_handle.h).
#include <unordered_map>

#include "kernels/common/cublas_handle.h"
#include "kernels/common/cuda_check.h"

namespace strand::kernels::cuda {

cublasHandle_t cublas_handle(const Context& ctx) {
  // Never destroyed: at process exit the CUDA driver may already be gone, and destroying a handle
  // then can crash. The driver reclaims them.
  thread_local std::unordered_map<int, cublasHandle_t> handles;
  cublasHandle_t& h = handles[ctx.device];
  if (!h) STRAND_CUBLAS_CHECK(cublasCreate(&h));
  STRAND_CUBLAS_CHECK(cublasSetStream(h, ctx.stream));
  return h;
}

}  // namespace strand::kernels::cuda
