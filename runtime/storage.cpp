// Allocation and release of host, pinned and device memory (see storage.h).
#include "runtime/storage.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "kernels/error.h"

#if STRAND_WITH_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda_check.h"
#endif

namespace strand::runtime {
namespace {
std::atomic<bool> poison{false};
}  // namespace

void set_poison_allocations(bool on) { poison = on; }
bool poison_allocations() { return poison; }

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device, bool pinned) {
  std::shared_ptr<Storage> s(new Storage());
  s->nbytes_ = nbytes;
  s->device_ = device;
  s->pinned_ = pinned && device.is_cpu();
  const size_t rounded = ((nbytes + 63) / 64) * 64 + 64 * (nbytes == 0);
  if (device.is_cpu() && !s->pinned_) {
    s->data_ = std::aligned_alloc(64, rounded);
    STRAND_CHECK(s->data_ != nullptr, "out of host memory allocating {} bytes", nbytes);
  } else if (s->pinned_) {
    STRAND_CUDA_CALL(STRAND_CUDA_CHECK(cudaHostAlloc(&s->data_, rounded, cudaHostAllocDefault)));
  } else {
    const kernels::Context ctx = context_for(device);
    s->stream_ = ctx.stream;
    STRAND_CUDA_CALL({
      const cudaError_t e = cudaMallocAsync(&s->data_, rounded, ctx.stream);
      if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        size_t free_bytes = 0, total_bytes = 0;
        cudaMemGetInfo(&free_bytes, &total_bytes);
        STRAND_FAIL("out of memory on {} allocating {} bytes ({} of {} bytes free)", device.str(),
                    nbytes, free_bytes, total_bytes);
      }
      STRAND_CUDA_CHECK(e);
      if (poison) STRAND_CUDA_CHECK(cudaMemsetAsync(s->data_, 0xFF, rounded, ctx.stream));
    });
    return s;
  }
  if (poison) std::memset(s->data_, 0xFF, rounded);
  return s;
}

void Storage::record_async_read(kernels::Stream stream) {
  if (!last_read_) last_read_ = std::make_unique<Event>();
  last_read_->record(stream);
}

void Storage::wait_async_reads() {
  if (last_read_) last_read_->synchronize();
}

Storage::~Storage() {
  if (!data_) return;
  if (device_.is_cpu() && !pinned_) {
    std::free(data_);
    return;
  }
#if STRAND_WITH_CUDA
  // Destructors must not throw: errors here are reported by the next checked CUDA call.
  if (pinned_) {
    try {
      if (last_read_) last_read_->synchronize();
    } catch (...) {
    }
    cudaFreeHost(data_);
  } else {
    int previous = 0;
    cudaGetDevice(&previous);
    cudaSetDevice(device_.index);
    cudaFreeAsync(data_, stream_);
    cudaSetDevice(previous);
  }
#endif
}

}  // namespace strand::runtime
