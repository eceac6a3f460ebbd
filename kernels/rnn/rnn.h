// LSTM and GRU kernels (multi-layer, bidirectional, per-sample lengths, dropout masks between
// layers): shape and parameter descriptions in PyTorch's layout, and the CPU and CUDA families.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "kernels/common/context.h"

namespace strand::kernels {

enum class RnnMode : uint8_t { kLstm, kGru };

// Which CUDA implementation runs. kCustom, for hidden <= 512: on compute capability 9.0 the
// cluster forward (tensor cores, W_hh in one thread-block cluster's shared memory, h exchanged
// through distributed shared memory) when W_hh fits there, else the grid-barrier persistent
// kernels when W_hh's slices fit on chip and the grid can be co-resident, else the per-step GEMM
// path; backward after the cluster forward runs the cluster backward where W_hh^T and the
// gate-gradient exchange fit one cluster, else the persistent kernel or the per-step path (each
// pass falls back alone).
// kCustomCluster forces the cluster forward and kCustomPersistent the grid-barrier persistent
// forward (each an error where it cannot run), kCustomStepGemm the per-step path (tests,
// benchmarks); kCudnn is cuDNN's RNN API (f32, CUDNN_RNN_ALGO_STANDARD),
// kCudnnPersistStatic and kCudnnPersistSmallH its persistent algorithms (baselines; cuDNN refuses
// the shapes they do not support). kAuto is kCustom, except that in f32 it runs cuDNN for a shape
// where the custom recurrence failed its first-use check against cuDNN (rnn_safety_net.h). The
// CPU family ignores this.
enum class RnnAlgo : uint8_t {
  kAuto,
  kCustom,
  kCustomStepGemm,
  kCudnn,
  kCustomCluster,
  kCudnnPersistStatic,
  kCudnnPersistSmallH,
  kCustomPersistent
};

struct RnnShape {
  RnnMode mode = RnnMode::kLstm;
  int64_t seq_len = 0;  // T, the padded length
  int64_t batch = 0;    // N
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 1;
  bool bidirectional = false;
  bool batch_first = false;  // input/output [N, T, F] instead of [T, N, F]
  bool bias = true;          // false: every bias pointer must be null

  int64_t gates() const { return mode == RnnMode::kLstm ? 4 : 3; }
  int64_t dirs() const { return bidirectional ? 2 : 1; }
  int64_t output_size() const { return dirs() * hidden_size; }
  int64_t layer_input_size(int64_t layer) const { return layer == 0 ? input_size : output_size(); }
};

// Raises strand::Error naming the first bad field.
void validate(const RnnShape& shape);

// Tensors of the interface, for shape checks by callers that hold real shapes (the runtime).
enum class RnnTensor : uint8_t { kInput, kOutput, kState, kDropoutMask };
std::vector<int64_t> rnn_tensor_shape(const RnnShape& shape, RnnTensor which);
// Raises strand::Error ("input has shape [..], expected [..]") unless dims matches.
void check_rnn_tensor_shape(const RnnShape& shape, RnnTensor which, std::span<const int64_t> dims);

enum class RnnParamKind : uint8_t { kWeightIh, kWeightHh, kBiasIh, kBiasHh };
struct RnnParamInfo {
  std::string name;  // PyTorch's: weight_ih_l0, bias_hh_l1_reverse, ...
  std::vector<int64_t> shape;
  int64_t layer = 0;
  int64_t dir = 0;
  RnnParamKind kind = RnnParamKind::kWeightIh;
};
// Every parameter in PyTorch's state_dict order (per layer: forward then reverse direction; per
// direction weight_ih, weight_hh, bias_ih, bias_hh; biases only when shape.bias).
std::vector<RnnParamInfo> rnn_parameters(const RnnShape& shape);
// Raises strand::Error naming the parameter unless dims is its PyTorch shape.
void check_rnn_parameter_shape(const RnnShape& shape, int64_t layer, int64_t dir, RnnParamKind kind,
                               std::span<const int64_t> dims);
// Lengths (host memory): empty, or N entries each in [1, T].
void check_rnn_lengths(const RnnShape& shape, std::span<const int32_t> lengths);

// One (layer, direction)'s parameters, PyTorch layout: weight_ih [G*H, in], weight_hh [G*H, H],
// biases [G*H]; gate blocks i, f, g, o (LSTM) or r, z, n (GRU). Biases null when !shape.bias.
template <typename T>
struct RnnLayerWeights {
  const T* weight_ih = nullptr;
  const T* weight_hh = nullptr;
  const T* bias_ih = nullptr;
  const T* bias_hh = nullptr;
};
// Gradients, same layout; accumulated (+=). A null pointer skips that gradient.
template <typename T>
struct RnnLayerGrads {
  T* weight_ih = nullptr;
  T* weight_hh = nullptr;
  T* bias_ih = nullptr;
  T* bias_hh = nullptr;
};

// What forward and backward both read.
template <typename T>
// The small tables (lengths, weight pointers, mask pointers) are owned copies: a view of a
// caller's temporary vector would dangle (a test once read freed weights through one).
struct RnnInputs {
  const T* input = nullptr;                 // [T, N, in] or [N, T, in] (batch_first)
  std::vector<int32_t> lengths;             // empty: every sample has length T
  const T* h0 = nullptr;                    // [layers*dirs, N, H]; null: zeros
  const T* c0 = nullptr;                    // LSTM only; null: zeros
  std::vector<RnnLayerWeights<T>> weights;  // layers*dirs entries, index layer*dirs + dir
  // Empty, or num_layers-1 masks; mask k multiplies layer k's output before layer k+1 reads it.
  // Each is [T, N, dirs*H] time-major (whatever batch_first says), already scaled by 1/(1-p).
  std::vector<const T*> dropout_masks;
};

template <typename T>
struct RnnOutputs {
  T* output = nullptr;  // [T, N, dirs*H] or batch-first; zero past each sample's length
  T* h_n = nullptr;     // [layers*dirs, N, H], state at each sample's last valid step; may be null
  T* c_n = nullptr;     // LSTM; may be null
};

template <typename T>
struct RnnGradOutputs {
  const T* d_output = nullptr;  // like output
  const T* d_h_n = nullptr;     // may be null (zero)
  const T* d_c_n = nullptr;     // may be null (zero)
};

// Opt-in copies of what one (layer, direction)'s weight gradients are made of, for per-example
// gradients (DP-SGD): every row is one (step, sample), time-major (row s*N + n, whatever
// batch_first says), so W_ih's gradient is d_gates_ih^T input and W_hh's d_gates_hh^T h_prev.
// Rows past a sample's length are zero in both d_gates.
template <typename T>
struct RnnLayerTaps {
  T* d_gates_ih = nullptr;  // [T*N, G*H] gradient of the input projection (and of bias_ih)
  T* d_gates_hh = nullptr;  // [T*N, G*H] gradient of the recurrent projection (and of bias_hh)
  T* input = nullptr;       // [T*N, layer input size] the layer's input (after dropout)
  T* h_prev = nullptr;      // [T*N, H] the state each step read
};

template <typename T>
struct RnnGradInputs {
  T* d_input = nullptr;                       // like input, overwritten; may be null
  T* d_h0 = nullptr;                          // overwritten; may be null
  T* d_c0 = nullptr;                          // overwritten; may be null
  std::span<const RnnLayerGrads<T>> weights;  // empty, or layers*dirs entries (accumulated)
  // Empty, or layers*dirs entries (all four pointers set) to receive RnnLayerTaps. Supported by
  // the CPU fast path and the CUDA custom paths in f32 (not the reference, cuDNN or bf16).
  std::span<const RnnLayerTaps<T>> taps;
};

namespace cpu {

// Plain loops, one sample and one time step at a time: the reference every other path is
// checked against. Backward recomputes the forward pass itself. T = float or double.
template <typename T>
void rnn_forward_reference(const RnnShape& shape, const RnnInputs<T>& in, const RnnOutputs<T>& out);
template <typename T>
void rnn_backward_reference(const RnnShape& shape, const RnnInputs<T>& in,
                            const RnnGradOutputs<T>& dout, const RnnGradInputs<T>& din);

// BLAS fast path: one GEMM for the input projection of all steps, one GEMM per step for the
// recurrence, vectorized gate updates, the two directions on two threads, weight gradients as
// one GEMM over all steps. The reserve (bytes from rnn_reserve_bytes) is written by forward and
// read by backward; it is required. Scratch is per thread and reused across calls.
size_t rnn_reserve_bytes(const RnnShape& shape, DType dtype);
template <typename T>
void rnn_forward(const Context& ctx, const RnnShape& shape, const RnnInputs<T>& in,
                 const RnnOutputs<T>& out, void* reserve);
template <typename T>
void rnn_backward(const Context& ctx, const RnnShape& shape, const RnnInputs<T>& in,
                  const void* reserve, const RnnGradOutputs<T>& dout, const RnnGradInputs<T>& din);

}  // namespace cpu

namespace cuda {

// Which recurrence a call with this algo would run: "cluster", "persistent", "step_gemm",
// "cudnn", "cudnn_persist_static" or "cudnn_persist_small_h".
// T = float or BFloat16 (bf16 weights stay bf16 on chip; state and accumulation are fp32).
std::string rnn_path_name(const Context& ctx, const RnnShape& shape, DType dtype, RnnAlgo algo);

// Device buffers the caller allocates: the reserve lives from forward to backward (inference
// needs it too: it holds the states), the workspace only during one call (the size covers
// backward, so one workspace serves both). Both depend on algo (cuDNN has its own needs).
size_t rnn_reserve_bytes(const Context& ctx, const RnnShape& shape, DType dtype, RnnAlgo algo);
size_t rnn_workspace_bytes(const Context& ctx, const RnnShape& shape, DType dtype, RnnAlgo algo);

// All pointers are device memory except in.lengths (host). Buffers must be 16-byte aligned.
template <typename T>
void rnn_forward(const Context& ctx, const RnnShape& shape, const RnnInputs<T>& in,
                 const RnnOutputs<T>& out, RnnAlgo algo, void* reserve, void* workspace,
                 size_t workspace_bytes);
// Call with the same algo, inputs and reserve as the forward call. The cuDNN path's backward
// updates the reserve (cuDNN's contract), so it runs once per forward.
template <typename T>
void rnn_backward(const Context& ctx, const RnnShape& shape, const RnnInputs<T>& in,
                  const void* reserve, const RnnGradOutputs<T>& dout, const RnnGradInputs<T>& din,
                  RnnAlgo algo, void* workspace, size_t workspace_bytes);

}  // namespace cuda
}  // namespace strand::kernels
