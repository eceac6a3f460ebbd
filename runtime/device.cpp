// Device parsing and queries, device/stream guards and events (see device.h).
#include "runtime/device.h"

#include <array>
#include <charconv>
#include <mutex>
#include <vector>

#include "core/error.h"
#include "kernels/index/index.h"

#if STRAND_WITH_CUDA
#include <cuda_runtime.h>

#include "kernels/common/cuda_check.h"
#include "kernels/common/mem_pool.h"
#endif

namespace strand::runtime {

Device Device::parse(std::string_view text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.substr(0, 5) == "cuda:") {
    const std::string_view digits = text.substr(5);
    int index = -1;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec == std::errc() && end == digits.data() + digits.size() && index >= 0) {
      return cuda(index);
    }
  }
  STRAND_FAIL("unknown device '{}': expected cpu, cuda or cuda:N", text);
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }

void throw_no_cuda(std::string_view what) {
  STRAND_FAIL("this build of strand has no CUDA backend (built without nvcc); cannot run {}", what);
}

int cuda_device_count() {
#if STRAND_WITH_CUDA
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // no driver or device: clear the error and report none
      return 0;
    }
    return n;
  }();
  return count;
#else
  return 0;
#endif
}

bool cuda_available() { return cuda_device_count() > 0; }

void check_device(const Device& d) {
  if (d.is_cpu()) return;
  if (!built_with_cuda()) throw_no_cuda("device " + d.str());
  const int count = cuda_device_count();
  STRAND_CHECK(d.index >= 0 && d.index < count, "device {} does not exist: {} CUDA device(s) found",
               d.str(), count);
}

DeviceProperties device_properties(int index) {
  check_device(Device::cuda(index));
  DeviceProperties p;
  STRAND_CUDA_CALL({
    cudaDeviceProp prop{};
    STRAND_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
    p.name = prop.name;
    p.multiprocessors = prop.multiProcessorCount;
    p.total_memory = prop.totalGlobalMem;
    p.compute_major = prop.major;
    p.compute_minor = prop.minor;
  });
  return p;
}

DeviceGuard::DeviceGuard(const Device& d) {
  if (d.is_cpu()) return;
  check_device(d);
  STRAND_CUDA_CALL({
    STRAND_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != d.index) STRAND_CUDA_CHECK(cudaSetDevice(d.index));
  });
}

DeviceGuard::~DeviceGuard() {
#if STRAND_WITH_CUDA
  if (previous_ >= 0) cudaSetDevice(previous_);
#endif
}

Stream::Stream(int device, int priority) : device_(device) {
  DeviceGuard guard(Device::cuda(device));
  STRAND_CUDA_CALL(
      STRAND_CUDA_CHECK(cudaStreamCreateWithPriority(&handle_, cudaStreamNonBlocking, priority)));
}

Stream::~Stream() {
#if STRAND_WITH_CUDA
  if (handle_) cudaStreamDestroy(handle_);
#endif
}

// Each synchronisation also raises what the device's index checks found (kernels/index/index.h).
void Stream::synchronize() const {
  STRAND_CUDA_CALL({
    STRAND_CUDA_CHECK(cudaStreamSynchronize(handle_));
    kernels::cuda::raise_index_errors(device_);
  });
}

namespace {

constexpr int kMaxDevices = 64;

// One non-blocking default compute stream per device, created on first use and kept for the life
// of the process (destroying streams at exit races the driver's own teardown).
kernels::Stream default_stream(int device) {
  static std::array<kernels::Stream, kMaxDevices> streams{};
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  if (!streams[device]) {
    DeviceGuard guard(Device::cuda(device));
    STRAND_CUDA_CALL({
      STRAND_CUDA_CHECK(cudaStreamCreateWithFlags(&streams[device], cudaStreamNonBlocking));
      // A training step reuses the same sizes: freed memory stays in the pool (mem_pool.h).
      kernels::cuda::keep_freed_pool_memory(device);
    });
  }
  return streams[device];
}

thread_local std::array<kernels::Stream, kMaxDevices> current_streams{};

}  // namespace

kernels::Stream current_stream(int device) {
  check_device(Device::cuda(device));
  STRAND_CHECK(device < kMaxDevices, "device index {} exceeds strand's limit of {}", device,
               kMaxDevices);
  kernels::Stream s = current_streams[device];
  return s ? s : default_stream(device);
}

StreamGuard::StreamGuard(int device, kernels::Stream stream)
    : device_(device), previous_(current_streams.at(device)) {
  current_streams[device] = stream;
}

StreamGuard::~StreamGuard() { current_streams[device_] = previous_; }

Event::Event(bool timing) {
  STRAND_CUDA_CALL(STRAND_CUDA_CHECK(
      cudaEventCreateWithFlags(&handle_, timing ? cudaEventDefault : cudaEventDisableTiming)));
}

Event::~Event() {
#if STRAND_WITH_CUDA
  if (handle_) cudaEventDestroy(handle_);
#endif
}

void Event::record(kernels::Stream stream) {
  STRAND_CUDA_CALL(STRAND_CUDA_CHECK(cudaEventRecord(handle_, stream)));
}

void Event::wait(kernels::Stream stream) const {
  STRAND_CUDA_CALL(STRAND_CUDA_CHECK(cudaStreamWaitEvent(stream, handle_, 0)));
}

void Event::synchronize() const {
  STRAND_CUDA_CALL(STRAND_CUDA_CHECK(cudaEventSynchronize(handle_)));
}

bool Event::ready() const {
#if STRAND_WITH_CUDA
  const cudaError_t e = cudaEventQuery(handle_);
  if (e == cudaErrorNotReady) return false;
  STRAND_CUDA_CHECK(e);
  return true;
#else
  throw_no_cuda("Event::ready");
#endif
}

float Event::elapsed_ms(const Event& later) const {
  float ms = 0;
  STRAND_CUDA_CALL(STRAND_CUDA_CHECK(cudaEventElapsedTime(&ms, handle_, later.handle_)));
  return ms;
}

kernels::Context context_for(const Device& d) {
  if (d.is_cpu()) return {};
  check_device(d);
  STRAND_CUDA_CALL(STRAND_CUDA_CHECK(cudaSetDevice(d.index)));
  return {current_stream(d.index), d.index};
}

void synchronize(const Device& d) {
  if (d.is_cpu()) return;
  STRAND_CUDA_CALL({
    STRAND_CUDA_CHECK(cudaStreamSynchronize(current_stream(d.index)));
    kernels::cuda::raise_index_errors(d.index);
  });
}

}  // namespace strand::runtime
