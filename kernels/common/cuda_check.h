// Checks for every CUDA, cuBLAS, cuDNN and NCCL return code: each names the call and decodes the
// error into a strand::Error. Include only from code built with CUDA.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <nccl.h>

#include "core/error.h"

#define STRAND_CUDA_CHECK(call)                                                         \
  do {                                                                                  \
    const cudaError_t strand_err_ = (call);                                             \
    if (strand_err_ != cudaSuccess) [[unlikely]]                                        \
      STRAND_FAIL("CUDA call {} failed: {} ({})", #call, cudaGetErrorName(strand_err_), \
                  cudaGetErrorString(strand_err_));                                     \
  } while (0)

// After every kernel launch: a bad configuration is reported here, at the launch that caused it.
#define STRAND_CUDA_CHECK_LAUNCH(kernel_name)                                      \
  do {                                                                             \
    const cudaError_t strand_err_ = cudaGetLastError();                            \
    if (strand_err_ != cudaSuccess) [[unlikely]]                                   \
      STRAND_FAIL("CUDA kernel {} failed to launch: {} ({})", kernel_name,         \
                  cudaGetErrorName(strand_err_), cudaGetErrorString(strand_err_)); \
  } while (0)

#define STRAND_CUBLAS_CHECK(call)                                                           \
  do {                                                                                      \
    const cublasStatus_t strand_st_ = (call);                                               \
    if (strand_st_ != CUBLAS_STATUS_SUCCESS) [[unlikely]]                                   \
      STRAND_FAIL("cuBLAS call {} failed: {} ({})", #call, cublasGetStatusName(strand_st_), \
                  cublasGetStatusString(strand_st_));                                       \
  } while (0)

#define STRAND_CUDNN_CHECK(call)                                                         \
  do {                                                                                   \
    const cudnnStatus_t strand_st_ = (call);                                             \
    if (strand_st_ != CUDNN_STATUS_SUCCESS) [[unlikely]] {                               \
      char strand_msg_[512] = {0};                                                       \
      cudnnGetLastErrorString(strand_msg_, sizeof(strand_msg_));                         \
      STRAND_FAIL("cuDNN call {} failed: {} {}", #call, cudnnGetErrorString(strand_st_), \
                  strand_msg_);                                                          \
    }                                                                                    \
  } while (0)

#define STRAND_NCCL_CHECK(call)                                                          \
  do {                                                                                   \
    const ncclResult_t strand_st_ = (call);                                              \
    if (strand_st_ != ncclSuccess && strand_st_ != ncclInProgress) [[unlikely]]          \
      STRAND_FAIL("NCCL call {} failed: {} ({})", #call, ncclGetErrorString(strand_st_), \
                  ncclGetLastError(nullptr));                                            \
  } while (0)
