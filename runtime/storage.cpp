// Allocation and release of host, pinned and device memory (see storage.h).
#include "runtime/storage.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <tuple>

#include "core/checked.h"
#include "core/error.h"

#if STRAND_WITH_CUDA
#include <cuda_runtime.h>

#include "kernels/common/cuda_check.h"
#endif

namespace strand::runtime {
namespace {

std::atomic<bool> poison{false};

// Freed host blocks of at least kCacheMinimum bytes are kept, by size, for reuse: a training step
// allocates the same activation sizes every step, and fresh pages would fault in again each time
// (a fifth of a CPU step before this cache).
class HostCache {
 public:
  static constexpr size_t kCacheMinimum = 128 << 10;
  static constexpr size_t kMaxCached = size_t{4} << 30;

  // A cached block of at least `bytes` (and not much more), with its real size; {nullptr, 0} if
  // none.
  std::pair<void*, size_t> take(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = free_.lower_bound(bytes);
    if (it == free_.end() || it->first > bytes + bytes / 4) return {nullptr, 0};
    const std::pair<void*, size_t> block{it->second, it->first};
    cached_ -= it->first;
    free_.erase(it);
    return block;
  }
  // Keeps the block, or returns false when the cache is full.
  bool give(void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ + bytes > kMaxCached) return false;
    free_.emplace(bytes, p);
    cached_ += bytes;
    return true;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [bytes, p] : free_) std::free(p);
    free_.clear();
    cached_ = 0;
  }

 private:
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;
  size_t cached_ = 0;
};

HostCache& host_cache() {
  static HostCache* cache = new HostCache();  // never destroyed: storages may outlive statics
  return *cache;
}

}  // namespace

void set_poison_allocations(bool on) { poison = on; }
bool poison_allocations() { return poison; }

namespace {

struct Counter {
  std::atomic<size_t> live{0}, peak{0};
  void add(size_t n) {
    const size_t now = live.fetch_add(n) + n;
    size_t p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
  }
  void sub(size_t n) { live.fetch_sub(n); }
};
Counter host_bytes, device_bytes;

}  // namespace

MemoryStats memory_stats() {
  return {host_bytes.live.load(), host_bytes.peak.load(), device_bytes.live.load(),
          device_bytes.peak.load()};
}

void reset_peak_memory() {
  host_bytes.peak.store(host_bytes.live.load());
  device_bytes.peak.store(device_bytes.live.load());
}

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device, bool pinned) {
  std::shared_ptr<Storage> s(new Storage());
  s->nbytes_ = nbytes;
  s->device_ = device;
  s->pinned_ = pinned && device.is_cpu();
  const size_t rounded = ((nbytes + 63) / 64) * 64 + 64 * (nbytes == 0);
  if (device.is_cpu() && !s->pinned_) {
    // Overcommit would let a hostile size "succeed" and the OOM killer end the run later.
    if (rounded >= (size_t{1} << 30)) check_memory(rounded, "a host tensor");
    if (rounded >= HostCache::kCacheMinimum) {
      const size_t pages = (rounded + 4095) / 4096 * 4096;
      std::tie(s->data_, s->capacity_) = host_cache().take(pages);
      if (!s->data_) {
        s->data_ = std::aligned_alloc(64, pages);
        s->capacity_ = pages;
      }
    } else {
      s->data_ = std::aligned_alloc(64, rounded);
    }
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
    device_bytes.add(nbytes);
    return s;
  }
  if (!s->pinned_) host_bytes.add(nbytes);
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
  if (device_.is_cuda())
    device_bytes.sub(nbytes_);
  else if (!pinned_)
    host_bytes.sub(nbytes_);
  if (device_.is_cpu() && !pinned_) {
    if (capacity_ == 0 || !host_cache().give(data_, capacity_)) std::free(data_);
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
    // Device memory another stream may still be reading (an NCCL collective on the communication
    // stream whose Work was dropped without wait(): see record_async_read in comm_nccl.cpp). The
    // free is ordered after that read on the allocating stream; without the wait the pool could
    // hand the block to a new tensor while NCCL still reads or writes it.
    if (last_read_) {
      try {
        last_read_->wait(stream_);
      } catch (...) {
      }
    }
    cudaFreeAsync(data_, stream_);
    cudaSetDevice(previous);
  }
#endif
}

}  // namespace strand::runtime
