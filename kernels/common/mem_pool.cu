// See mem_pool.h.
#include <cuda_runtime.h>

#include <cstdint>
#include <mutex>
#include <set>

#include "kernels/common/cuda_check.h"
#include "kernels/common/mem_pool.h"

namespace strand::kernels::cuda {

void keep_freed_pool_memory(int device) {
  static std::mutex mutex;
  static std::set<int> done;
  std::lock_guard<std::mutex> lock(mutex);
  if (done.count(device)) return;
  cudaMemPool_t pool = nullptr;
  STRAND_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t keep_all = UINT64_MAX;
  STRAND_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all));
  done.insert(device);
}

}  // namespace strand::kernels::cuda
