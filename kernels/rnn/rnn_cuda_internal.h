// Internal pieces of the CUDA RNN family shared between its .cu files: handles, the persistent
// recurrent kernel's launcher, and the cuDNN path. Include only from .cu files.
#pragma once

#include <cstddef>
#include <vector>

#include "kernels/common/cuda_check.h"
#include "kernels/rnn/rnn.h"
#include "kernels/rnn/rnn_detail.h"

namespace strand::kernels::cuda::rnn_internal {

cudnnHandle_t cudnn_handle(const Context& ctx);

constexpr size_t kAlign = 256;
inline size_t align_up(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

// Per-direction buffers of one layer for the recurrence; W_hh in the caller's weight type.
template <typename W>
struct PersistentLayer {
  detail::RnnDirBuffers<float> bufs[2];
  detail::RnnDims dims[2];
  const W* w_hh[2] = {nullptr, nullptr};
  const int* lengths = nullptr;  // device [N]
};

// The backward recurrence of one layer: per-direction buffers as in forward (reserve), plus the
// gradient buffers of rnn.cu's step path ([D][N][H] carries, dy [T][N][D*H], dgx/dgh).
template <typename W>
struct PersistentBackwardLayer {
  detail::RnnDirBuffers<float> bufs[2];
  detail::RnnDims dims[2];
  const W* w_hh[2] = {nullptr, nullptr};
  const int* lengths = nullptr;
  float* dh_carry = nullptr;
  float* dc_carry = nullptr;
  const float* dy = nullptr;
  float* dgx[2] = {nullptr, nullptr};
  float* dgh[2] = {nullptr, nullptr};
};

// The persistent recurrences for W in {float, bf16 bits (uint16_t)}, the storage type of the
// caller's weights: whether one can run this shape (W_hh slice on chip, grid co-resident), and
// the launches, each running all T steps of both directions of one layer in one kernel.
bool persistent_fits(const Context& ctx, const RnnShape& shape, size_t weight_bytes, bool backward);
void persistent_forward_f32(const Context& ctx, const RnnShape& shape,
                            const PersistentLayer<float>& layer);
void persistent_forward_bf16(const Context& ctx, const RnnShape& shape,
                             const PersistentLayer<uint16_t>& layer);
void persistent_backward_f32(const Context& ctx, const RnnShape& shape,
                             const PersistentBackwardLayer<float>& layer);
void persistent_backward_bf16(const Context& ctx, const RnnShape& shape,
                              const PersistentBackwardLayer<uint16_t>& layer);

// The cluster recurrences (rnn_cluster.cu): whether one runs this shape here (compute capability
// 9.0, W_hh and the exchange buffers in one cluster's shared memory), and the launches, all T
// steps of both directions of one layer. W and the layer structs as the persistent kernels'.
bool cluster_fits(const Context& ctx, const RnnShape& shape, size_t weight_bytes, bool backward);
void cluster_forward_f32(const Context& ctx, const RnnShape& shape,
                         const PersistentLayer<float>& layer);
void cluster_forward_bf16(const Context& ctx, const RnnShape& shape,
                          const PersistentLayer<uint16_t>& layer);
void cluster_backward_f32(const Context& ctx, const RnnShape& shape,
                          const PersistentBackwardLayer<float>& layer);
void cluster_backward_bf16(const Context& ctx, const RnnShape& shape,
                           const PersistentBackwardLayer<uint16_t>& layer);

// cuDNN path (f32 only), one cuDNN RNN per layer so dropout masks come from the caller. algo:
// kCudnn (CUDNN_RNN_ALGO_STANDARD), kCudnnPersistStatic or kCudnnPersistSmallH.
size_t cudnn_reserve_bytes(const Context& ctx, const RnnShape& shape, RnnAlgo algo);
size_t cudnn_workspace_bytes(const Context& ctx, const RnnShape& shape, RnnAlgo algo);
void cudnn_forward(const Context& ctx, const RnnShape& shape, RnnAlgo algo,
                   const RnnInputs<float>& in, const RnnOutputs<float>& out, void* reserve,
                   void* workspace, size_t workspace_bytes);
void cudnn_backward(const Context& ctx, const RnnShape& shape, RnnAlgo algo,
                    const RnnInputs<float>& in, const void* reserve,
                    const RnnGradOutputs<float>& dout, const RnnGradInputs<float>& din,
                    void* workspace, size_t workspace_bytes);

// Elementwise helpers (rnn.cu) the cuDNN path shares.
// dst[i] = src[i] * mask[i]
void multiply_mask(const Context& ctx, const float* src, const float* mask, float* dst,
                   size_t count);
// dst[i] += src[i]
void accumulate(const Context& ctx, const float* src, float* dst, size_t count);
// Time-major <-> batch-first copy of a [T][N][F] sequence.
void copy_sequence(const Context& ctx, const float* src, float* dst, int64_t T, int64_t N,
                   int64_t F, bool src_bf, bool dst_bf);

}  // namespace strand::kernels::cuda::rnn_internal
