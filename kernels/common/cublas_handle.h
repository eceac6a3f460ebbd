// One cuBLAS handle per (device, host thread), created on first use and bound to the caller's
// stream on every call. Handles are not thread-safe, hence per thread.
#pragma once

#include <cublas_v2.h>

#include "kernels/common/context.h"

namespace strand::kernels::cuda {

cublasHandle_t cublas_handle(const Context& ctx);

}  // namespace strand::kernels::cuda
