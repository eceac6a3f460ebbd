// The stream-ordered allocator's settings, applied once per device by every path that allocates
// with cudaMallocAsync (the runtime's tensors, the kernels' scratch buffers), so a benchmark or a
// program that calls the kernels directly gets the same pool behaviour as training.
#pragma once

namespace strand::kernels::cuda {

// Keeps freed memory in the device's default pool instead of returning it to the driver at every
// synchronisation (the pool's default release threshold, 0, re-maps memory after each sync: a
// training step or a timed loop that reuses the same sizes would pay for it every iteration).
// Idempotent and thread-safe; the caller has made `device` current or passes it explicitly.
void keep_freed_pool_memory(int device);

}  // namespace strand::kernels::cuda
