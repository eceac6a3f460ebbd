// The kernel contract: every kernel takes raw pointers, a small shape struct and this Context,
// which says where to run. CPU kernels ignore the stream.
#pragma once

struct CUstream_st;  // CUDA's own stream type, declared here so CPU-only code needs no CUDA header

namespace strand::kernels {

using Stream = CUstream_st*;

struct Context {
  Stream stream = nullptr;  // CUDA stream the kernel is enqueued on (nullptr: the default stream)
  int device = 0;           // CUDA device ordinal; the caller has made it current
};

}  // namespace strand::kernels
