// The DP-SGD engine on CUDA against the CPU engine (f32): per-example norms and clipped gradients
// for linear, conv1d, conv1d_bases, LSTM (through the CUDA custom kernels' taps) and norm affine
// parameters, both norm methods; Gaussian noise with the same draws on both devices. Allocations
// are poisoned with NaN. Skips without a device.
#include <gtest/gtest.h>

#include <functional>
#include <optional>

#include "runtime/autograd.h"
#include "runtime/ops.h"
#include "runtime/per_sample.h"
#include "runtime/storage.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

using kernels::NormMethod;
using strand::testing::tensors_close;

using Forward = std::function<Tensor(const Tensor& x, const std::vector<Tensor>& params)>;

// Runs the engine on CPU and on CUDA with the same parameters and input; compares.
void compare(const std::vector<Shape>& shapes, const Tensor& x_cpu, int64_t outputs,
             const Forward& forward) {
  set_poison_allocations(true);
  const int64_t n = x_cpu.shape()[0];
  const Tensor y = (rand({n, outputs}, 99) + 0.5).to(DType::kI64).to(DType::kF32);
  for (auto method : {std::optional(NormMethod::kGhost), std::optional(NormMethod::kMaterialized),
                      std::optional(NormMethod::kInputGram)}) {
    std::vector<Tensor> norms, grads[2];
    for (int dev = 0; dev < 2; ++dev) {
      const Device device = dev ? Device::cuda(0) : Device::cpu();
      std::vector<Tensor> params;
      std::vector<std::pair<std::string, Tensor>> named;
      for (size_t k = 0; k < shapes.size(); ++k) {
        params.push_back(
            (randn(shapes[k], 10 + k) * 0.3).to(device).detach().set_requires_grad(true));
        named.emplace_back("p" + std::to_string(k), params.back());
      }
      PerSampleClipper clipper(named, {.max_grad_norm = 0.5, .method = method});
      const Tensor logits = forward(x_cpu.to(device), params);
      const Tensor loss = binary_cross_entropy_with_logits(logits, y.to(device));
      norms.push_back(clipper.backward(loss, n, static_cast<double>(n)).cpu());
      for (const Tensor& p : params) grads[dev].push_back(p.grad().cpu());
    }
    EXPECT_TRUE(tensors_close(norms[1], norms[0], 1e-4, 1e-5));
    for (size_t k = 0; k < shapes.size(); ++k)
      EXPECT_TRUE(tensors_close(grads[1][k], grads[0][k], 1e-4, 1e-5)) << "parameter " << k;
  }
  set_poison_allocations(false);
}

TEST(PerSampleClipperCuda, LinearAndNormAffine) {
  STRAND_REQUIRE_CUDA_DEVICE();
  compare({{7, 5}, {7}, {7}, {3, 7}}, randn({6, 4, 5}, 1), 3, [](const Tensor& x, const auto& p) {
    const Tensor h = tanh(linear(x, p[0], p[1])) * p[2];
    return linear(mean(h, {1}), p[3]);
  });
}

TEST(PerSampleClipperCuda, ConvolutionsDenseAndBaseCodes) {
  STRAND_REQUIRE_CUDA_DEVICE();
  Conv1dOptions o;
  o.stride = 2, o.pad_left = 3, o.pad_right = 1, o.dilation = 2;
  compare({{20, 6, 5}, {20}, {2, 20}}, randn({5, 6, 70}, 2), 2,
          [o](const Tensor& x, const auto& p) {
            return linear(mean(relu(conv1d(x, p[0], p[1], o)), {2}), p[2]);
          });
  Conv1dOptions same;
  same.same_padding = true;
  compare({{36, 4, 9}, {36}, {2, 36}}, (rand({4, 90}, 3) * 4.99).to(DType::kU8), 2,
          [same](const Tensor& x, const auto& p) {
            return linear(mean(relu(conv1d_bases(x, p[0], p[1], same)), {2}), p[2]);
          });
}

TEST(PerSampleClipperCuda, BidirectionalLstmThroughTheCustomKernels) {
  STRAND_REQUIRE_CUDA_DEVICE();
  kernels::RnnShape s;
  s.input_size = 6, s.hidden_size = 8, s.bidirectional = true, s.batch = 1, s.seq_len = 1;
  std::vector<Shape> shapes;
  for (const auto& info : kernels::rnn_parameters(s))
    shapes.emplace_back(info.shape.begin(), info.shape.end());
  shapes.push_back({2, 16});
  RnnOptions o;
  o.hidden_size = 8, o.bidirectional = true, o.batch_first = true;
  o.algo = kernels::RnnAlgo::kCustom;
  compare(shapes, randn({5, 9, 6}, 4), 2, [o](const Tensor& x, const auto& p) {
    const std::vector<Tensor> w(p.begin(), p.end() - 1);
    return linear(mean(rnn(x, w, o).output, {1}), p.back());
  });
}

TEST(PerSampleClipperCuda, NoiseDrawsMatchTheCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  std::vector<Tensor> out;
  for (const Device device : {Device::cpu(), Device::cuda(0)}) {
    Tensor w = zeros({300, 7}, {.device = device}).set_requires_grad(true);
    PerSampleClipper clipper({{"w", w}}, {.max_grad_norm = 2.0});
    Generator gen(11);
    clipper.add_noise(gen, 1.3, 8.0);
    out.push_back(w.grad().cpu());
  }
  EXPECT_TRUE(tensors_close(out[1], out[0], 1e-5, 1e-6));
}

}  // namespace
}  // namespace strand::runtime
