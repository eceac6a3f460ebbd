// The RNN runners of the safety net (rnn_safety_net.h): forward, then backward to d_input, on a
// small random f32 problem, once with the custom recurrence forced and once with cuDNN.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_check.h"
#include "kernels/common/mem_pool.h"
#include "kernels/common/safety_net.h"
#include "kernels/rnn/rnn_safety_net.h"

namespace strand::kernels::cuda {
namespace {

// Stream-ordered device floats, freed on the stream when the check is done.
class Floats {
 public:
  Floats(const Context& ctx, size_t count) : ctx_(ctx) {
    keep_freed_pool_memory(ctx.device);
    // At least 16 bytes so every pointer is valid and aligned (rnn.h asks 16-byte alignment).
    STRAND_CUDA_CHECK(
        cudaMallocAsync(&ptr_, std::max<size_t>(count, 4) * sizeof(float), ctx.stream));
  }
  ~Floats() { cudaFreeAsync(ptr_, ctx_.stream); }
  Floats(const Floats&) = delete;
  Floats& operator=(const Floats&) = delete;
  float* get() const { return static_cast<float*>(ptr_); }

 private:
  Context ctx_;
  void* ptr_ = nullptr;
};

// `count` values uniform in [-scale, scale), fixed seed: the check is reproducible.
std::vector<float> random_values(size_t count, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(count);
  for (float& x : v) x = u(rng);
  return v;
}

void upload(const Context& ctx, const std::vector<float>& host, float* device) {
  STRAND_CUDA_CHECK(cudaMemcpyAsync(device, host.data(), host.size() * sizeof(float),
                                    cudaMemcpyHostToDevice, ctx.stream));
  STRAND_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));  // host is freed on return
}

std::vector<float> download(const Context& ctx, const float* device, size_t count) {
  std::vector<float> host(count);
  STRAND_CUDA_CHECK(cudaMemcpyAsync(host.data(), device, count * sizeof(float),
                                    cudaMemcpyDeviceToHost, ctx.stream));
  STRAND_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  return host;
}

size_t numel(const std::vector<int64_t>& dims) {
  size_t n = 1;
  for (int64_t d : dims) n *= static_cast<size_t>(d);
  return n;
}

// The check's problem on the device: input, d_output and every parameter (PyTorch-like scale
// 1/sqrt(H), so the gates are not saturated), each parameter at a 16-byte aligned offset.
struct Problem {
  RnnShape s;
  Floats x, dy, params;
  RnnInputs<float> in;

  static size_t param_floats(const RnnShape& s) {
    size_t total = 0;
    for (const RnnParamInfo& p : rnn_parameters(s)) total += (numel(p.shape) + 3) / 4 * 4;
    return total;
  }

  Problem(const Context& ctx, const RnnShape& shape)
      : s(shape),
        x(ctx, numel(rnn_tensor_shape(shape, RnnTensor::kInput))),
        dy(ctx, numel(rnn_tensor_shape(shape, RnnTensor::kOutput))),
        params(ctx, param_floats(shape)) {
    upload(ctx, random_values(numel(rnn_tensor_shape(s, RnnTensor::kInput)), 1.f, 1), x.get());
    upload(ctx, random_values(numel(rnn_tensor_shape(s, RnnTensor::kOutput)), 1.f, 2), dy.get());
    const float k = 1.f / std::sqrt(static_cast<float>(s.hidden_size));
    upload(ctx, random_values(param_floats(s), k, 3), params.get());
    in.input = x.get();
    in.weights.resize(s.num_layers * s.dirs());
    size_t offset = 0;
    for (const RnnParamInfo& p : rnn_parameters(s)) {
      RnnLayerWeights<float>& w = in.weights[p.layer * s.dirs() + p.dir];
      const float* ptr = params.get() + offset;
      offset += (numel(p.shape) + 3) / 4 * 4;
      switch (p.kind) {
        case RnnParamKind::kWeightIh:
          w.weight_ih = ptr;
          break;
        case RnnParamKind::kWeightHh:
          w.weight_hh = ptr;
          break;
        case RnnParamKind::kBiasIh:
          w.bias_ih = ptr;
          break;
        case RnnParamKind::kBiasHh:
          w.bias_hh = ptr;
          break;
      }
    }
  }

  // The forward output, or (backward) d_input after forward and backward, with `algo` forced.
  std::vector<float> run(const Context& ctx, RnnAlgo algo, bool backward) const {
    Floats reserve(ctx, rnn_reserve_bytes(ctx, s, DType::kF32, algo) / sizeof(float) + 1);
    const size_t ws_bytes = rnn_workspace_bytes(ctx, s, DType::kF32, algo);
    Floats workspace(ctx, ws_bytes / sizeof(float) + 1);
    const size_t y_count = numel(rnn_tensor_shape(s, RnnTensor::kOutput));
    Floats y(ctx, y_count);
    rnn_forward<float>(ctx, s, in, {y.get(), nullptr, nullptr}, algo, reserve.get(),
                       workspace.get(), ws_bytes);
    if (!backward) return download(ctx, y.get(), y_count);
    const size_t x_count = numel(rnn_tensor_shape(s, RnnTensor::kInput));
    Floats dx(ctx, x_count);
    RnnGradInputs<float> din;
    din.d_input = dx.get();
    rnn_backward<float>(ctx, s, in, reserve.get(), {dy.get(), nullptr, nullptr}, din, algo,
                        workspace.get(), ws_bytes);
    return download(ctx, dx.get(), x_count);
  }
};

std::string shape_text(const RnnShape& s) {
  return format("{} T={} N={} in={} H={} layers={} {}{}{}",
                s.mode == RnnMode::kLstm ? "lstm" : "gru", s.seq_len, s.batch, s.input_size,
                s.hidden_size, s.num_layers, s.bidirectional ? "bidirectional" : "unidirectional",
                s.batch_first ? " batch_first" : "", s.bias ? "" : " no_bias");
}

const char* kernel_name(RnnAlgo custom) {
  switch (custom) {
    case RnnAlgo::kCustomCluster:
      return "rnn cluster kernel";
    case RnnAlgo::kCustomPersistent:
      return "rnn persistent kernel";
    default:
      return "rnn per-step path";
  }
}

bool check(const Context& ctx, const RnnShape& shape, RnnAlgo custom) {
  RnnShape small = shape;
  small.batch = std::min<int64_t>(shape.batch, 2);
  try {
    rnn_path_name(ctx, small, DType::kF32, custom);  // raises where it cannot run the small batch
  } catch (const Error&) {
    small = shape;
  }
  const Problem p(ctx, small);
  for (bool backward : {false, true}) {
    // f32 against cuDNN's FMA math: only summation order differs, compounded over T steps.
    const SafetyCase c{kernel_name(custom), backward ? "backward (d_input)" : "forward",
                       shape_text(shape),   "fp32",
                       ctx.device,          1e-3};
    if (!safety_net().keeps(
            c, [&] { return p.run(ctx, custom, backward); },
            [&] { return p.run(ctx, RnnAlgo::kCudnn, backward); })) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool rnn_safety_net_keeps_custom(const Context& ctx, const RnnShape& shape, RnnAlgo custom) {
  STRAND_CHECK(custom == RnnAlgo::kCustomCluster || custom == RnnAlgo::kCustomPersistent ||
                   custom == RnnAlgo::kCustomStepGemm,
               "RNN safety net: {} is not a custom recurrence", static_cast<int>(custom));
  // The first verdict per key stands: a kernel disabled later for another shape must not change
  // the path of a shape whose reserve was sized for it.
  static std::mutex mutex;
  static std::map<std::tuple<int, std::string, RnnAlgo>, bool> verdicts;
  std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(ctx.device, shape_text(shape), custom);
  if (auto it = verdicts.find(key); it != verdicts.end()) return it->second;
  const bool keeps = check(ctx, shape, custom);
  verdicts.emplace(key, keeps);
  return keeps;
}

}  // namespace strand::kernels::cuda
