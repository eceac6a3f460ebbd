// cuDNN RNN path behind the strand RNN interface (f32): one single-layer cuDNN RNN per layer, so
// the caller's dropout masks apply between layers; padded time-major data with per-sample lengths
// (cudnnRNNDataDescriptor, SEQ_MAJOR_UNPACKED); weights packed from PyTorch's layout into cuDNN's
// weight space each call and weight gradients unpacked back (accumulated). Descriptors and cuDNN's
// size queries are cached per shape (and lengths), so timed calls measure the device work.
// Like with like: cuDNN runs in FMA math, the same fp32 arithmetic as the custom FFMA kernels (no
// TF32); the algorithm is CUDNN_RNN_ALGO_STANDARD, or a persistent one (PERSIST_STATIC,
// PERSIST_STATIC_SMALL_H) as the baseline of the on-chip custom recurrences.
#include <algorithm>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "kernels/rnn/rnn_cuda_internal.h"

namespace strand::kernels::cuda::rnn_internal {

cudnnHandle_t cudnn_handle(const Context& ctx) {
  thread_local std::vector<cudnnHandle_t> handles;
  if (static_cast<int>(handles.size()) <= ctx.device) handles.resize(ctx.device + 1, nullptr);
  if (!handles[ctx.device]) STRAND_CUDNN_CHECK(cudnnCreate(&handles[ctx.device]));
  STRAND_CUDNN_CHECK(cudnnSetStream(handles[ctx.device], ctx.stream));
  return handles[ctx.device];
}

namespace {

// Descriptors of layer l as a single-layer cuDNN RNN, and the buffer sizes cuDNN asks for.
cudnnRNNAlgo_t cudnn_algo(RnnAlgo algo) {
  switch (algo) {
    case RnnAlgo::kCudnnPersistStatic:
      return CUDNN_RNN_ALGO_PERSIST_STATIC;
    case RnnAlgo::kCudnnPersistSmallH:
      return CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H;
    default:
      return CUDNN_RNN_ALGO_STANDARD;
  }
}

// A layer's descriptors. They are destroyed by this base's destructor, which also runs when a
// cuDNN refusal throws from CudnnLayer's constructor (the persistent algorithms refuse many
// shapes), so a refused shape leaks nothing.
struct CudnnDescriptors {
  CudnnDescriptors() = default;
  ~CudnnDescriptors() {
    if (h) cudnnDestroyTensorDescriptor(h);
    if (y) cudnnDestroyRNNDataDescriptor(y);
    if (x) cudnnDestroyRNNDataDescriptor(x);
    if (dropout) cudnnDestroyDropoutDescriptor(dropout);
    if (rnn) cudnnDestroyRNNDescriptor(rnn);
  }
  CudnnDescriptors(const CudnnDescriptors&) = delete;
  CudnnDescriptors& operator=(const CudnnDescriptors&) = delete;

  cudnnRNNDescriptor_t rnn = nullptr;
  cudnnDropoutDescriptor_t dropout = nullptr;
  cudnnRNNDataDescriptor_t x = nullptr, y = nullptr;
  cudnnTensorDescriptor_t h = nullptr;
};

struct CudnnLayer : CudnnDescriptors {
  CudnnLayer(cudnnHandle_t handle, const RnnShape& s, RnnAlgo algo, int64_t l,
             const std::vector<int>& lengths) {
    const int D = static_cast<int>(s.dirs()), N = static_cast<int>(s.batch),
              H = static_cast<int>(s.hidden_size), T = static_cast<int>(s.seq_len);
    const int I = static_cast<int>(s.layer_input_size(l));
    STRAND_CUDNN_CHECK(cudnnCreateRNNDescriptor(&rnn));
    STRAND_CUDNN_CHECK(cudnnCreateDropoutDescriptor(&dropout));
    STRAND_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&x));
    STRAND_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&y));
    STRAND_CUDNN_CHECK(cudnnCreateTensorDescriptor(&h));
    // No dropout inside cuDNN (one layer): a zero-probability descriptor needs no RNG states.
    // FMA math: plain fp32 like the custom path (DEFAULT_MATH would allow TF32 on Ampere+).
    STRAND_CUDNN_CHECK(cudnnSetDropoutDescriptor(dropout, handle, 0.f, nullptr, 0, 0));
    STRAND_CUDNN_CHECK(cudnnSetRNNDescriptor_v8(
        rnn, cudnn_algo(algo), s.mode == RnnMode::kLstm ? CUDNN_LSTM : CUDNN_GRU,
        s.bias ? CUDNN_RNN_DOUBLE_BIAS : CUDNN_RNN_NO_BIAS,
        D == 2 ? CUDNN_BIDIRECTIONAL : CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT,
        CUDNN_DATA_FLOAT, CUDNN_FMA_MATH, I, H, H, 1, dropout, CUDNN_RNN_PADDED_IO_ENABLED));
    float zero = 0.f;
    STRAND_CUDNN_CHECK(cudnnSetRNNDataDescriptor(x, CUDNN_DATA_FLOAT,
                                                 CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, N, I,
                                                 lengths.data(), &zero));
    STRAND_CUDNN_CHECK(cudnnSetRNNDataDescriptor(y, CUDNN_DATA_FLOAT,
                                                 CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, N,
                                                 D * H, lengths.data(), &zero));
    const int dims[3] = {D, N, H}, strides[3] = {N * H, H, 1};
    STRAND_CUDNN_CHECK(cudnnSetTensorNdDescriptor(h, CUDNN_DATA_FLOAT, 3, dims, strides));
    STRAND_CUDNN_CHECK(cudnnGetRNNWeightSpaceSize(handle, rnn, &weight_bytes));
    STRAND_CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(handle, rnn, CUDNN_FWD_MODE_TRAINING, x,
                                                 &work_bytes, &reserve_bytes));
  }
  size_t weight_bytes = 0, work_bytes = 0, reserve_bytes = 0;
};

std::vector<int> host_lengths(const RnnShape& s, std::span<const int32_t> lengths) {
  std::vector<int> out(s.batch, static_cast<int>(s.seq_len));
  if (!lengths.empty()) std::copy(lengths.begin(), lengths.end(), out.begin());
  return out;
}

// Byte offsets of the cuDNN path's reserve and workspace, sized with full-length sequences (the
// largest cuDNN asks for).
struct CudnnPlan {
  CudnnPlan(cudnnHandle_t handle, const RnnShape& s, RnnAlgo algo) {
    const std::vector<int> full = host_lengths(s, {});
    const size_t TN = s.seq_len * s.batch;
    const size_t Imax = std::max<int64_t>(s.input_size, s.output_size());
    size_t at = 0;
    x = at;
    at += align_up(TN * s.input_size * sizeof(float));
    size_t weights = 0, work = 0;
    for (int64_t l = 0; l < s.num_layers; ++l) {
      const CudnnLayer layer(handle, s, algo, l, full);
      y.push_back(at);
      at += align_up(TN * s.output_size() * sizeof(float));
      cudnn_reserve.push_back(at);
      reserve_sizes.push_back(layer.reserve_bytes);
      at += align_up(layer.reserve_bytes);
      weights = std::max(weights, layer.weight_bytes);
      work = std::max(work, layer.work_bytes);
    }
    reserve_total = at;
    at = 0;
    auto take = [&](size_t bytes) {
      const size_t here = at;
      at += align_up(bytes);
      return here;
    };
    lengths = take(s.batch * sizeof(int));
    wspace = take(weights);
    dwspace = take(weights);
    work_space = take(work);
    scratch = take(TN * Imax * sizeof(float));
    dy = take(TN * s.output_size() * sizeof(float));
    dx = take(TN * Imax * sizeof(float));
    weight_bytes = weights;
    work_bytes = work;
    workspace_total = at;
  }
  size_t x = 0, reserve_total = 0;
  std::vector<size_t> y, cudnn_reserve, reserve_sizes;
  size_t lengths, wspace, dwspace, work_space, scratch, dy, dx, workspace_total;
  size_t weight_bytes, work_bytes;
};

// Building descriptors and asking cuDNN for sizes is host work; done once per (handle, shape) and
// per (handle, shape, layer, lengths) it stays out of the timed forward and backward (the weight
// packing, real device copies, stays per call). Never destroyed, like the handles (no cuDNN calls
// from static destructors); the layer cache is emptied past 256 entries, so varying lengths cannot
// grow it without bound.
using ShapeKey =
    std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, bool, bool, bool, int>;
ShapeKey shape_key(const RnnShape& s, RnnAlgo algo) {
  return {static_cast<int>(s.mode),
          s.seq_len,
          s.batch,
          s.input_size,
          s.hidden_size,
          s.num_layers,
          s.bidirectional,
          s.batch_first,
          s.bias,
          static_cast<int>(cudnn_algo(algo))};
}

const CudnnPlan& cached_plan(cudnnHandle_t handle, const RnnShape& s, RnnAlgo algo) {
  thread_local auto* cache =
      new std::map<std::pair<cudnnHandle_t, ShapeKey>, std::unique_ptr<CudnnPlan>>();
  auto& slot = (*cache)[{handle, shape_key(s, algo)}];
  if (!slot) slot = std::make_unique<CudnnPlan>(handle, s, algo);
  return *slot;
}

// The returned reference is valid until the next call (which may empty the cache).
const CudnnLayer& cached_layer(cudnnHandle_t handle, const RnnShape& s, RnnAlgo algo, int64_t l,
                               const std::vector<int>& lengths) {
  using Key = std::tuple<cudnnHandle_t, ShapeKey, int64_t, std::vector<int>>;
  thread_local auto* cache = new std::map<Key, std::unique_ptr<CudnnLayer>>();
  Key key{handle, shape_key(s, algo), l, lengths};
  auto it = cache->find(key);
  if (it == cache->end()) {
    if (cache->size() >= 256) cache->clear();
    it = cache->emplace(std::move(key), std::make_unique<CudnnLayer>(handle, s, algo, l, lengths))
             .first;
  }
  return *it->second;
}

// Visits every (direction, linear layer) matrix and bias of cuDNN's weight space with the
// matching PyTorch parameter: linear layers 0..G-1 are W_ih's gate blocks, G..2G-1 W_hh's, in
// the same gate order as PyTorch (i, f, g, o / r, z, n).
template <typename Fn>
void for_each_block(cudnnHandle_t handle, const CudnnLayer& L, const RnnShape& s, int64_t l,
                    void* space, Fn&& fn) {
  const int64_t H = s.hidden_size, I = s.layer_input_size(l), G = s.gates();
  cudnnTensorDescriptor_t mdesc, bdesc;
  STRAND_CUDNN_CHECK(cudnnCreateTensorDescriptor(&mdesc));
  STRAND_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bdesc));
  for (int64_t d = 0; d < s.dirs(); ++d) {
    for (int64_t lin = 0; lin < 2 * G; ++lin) {
      void* m = nullptr;
      void* b = nullptr;
      STRAND_CUDNN_CHECK(cudnnGetRNNWeightParams(handle, L.rnn, static_cast<int32_t>(d),
                                                 L.weight_bytes, space, static_cast<int32_t>(lin),
                                                 mdesc, &m, bdesc, &b));
      const bool input_side = lin < G;
      const int64_t gate = input_side ? lin : lin - G;
      const int64_t cols = input_side ? I : H;
      cudnnDataType_t type;
      int nd = 0, dims[8], strides[8];
      STRAND_CUDNN_CHECK(cudnnGetTensorNdDescriptor(mdesc, 8, &type, &nd, dims, strides));
      int64_t count = 1;
      for (int i = 0; i < nd; ++i) count *= dims[i];
      STRAND_CHECK(count == H * cols,
                   "cuDNN weight block {} of layer {} has {} elements, expected {}", lin, l, count,
                   H * cols);
      fn(d, input_side, static_cast<float*>(m), gate * H * cols, H * cols,
         static_cast<float*>(s.bias ? b : nullptr), gate * H, H);
    }
  }
  cudnnDestroyTensorDescriptor(bdesc);
  cudnnDestroyTensorDescriptor(mdesc);
}

void pack_weights(const Context& ctx, cudnnHandle_t handle, const CudnnLayer& L, const RnnShape& s,
                  int64_t l, const RnnInputs<float>& in, void* space) {
  for_each_block(handle, L, s, l, space,
                 [&](int64_t d, bool input_side, float* m, int64_t m_off, int64_t m_count, float* b,
                     int64_t b_off, int64_t b_count) {
                   const RnnLayerWeights<float>& w = in.weights[l * s.dirs() + d];
                   const float* src = input_side ? w.weight_ih : w.weight_hh;
                   STRAND_CUDA_CHECK(cudaMemcpyAsync(m, src + m_off, m_count * sizeof(float),
                                                     cudaMemcpyDeviceToDevice, ctx.stream));
                   if (b) {
                     const float* bsrc = input_side ? w.bias_ih : w.bias_hh;
                     STRAND_CUDA_CHECK(cudaMemcpyAsync(b, bsrc + b_off, b_count * sizeof(float),
                                                       cudaMemcpyDeviceToDevice, ctx.stream));
                   }
                 });
}

void unpack_grads(const Context& ctx, cudnnHandle_t handle, const CudnnLayer& L, const RnnShape& s,
                  int64_t l, const RnnGradInputs<float>& din, void* space) {
  for_each_block(handle, L, s, l, space,
                 [&](int64_t d, bool input_side, float* m, int64_t m_off, int64_t m_count, float* b,
                     int64_t b_off, int64_t b_count) {
                   const RnnLayerGrads<float>& g = din.weights[l * s.dirs() + d];
                   float* dst = input_side ? g.weight_ih : g.weight_hh;
                   if (dst) accumulate(ctx, m, dst + m_off, m_count);
                   float* bdst = input_side ? g.bias_ih : g.bias_hh;
                   if (b && bdst) accumulate(ctx, b, bdst + b_off, b_count);
                 });
}

const float* layer_input(const Context& ctx, const RnnShape& s, const RnnInputs<float>& in, char* R,
                         const CudnnPlan& plan, int64_t l, float* scratch) {
  if (l == 0) return reinterpret_cast<const float*>(R + plan.x);
  const float* prev = reinterpret_cast<const float*>(R + plan.y[l - 1]);
  if (in.dropout_masks.empty()) return prev;
  multiply_mask(ctx, prev, in.dropout_masks[l - 1], scratch, s.seq_len * s.batch * s.output_size());
  return scratch;
}

int* upload(const Context& ctx, const std::vector<int>& lengths, char* ws, const CudnnPlan& plan) {
  int* dlen = reinterpret_cast<int*>(ws + plan.lengths);
  STRAND_CUDA_CHECK(cudaMemcpyAsync(dlen, lengths.data(), lengths.size() * sizeof(int),
                                    cudaMemcpyHostToDevice, ctx.stream));
  return dlen;
}

}  // namespace

size_t cudnn_reserve_bytes(const Context& ctx, const RnnShape& shape, RnnAlgo algo) {
  return cached_plan(cudnn_handle(ctx), shape, algo).reserve_total;
}

size_t cudnn_workspace_bytes(const Context& ctx, const RnnShape& shape, RnnAlgo algo) {
  return cached_plan(cudnn_handle(ctx), shape, algo).workspace_total;
}

void cudnn_forward(const Context& ctx, const RnnShape& s, RnnAlgo algo, const RnnInputs<float>& in,
                   const RnnOutputs<float>& out, void* reserve, void* workspace,
                   size_t workspace_bytes) {
  cudnnHandle_t handle = cudnn_handle(ctx);
  const CudnnPlan& plan = cached_plan(handle, s, algo);
  STRAND_CHECK(workspace && workspace_bytes >= plan.workspace_total,
               "RNN workspace too small: {} bytes, need {}", workspace_bytes, plan.workspace_total);
  char* R = static_cast<char*>(reserve);
  char* ws = static_cast<char*>(workspace);
  const std::vector<int> lengths = host_lengths(s, in.lengths);
  const int* dlen = upload(ctx, lengths, ws, plan);
  const int64_t T = s.seq_len, N = s.batch, NH = N * s.hidden_size, D = s.dirs();
  float* scratch = reinterpret_cast<float*>(ws + plan.scratch);
  copy_sequence(ctx, in.input, reinterpret_cast<float*>(R + plan.x), T, N, s.input_size,
                s.batch_first, false);
  for (int64_t l = 0; l < s.num_layers; ++l) {
    const CudnnLayer& L = cached_layer(handle, s, algo, l, lengths);
    STRAND_CHECK(L.work_bytes <= plan.work_bytes && L.reserve_bytes <= plan.reserve_sizes[l],
                 "cuDNN asked for more space with these lengths than with full ones");
    const float* xin = layer_input(ctx, s, in, R, plan, l, scratch);
    pack_weights(ctx, handle, L, s, l, in, ws + plan.wspace);
    const int64_t state = l * D * NH;
    const bool lstm = s.mode == RnnMode::kLstm;
    STRAND_CUDNN_CHECK(cudnnRNNForward(
        handle, L.rnn, CUDNN_FWD_MODE_TRAINING, dlen, L.x, xin, L.y, R + plan.y[l], L.h,
        in.h0 ? in.h0 + state : nullptr, out.h_n ? out.h_n + state : nullptr, L.h,
        lstm && in.c0 ? in.c0 + state : nullptr, lstm && out.c_n ? out.c_n + state : nullptr,
        L.weight_bytes, ws + plan.wspace, plan.work_bytes, ws + plan.work_space, L.reserve_bytes,
        R + plan.cudnn_reserve[l]));
  }
  copy_sequence(ctx, reinterpret_cast<const float*>(R + plan.y[s.num_layers - 1]), out.output, T, N,
                s.output_size(), false, s.batch_first);
}

void cudnn_backward(const Context& ctx, const RnnShape& s, RnnAlgo algo, const RnnInputs<float>& in,
                    const void* reserve, const RnnGradOutputs<float>& dout,
                    const RnnGradInputs<float>& din, void* workspace, size_t workspace_bytes) {
  cudnnHandle_t handle = cudnn_handle(ctx);
  const CudnnPlan& plan = cached_plan(handle, s, algo);
  STRAND_CHECK(workspace && workspace_bytes >= plan.workspace_total,
               "RNN workspace too small: {} bytes, need {}", workspace_bytes, plan.workspace_total);
  // cuDNN's backward calls update their reserve space; that is part of the contract of this path.
  char* R = const_cast<char*>(static_cast<const char*>(reserve));
  char* ws = static_cast<char*>(workspace);
  const std::vector<int> lengths = host_lengths(s, in.lengths);
  const int* dlen = upload(ctx, lengths, ws, plan);
  const int64_t T = s.seq_len, N = s.batch, NH = N * s.hidden_size, D = s.dirs();
  const bool lstm = s.mode == RnnMode::kLstm;
  float* scratch = reinterpret_cast<float*>(ws + plan.scratch);
  float* dy = reinterpret_cast<float*>(ws + plan.dy);
  float* dx = reinterpret_cast<float*>(ws + plan.dx);
  copy_sequence(ctx, dout.d_output, dy, T, N, s.output_size(), s.batch_first, false);
  for (int64_t l = s.num_layers - 1; l >= 0; --l) {
    const CudnnLayer& L = cached_layer(handle, s, algo, l, lengths);
    const int64_t I = s.layer_input_size(l), state = l * D * NH;
    const float* xin = layer_input(ctx, s, in, R, plan, l, scratch);
    pack_weights(ctx, handle, L, s, l, in, ws + plan.wspace);
    // Padding positions of dx are zero in our contract; do not rely on cuDNN writing them.
    STRAND_CUDA_CHECK(cudaMemsetAsync(dx, 0, T * N * I * sizeof(float), ctx.stream));
    const float* hx = in.h0 ? in.h0 + state : nullptr;
    const float* cx = lstm && in.c0 ? in.c0 + state : nullptr;
    STRAND_CUDNN_CHECK(cudnnRNNBackwardData_v8(
        handle, L.rnn, dlen, L.y, R + plan.y[l], dy, L.x, dx, L.h, hx,
        dout.d_h_n ? dout.d_h_n + state : nullptr, din.d_h0 ? din.d_h0 + state : nullptr, L.h, cx,
        lstm && dout.d_c_n ? dout.d_c_n + state : nullptr,
        lstm && din.d_c0 ? din.d_c0 + state : nullptr, L.weight_bytes, ws + plan.wspace,
        plan.work_bytes, ws + plan.work_space, L.reserve_bytes, R + plan.cudnn_reserve[l]));
    if (!din.weights.empty()) {
      STRAND_CUDA_CHECK(cudaMemsetAsync(ws + plan.dwspace, 0, L.weight_bytes, ctx.stream));
      STRAND_CUDNN_CHECK(cudnnRNNBackwardWeights_v8(
          handle, L.rnn, CUDNN_WGRAD_MODE_ADD, dlen, L.x, xin, L.h, hx, L.y, R + plan.y[l],
          L.weight_bytes, ws + plan.dwspace, plan.work_bytes, ws + plan.work_space, L.reserve_bytes,
          R + plan.cudnn_reserve[l]));
      unpack_grads(ctx, handle, L, s, l, din, ws + plan.dwspace);
    }
    if (l > 0) {
      if (in.dropout_masks.empty()) {
        STRAND_CUDA_CHECK(cudaMemcpyAsync(dy, dx, T * N * I * sizeof(float),
                                          cudaMemcpyDeviceToDevice, ctx.stream));
      } else {
        multiply_mask(ctx, dx, in.dropout_masks[l - 1], dy, T * N * I);
      }
    } else if (din.d_input) {
      copy_sequence(ctx, dx, din.d_input, T, N, I, false, s.batch_first);
    }
  }
}

}  // namespace strand::kernels::cuda::rnn_internal
