// Device detection for STRAND_REQUIRE_CUDA_DEVICE: the runtime's own count.
#include "tests/support/test_support.h"

#include "runtime/device.h"

namespace strand::testing {

int cuda_device_count() { return runtime::cuda_device_count(); }

}  // namespace strand::testing
