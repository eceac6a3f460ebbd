// Reference-counted memory behind tensors: 64-byte aligned host memory, page-locked (pinned) host
// memory for fast asynchronous copies, or device memory from CUDA's stream-ordered pool
// (cudaMallocAsync), freed in order on the stream it was allocated on.
#pragma once

#include <cstddef>
#include <memory>

#include "runtime/device.h"

namespace strand::runtime {

class Event;

// Debugging and tests: when on, every new allocation is filled with 0xFF bytes (NaN for floating
// types), so a kernel that leaves an output element unwritten shows up as NaN.
void set_poison_allocations(bool on);
bool poison_allocations();

// Bytes held by live tensor storage (host: pageable memory; device: all CUDA devices together)
// and the most held since the last reset_peak_memory(): benchmarks report peak memory with these.
struct MemoryStats {
  size_t host_live = 0, host_peak = 0, device_live = 0, device_peak = 0;
};
MemoryStats memory_stats();
void reset_peak_memory();  // peaks restart from the live values

class Storage {
 public:
  // Zero bytes is allowed (empty tensors); data() is then still a valid, unique pointer.
  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device, bool pinned = false);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  const Device& device() const { return device_; }
  bool pinned() const { return pinned_; }

  // Pinned host memory read by an asynchronous copy on `stream`: the memory is not released
  // (nor should be rewritten) until that copy has finished.
  void record_async_read(kernels::Stream stream);
  // Waits for asynchronous copies recorded above.
  void wait_async_reads();

 private:
  Storage() = default;
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  bool pinned_ = false;
  size_t capacity_ = 0;               // host blocks from the reuse cache: their size, else 0
  kernels::Stream stream_ = nullptr;  // allocation stream of device memory
  std::unique_ptr<Event> last_read_;  // pinned memory: last asynchronous copy out of it
};

}  // namespace strand::runtime
