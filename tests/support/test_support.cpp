// Device detection for STRAND_REQUIRE_CUDA_DEVICE.
#include "tests/support/test_support.h"

#if STRAND_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace strand::testing {

int cuda_device_count() {
#if STRAND_WITH_CUDA
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // no driver or no device: clear the sticky error, report none
      return 0;
    }
    return n;
  }();
  return count;
#else
  return 0;
#endif
}

}  // namespace strand::testing
