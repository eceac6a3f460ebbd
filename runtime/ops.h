// The differentiable ops on tensors. Each runs the kernel family of the tensor's device and, when
// an input requires grad, records its backward on the tape (autograd.h). Inputs of one op must be
// on the same device; floating ops accept f32, f64 and bf16.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_onehot.h"
#include "kernels/gemm/gemm.h"
#include "kernels/rnn/rnn.h"
#include "runtime/rng.h"
#include "runtime/tensor.h"

namespace strand::runtime {

// Elementwise, with NumPy/PyTorch broadcasting for the binary ops.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor pow(const Tensor& a, double exponent);
Tensor rsub(const Tensor& a, double b);  // b - a
Tensor rdiv(const Tensor& a, double b);  // b / a
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor clamp(const Tensor& x, double low, double high);
Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor gelu(const Tensor& x);
Tensor softplus(const Tensor& x);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

// In place, never recorded (optimizers, gradient accumulation): dst += src (src broadcast).
void add_(Tensor& dst, const Tensor& src);

// The broadcast shape of two shapes, or an error naming both.
Shape broadcast_shapes(const Shape& a, const Shape& b);
// Sums t down to `shape` (the inverse of broadcasting to t's shape).
Tensor sum_to(const Tensor& t, const Shape& shape);

// Reductions. dims empty = all dimensions.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
struct MaxResult {
  Tensor values;
  Tensor indices;  // i64
};
MaxResult max(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);  // over all elements
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// Matrix products: 2-D x 2-D, or batched [B, m, k] x [B, k, n] (a 2-D operand is shared).
// TF32 applies to f32 on CUDA only.
Tensor matmul(const Tensor& a, const Tensor& b, kernels::MathMode mode = kernels::MathMode::kExact);
// x [..., in] W^T [out, in] + b [out], as torch.nn.functional.linear.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              kernels::MathMode mode = kernels::MathMode::kExact);

// Shape ops beyond the Tensor view methods.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);
// out = x.index_select(dim, index): index is a 1-D i64 tensor.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// out[..., j, ...] = x[..., index[..., j, ...], ...] along dim; index i64, same rank as x.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);

// Regularisation and pooling.
// Inverted dropout: zeroes each element with probability p, scales the rest by 1/(1-p); the mask
// comes from gen's Philox stream (same mask on CPU and CUDA). Identity when !training or p == 0.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen);
// x [N, C, L] (or [C, L]) pooled over L.
Tensor max_pool1d(const Tensor& x, int64_t kernel, int64_t stride = -1, int64_t padding = 0);
Tensor avg_pool1d(const Tensor& x, int64_t kernel, int64_t stride = -1, int64_t padding = 0);

// Batch normalisation of x [N, C] or [N, C, L] per channel, fused. Training: the batch's
// statistics, and running_mean / running_var (when defined) updated in place with momentum and the
// unbiased variance, as PyTorch does; otherwise the running statistics. weight/bias [C] may be
// undefined.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  double momentum = 0.1, double eps = 1e-5);
// max_pool1d(relu(batch_norm(x, ..., training = true, ...)), kernel, stride, padding) for x
// [N, C, L] as one autograd node (the Basset conv block): equal to the chain, bit for bit, with
// less memory traffic and no stored intermediate. CUDA runs the unfused chain.
Tensor batch_norm_relu_max_pool1d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const Tensor& running_mean, const Tensor& running_var,
                                  double momentum, double eps, int64_t kernel, int64_t stride = -1,
                                  int64_t padding = 0);

// Inference on the CPU without gradient recording (no autograd node): max_pool1d(relu(
// batch_norm(x, weight, bias, running_mean, running_var, training = false, eps))) for x [N, C, L]
// in one pass over x; with undefined running statistics, max_pool1d(relu(x)). Equal to the chain
// up to rounding: batch norm is folded into one multiply-add per element.
Tensor relu_max_pool1d_inference(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding,
                                 const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                                 const Tensor& running_mean = Tensor(),
                                 const Tensor& running_var = Tensor(), double eps = 1e-5);

// Losses, reduced by mean unless stated.
enum class Reduction { kMean, kSum, kNone };
// logits and targets of the same shape [..., tasks]; pos_weight [tasks] weighs positives (for
// imbalanced multi-task labels), as torch.nn.BCEWithLogitsLoss.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets,
                                        const Tensor& pos_weight = Tensor(),
                                        Reduction reduction = Reduction::kMean);
// logits [N, C], targets i64 class indices [N].
Tensor cross_entropy(const Tensor& logits, const Tensor& targets,
                     Reduction reduction = Reduction::kMean);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::kMean);
// Poisson negative log-likelihood with log-rate input: exp(input) - target * input.
Tensor poisson_nll_loss(const Tensor& log_rate, const Tensor& target,
                        Reduction reduction = Reduction::kMean);

// 1D convolution in PyTorch's layout: x [N, C_in, L], weight [C_out, C_in/groups, K], bias [C_out]
// (may be undefined). CPU: f32 or f64 (fast im2col + BLAS path); CUDA: f32 (fp32 or tf32 per
// gpu.precision) or bf16, custom tensor-core kernels or cuDNN per gpu.algo.
struct Conv1dOptions {
  int64_t stride = 1;
  int64_t pad_left = 0, pad_right = 0;
  int64_t dilation = 1;
  int64_t groups = 1;
  bool same_padding = false;  // PyTorch's padding="same" (stride 1): overrides pad_left/right
  kernels::Conv1dGpuOptions gpu;
};
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              const Conv1dOptions& options = {});
// Inference on CUDA without gradient recording (no autograd node): max_pool1d(relu(conv1d(x,
// weight, bias, options)), pool) with window = stride = pool and no padding, through
// kernels::cuda::conv1d_forward_fused (fused into the Hopper kernel's epilogue on compute
// capability 9.0, a second pass over the conv output elsewhere).
Tensor conv1d_relu_max_pool1d_inference(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                        int64_t pool, const Conv1dOptions& options = {});
// The same convolution of one-hot DNA given as base codes (u8 [N, L]: A, C, G, T = 0..3, 4 =
// unknown, which counts as 0.25 of each base), with weight [C_out, 4, K]: a gather-sum, no
// multiplications. The bases get no gradient.
Tensor conv1d_bases(const Tensor& bases, const Tensor& weight, const Tensor& bias,
                    const Conv1dOptions& options = {});
// Inference on CUDA without gradient recording: max_pool1d(relu(conv1d_bases(...)), pool) (window
// = stride = pool, no padding) in one kernel that writes only the pooled output
// (kernels::cuda::conv1d_onehot_relu_maxpool): the first layer of DeepSEA, Basset and DanQ.
Tensor conv1d_bases_relu_max_pool1d_inference(const Tensor& bases, const Tensor& weight,
                                              const Tensor& bias, int64_t pool,
                                              const Conv1dOptions& options = {});

// LSTM / GRU over a sequence, PyTorch's semantics and parameter layout. weights are in
// kernels::rnn_parameters(shape) order (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ...).
struct RnnOptions {
  kernels::RnnMode mode = kernels::RnnMode::kLstm;
  int64_t hidden_size = 0;
  int64_t num_layers = 1;
  bool bidirectional = false;
  bool batch_first = false;
  bool bias = true;
  double dropout = 0.0;  // between layers, in training only
  bool training = true;
  kernels::RnnAlgo algo = kernels::RnnAlgo::kAuto;
};
struct RnnResult {
  Tensor output;  // [T, N, dirs*H] (or batch-first), zero past each sample's length
  Tensor h_n;     // [layers*dirs, N, H]: the state at each sample's last valid step
  Tensor c_n;     // LSTM only
};
// lengths: empty (all T) or one per sample in [1, T]. h0/c0 may be undefined (zeros).
RnnResult rnn(const Tensor& input, const std::vector<Tensor>& weights, const RnnOptions& options,
              const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor(),
              const std::vector<int32_t>& lengths = {}, Generator* generator = nullptr);

}  // namespace strand::runtime
