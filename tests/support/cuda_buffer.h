// A device buffer for CUDA tests: upload, download, and poisoning with NaN bytes so a kernel that
// forgets to write an element is caught. Include only from *_cuda_test.cpp files.
#pragma once

#include <cuda_runtime.h>

#include <vector>

#include "kernels/common/context.h"
#include "kernels/common/cuda_check.h"

namespace strand::testing {

// The context kernel tests run in: device 0 and a non-blocking stream, as the runtime uses (the
// legacy default stream synchronises with every other stream, so a kernel enqueued on the wrong
// stream, or a missing wait, would pass there and fail in training). Call only with a device.
inline kernels::Context test_context() {
  static const kernels::Stream stream = [] {
    cudaStream_t s = nullptr;
    STRAND_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return s;
  }();
  return {stream, 0};
}

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) {
    STRAND_CUDA_CHECK(cudaMalloc(&ptr_, std::max<size_t>(n, 1) * sizeof(T)));
    poison();
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // All bits set: NaN for f32/f64/bf16, -1 for signed integers. Both fills end with a device
  // synchronisation: kernels under test run on test_context()'s non-blocking stream, which does
  // not wait for the legacy stream (and a pageable upload may return before its DMA is done).
  void poison() {
    STRAND_CUDA_CHECK(cudaMemset(ptr_, 0xFF, n_ * sizeof(T)));
    STRAND_CUDA_CHECK(cudaDeviceSynchronize());
  }
  void upload(const std::vector<T>& host) {
    STRAND_CUDA_CHECK(cudaMemcpy(ptr_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
    STRAND_CUDA_CHECK(cudaDeviceSynchronize());
  }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    STRAND_CUDA_CHECK(cudaDeviceSynchronize());
    STRAND_CUDA_CHECK(cudaMemcpy(host.data(), ptr_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
  T* get() { return ptr_; }
  const T* get() const { return ptr_; }
  size_t size() const { return n_; }

 private:
  T* ptr_ = nullptr;
  size_t n_;
};

}  // namespace strand::testing
