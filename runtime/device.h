// Devices (cpu, cuda:N), device queries, and the CUDA execution context around kernels: the
// current device, per-thread current streams, events. In a build without CUDA every CUDA entry
// point raises a strand::Error saying so.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "kernels/common/context.h"

struct CUevent_st;

namespace strand::runtime {

enum class DeviceType : uint8_t { kCpu, kCuda };

struct Device {
  DeviceType type = DeviceType::kCpu;
  int index = 0;

  static Device cpu() { return {DeviceType::kCpu, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::kCuda, index}; }
  // "cpu", "cuda" (device 0) or "cuda:N"; anything else is an error naming the text.
  static Device parse(std::string_view text);

  bool is_cpu() const { return type == DeviceType::kCpu; }
  bool is_cuda() const { return type == DeviceType::kCuda; }
  std::string str() const;
  bool operator==(const Device& other) const {
    return type == other.type && (type == DeviceType::kCpu || index == other.index);
  }
};
std::ostream& operator<<(std::ostream& os, const Device& d);

// True when this build has the CUDA backend.
constexpr bool built_with_cuda() { return STRAND_WITH_CUDA == 1; }
// Number of usable CUDA devices (0 without CUDA, driver or device).
int cuda_device_count();
bool cuda_available();

struct DeviceProperties {
  std::string name;
  int multiprocessors = 0;
  size_t total_memory = 0;
  int compute_major = 0, compute_minor = 0;
};
DeviceProperties device_properties(int index);

// Raises the error every CUDA entry point of a CPU-only build raises.
[[noreturn]] void throw_no_cuda(std::string_view what);

// Checks that a device exists (index in range for CUDA) before it is used.
void check_device(const Device& d);

// Makes a CUDA device current for a scope and restores the previous one; no-op for CPU.
class DeviceGuard {
 public:
  explicit DeviceGuard(const Device& d);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

// An owned, non-blocking CUDA stream.
class Stream {
 public:
  explicit Stream(int device, int priority = 0);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  kernels::Stream handle() const { return handle_; }
  int device() const { return device_; }
  void synchronize() const;

 private:
  kernels::Stream handle_ = nullptr;
  int device_ = 0;
};

// The stream this thread enqueues work on for a device: the device's default compute stream
// unless a StreamGuard has set another.
kernels::Stream current_stream(int device);

// Sets this thread's current stream of a device for a scope.
class StreamGuard {
 public:
  StreamGuard(int device, kernels::Stream stream);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  int device_;
  kernels::Stream previous_;
};

// A CUDA event, for ordering work across streams and for timing.
class Event {
 public:
  explicit Event(bool timing = false);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void record(kernels::Stream stream);
  void wait(kernels::Stream stream) const;  // stream waits for this event, host does not
  void synchronize() const;
  bool ready() const;
  float elapsed_ms(const Event& later) const;

 private:
  CUevent_st* handle_ = nullptr;
};

// The kernel context for work on a device: its current stream, with the device made current.
kernels::Context context_for(const Device& d);

// Waits until all work enqueued on the device's current stream has finished.
void synchronize(const Device& d);

}  // namespace strand::runtime

// Wraps a call into the CUDA backend: compiled as is with CUDA, and replaced by an error naming
// the call in a CPU-only build, so CPU-only builds need no stubs.
#if STRAND_WITH_CUDA
#define STRAND_CUDA_CALL(...) __VA_ARGS__
#else
#define STRAND_CUDA_CALL(...) ::strand::runtime::throw_no_cuda(#__VA_ARGS__)
#endif
