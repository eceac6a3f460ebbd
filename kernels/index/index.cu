// CUDA twins of index_cpu.cpp. An out-of-range index cannot throw inside a kernel, so the kernel
// records the first bad position in a flag whose copy the host reads later, where it waits for
// the device anyway, and turns into strand::Error (IndexErrorLog in index.h).
#include <array>
#include <mutex>
#include <vector>

#include "kernels/common/cuda_check.h"
#include "kernels/common/cuda_launch.h"
#include "kernels/common/type_lists.h"
#include "kernels/index/index.h"

namespace strand::kernels::cuda {
namespace {

template <typename T>
__device__ double load_as_double(const void* p, int64_t i) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return static_cast<double>(__bfloat162float(static_cast<const T*>(p)[i]));
  } else {
    return static_cast<double>(static_cast<const T*>(p)[i]);
  }
}

template <typename T>
__device__ void store_from_double(void* p, int64_t i, double v) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    static_cast<T*>(p)[i] = __float2bfloat16(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    static_cast<T*>(p)[i] = v != 0.0;
  } else {
    static_cast<T*>(p)[i] = static_cast<T>(v);
  }
}

// Runtime dtype -> device type, inside a kernel (the dtype is uniform across the launch).
template <typename Fn>
__device__ void with_device_type(DType t, Fn&& fn) {
  switch (t) {
    case DType::kF32:
      fn(float{});
      break;
    case DType::kF64:
      fn(double{});
      break;
    case DType::kBF16:
      fn(__nv_bfloat16{});
      break;
    case DType::kI32:
      fn(int32_t{});
      break;
    case DType::kI64:
      fn(int64_t{});
      break;
    case DType::kU8:
      fn(uint8_t{});
      break;
    case DType::kBool:
      fn(bool{});
      break;
  }
}

__global__ void cast_kernel(int64_t n, DType src_type, const void* in, DType dst_type, void* out) {
  for (int64_t i = global_index(); i < n; i += global_stride()) {
    double v = 0;
    with_device_type(src_type, [&](auto tag) { v = load_as_double<decltype(tag)>(in, i); });
    with_device_type(dst_type, [&](auto tag) { store_from_double<decltype(tag)>(out, i, v); });
  }
}

__global__ void arange_kernel(int64_t n, DType type, void* out, double start, double step) {
  for (int64_t i = global_index(); i < n; i += global_stride()) {
    const double v = start + static_cast<double>(i) * step;
    with_device_type(type, [&](auto tag) { store_from_double<decltype(tag)>(out, i, v); });
  }
}

__global__ void fill_kernel(int64_t n, DType type, void* out, double value) {
  for (int64_t i = global_index(); i < n; i += global_stride()) {
    with_device_type(type, [&](auto tag) { store_from_double<decltype(tag)>(out, i, value); });
  }
}

// bad: position of an out-of-range index (the smallest one wins), or -1.
__device__ bool index_ok(int64_t value, int64_t dim, int64_t position, unsigned long long* bad) {
  if (value >= 0 && value < dim) return true;
  atomicMin(bad, static_cast<unsigned long long>(position));
  return false;
}

template <typename T>
__global__ void index_select_kernel(int64_t outer, int64_t dim, int64_t inner, const T* src,
                                    int64_t count, const int64_t* index, T* out,
                                    unsigned long long* bad) {
  const int64_t n = outer * count * inner;
  for (int64_t p = global_index(); p < n; p += global_stride()) {
    const int64_t i = p % inner, j = (p / inner) % count, o = p / (inner * count);
    const int64_t k = index[j];
    if (index_ok(k, dim, j, bad)) out[p] = src[(o * dim + k) * inner + i];
  }
}

template <typename T>
__global__ void index_add_kernel(int64_t outer, int64_t dim, int64_t inner, const T* src,
                                 int64_t count, const int64_t* index, T* dst,
                                 unsigned long long* bad) {
  const int64_t n = outer * count * inner;
  for (int64_t p = global_index(); p < n; p += global_stride()) {
    const int64_t i = p % inner, j = (p / inner) % count, o = p / (inner * count);
    const int64_t k = index[j];
    if (index_ok(k, dim, j, bad)) atomicAdd(dst + (o * dim + k) * inner + i, src[p]);
  }
}

template <typename T>
__global__ void gather_kernel(int64_t outer, int64_t dim, int64_t inner, const T* src,
                              int64_t count, const int64_t* index, T* out,
                              unsigned long long* bad) {
  const int64_t n = outer * count * inner;
  for (int64_t p = global_index(); p < n; p += global_stride()) {
    const int64_t i = p % inner, o = p / (inner * count);
    const int64_t k = index[p];
    if (index_ok(k, dim, p, bad)) out[p] = src[(o * dim + k) * inner + i];
  }
}

template <typename T>
__global__ void scatter_add_kernel(int64_t outer, int64_t dim, int64_t inner, const T* src,
                                   int64_t count, const int64_t* index, T* dst,
                                   unsigned long long* bad) {
  const int64_t n = outer * count * inner;
  for (int64_t p = global_index(); p < n; p += global_stride()) {
    const int64_t i = p % inner, o = p / (inner * count);
    const int64_t k = index[p];
    if (index_ok(k, dim, p, bad)) atomicAdd(dst + (o * dim + k) * inner + i, src[p]);
  }
}

// Page-locked host words the flags are copied into, each with an event recorded after its copy.
// They are allocated in chunks per device and kept for the life of the process (freeing
// page-locked memory would synchronise the device).
struct HostSlot {
  uint64_t* word;
  cudaEvent_t copied;
};

class HostSlots {
 public:
  HostSlot acquire(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    STRAND_CHECK(device >= 0 && device < kMaxDevices, "index check: device {} out of range",
                 device);
    std::vector<HostSlot>& free = free_[device];
    if (free.empty()) {
      constexpr int kChunk = 64;
      uint64_t* words = nullptr;
      STRAND_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&words), kChunk * sizeof(uint64_t),
                                      cudaHostAllocPortable));
      for (int i = 0; i < kChunk; ++i) {
        cudaEvent_t e = nullptr;
        STRAND_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
        free.push_back({words + i, e});
      }
    }
    const HostSlot slot = free.back();
    free.pop_back();
    return slot;
  }
  void release(int device, HostSlot slot) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_[device].push_back(slot);
  }

 private:
  static constexpr int kMaxDevices = 64;
  std::mutex mutex_;
  std::array<std::vector<HostSlot>, kMaxDevices> free_;
};

HostSlots& host_slots() {
  static HostSlots* slots = new HostSlots;  // never destroyed: the driver may be gone at exit
  return *slots;
}

IndexErrorLog& index_error_log() {
  static IndexErrorLog* log = new IndexErrorLog;
  return *log;
}

bool event_done(cudaEvent_t e) {
  const cudaError_t status = cudaEventQuery(e);
  if (status == cudaErrorNotReady) return false;
  STRAND_CUDA_CHECK(status);
  return true;
}

// Runs launch(flag) and queues the flag's report (see IndexErrorLog); nothing here waits.
template <typename Launch>
void with_index_check(const char* op, int64_t dim, const Context& ctx, Launch&& launch) {
  unsigned long long* flag = nullptr;
  STRAND_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&flag), sizeof(*flag), ctx.stream));
  STRAND_CUDA_CHECK(cudaMemsetAsync(flag, 0xFF, sizeof(*flag), ctx.stream));
  launch(flag);
  STRAND_CUDA_CHECK_LAUNCH(op);
  const HostSlot slot = host_slots().acquire(ctx.device);
  STRAND_CUDA_CHECK(
      cudaMemcpyAsync(slot.word, flag, sizeof(*flag), cudaMemcpyDeviceToHost, ctx.stream));
  STRAND_CUDA_CHECK(cudaFreeAsync(flag, ctx.stream));
  STRAND_CUDA_CHECK(cudaEventRecord(slot.copied, ctx.stream));
  const int device = ctx.device;
  index_error_log().add({.op = op,
                         .dim = dim,
                         .device = device,
                         .position = slot.word,
                         .done = [slot] { return event_done(slot.copied); },
                         .release = [slot, device] { host_slots().release(device, slot); }});
}

}  // namespace

void raise_index_errors(int device) { index_error_log().raise_completed(device); }

void cast(const Context& ctx, int64_t n, DType src_type, const void* in, DType dst_type,
          void* out) {
  if (n == 0) return;
  cast_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(n, src_type, in, dst_type, out);
  STRAND_CUDA_CHECK_LAUNCH("cast");
}

void fill(const Context& ctx, int64_t n, DType type, void* out, double value) {
  if (n == 0) return;
  fill_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(n, type, out, value);
  STRAND_CUDA_CHECK_LAUNCH("fill");
}

void arange(const Context& ctx, int64_t n, DType type, void* out, double start, double step) {
  if (n == 0) return;
  arange_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(n, type, out, start, step);
  STRAND_CUDA_CHECK_LAUNCH("arange");
}

template <typename T>
void index_select(const Context& ctx, int64_t outer, int64_t dim, int64_t inner, const T* src,
                  int64_t count, const int64_t* index, T* out) {
  const int64_t n = outer * count * inner;
  if (n == 0) return;
  with_index_check("index_select", dim, ctx, [&](unsigned long long* bad) {
    index_select_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(outer, dim, inner, as_device(src),
                                                                count, index, as_device(out), bad);
  });
}

template <typename T>
void index_add(const Context& ctx, int64_t outer, int64_t dim, int64_t inner, const T* src,
               int64_t count, const int64_t* index, T* dst) {
  const int64_t n = outer * count * inner;
  if (n == 0) return;
  with_index_check("index_add", dim, ctx, [&](unsigned long long* bad) {
    index_add_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(outer, dim, inner, as_device(src),
                                                             count, index, as_device(dst), bad);
  });
}

template <typename T>
void gather(const Context& ctx, int64_t outer, int64_t dim, int64_t inner, const T* src,
            int64_t count, const int64_t* index, T* out) {
  const int64_t n = outer * count * inner;
  if (n == 0) return;
  with_index_check("gather", dim, ctx, [&](unsigned long long* bad) {
    gather_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(outer, dim, inner, as_device(src), count,
                                                          index, as_device(out), bad);
  });
}

template <typename T>
void scatter_add(const Context& ctx, int64_t outer, int64_t dim, int64_t inner, const T* src,
                 int64_t count, const int64_t* index, T* dst) {
  const int64_t n = outer * count * inner;
  if (n == 0) return;
  with_index_check("scatter_add", dim, ctx, [&](unsigned long long* bad) {
    scatter_add_kernel<<<grid_for(n), kBlock, 0, ctx.stream>>>(outer, dim, inner, as_device(src),
                                                               count, index, as_device(dst), bad);
  });
}

STRAND_FLOATING_TYPES(STRAND_INDEX_INSTANTIATE)

}  // namespace strand::kernels::cuda
