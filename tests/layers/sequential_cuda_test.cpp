// Sequential's CUDA inference fusion: Conv1d -> ReLU -> MaxPool1d runs as one conv with the ReLU
// and pooling in its epilogue (runtime::conv1d_relu_max_pool1d_inference) and gives the chain's
// result (the same model on the CPU), in fp32, tf32 and bf16 autocast; with gradients on, the
// chain runs unfused and still agrees. The one-hot first layer (base codes in) likewise, through
// its own fused kernel (runtime::conv1d_bases_relu_max_pool1d_inference).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "layers/activation.h"
#include "layers/autocast.h"
#include "layers/conv.h"
#include "layers/pool.h"
#include "layers/sequential.h"
#include "runtime/autograd.h"
#include "runtime/ops.h"
#include "runtime/rng.h"
#include "tests/support/test_support.h"

namespace strand::layers {
namespace {

double scaled_error(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0, scale = 1e-6;
  for (float v : b) scale = std::max(scale, static_cast<double>(std::abs(v)));
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    EXPECT_FALSE(std::isnan(a[i])) << i;
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  }
  return worst / scale;
}

TEST(SequentialCuda, ConvReluPoolInferenceIsFusedAndMatchesTheChain) {
  STRAND_REQUIRE_CUDA_DEVICE();
  runtime::manual_seed(11);
  auto conv = std::make_shared<Conv1d>(
      Conv1dConfig{.in_channels = 20, .out_channels = 24, .kernel_size = 8, .same_padding = true});
  Sequential model({conv, std::make_shared<Activation>("ReLU"), MaxPool1d(4)});
  model.eval();
  const Tensor x = runtime::rand({3, 20, 152}, 7) - 0.5;
  std::vector<float> cpu_out;
  {
    runtime::NoGradGuard no_grad;
    cpu_out = model(x).to_vector<float>();
  }
  model.to(runtime::Device::cuda());
  const Tensor xd = x.to(runtime::Device::cuda());
  struct Case {
    kernels::Conv1dPrecision precision;
    bool autocast;
    double tol;
  };
  for (const Case& c : {Case{kernels::Conv1dPrecision::kFp32, false, 1e-5},
                        Case{kernels::Conv1dPrecision::kTf32, false, 3e-3},
                        Case{kernels::Conv1dPrecision::kFp32, true, 3e-2}}) {
    SCOPED_TRACE(::testing::Message() << to_string(c.precision) << (c.autocast ? " autocast" : ""));
    conv->set_gpu_options({c.precision, kernels::Conv1dGpuAlgo::kCustom});
    AutocastGuard autocast(c.autocast);
    {
      runtime::NoGradGuard no_grad;
      const Tensor y = model(xd);
      EXPECT_EQ(y.shape(), (Shape{3, 24, 38}));
      EXPECT_LT(scaled_error(y.to_vector<float>(), cpu_out), c.tol) << "fused";
    }
    const Tensor y = model(xd);  // gradients on: the unfused chain
    EXPECT_LT(scaled_error(y.to_vector<float>(), cpu_out), c.tol) << "unfused";
  }
}

// The one-hot first layer (base codes in): its fused conv + ReLU + max pool kernel.
TEST(SequentialCuda, BasesConvReluPoolInferenceIsFusedAndMatchesTheChain) {
  STRAND_REQUIRE_CUDA_DEVICE();
  runtime::manual_seed(12);
  auto conv = std::make_shared<Conv1d>(
      Conv1dConfig{.in_channels = 4, .out_channels = 32, .kernel_size = 19, .same_padding = true});
  Sequential model({conv, std::make_shared<Activation>("ReLU"), MaxPool1d(3)});
  model.eval();
  std::vector<uint8_t> codes(4 * 200);
  uint32_t state = 5;
  for (uint8_t& c : codes)
    c = static_cast<uint8_t>((state = state * 1664525u + 1013904223u) >> 29) % 5;
  const Tensor bases = runtime::from_vector(codes, {4, 200});
  std::vector<float> cpu_out;
  {
    runtime::NoGradGuard no_grad;
    cpu_out = model(bases).to_vector<float>();
  }
  model.to(runtime::Device::cuda());
  const Tensor bd = bases.to(runtime::Device::cuda());
  for (bool autocast : {false, true}) {
    SCOPED_TRACE(autocast ? "autocast" : "fp32");
    AutocastGuard guard(autocast);
    runtime::NoGradGuard no_grad;
    const Tensor y = model(bd);
    EXPECT_EQ(y.shape(), (Shape{4, 32, 66}));
    EXPECT_LT(scaled_error(y.to_vector<float>(), cpu_out), autocast ? 3e-2 : 1e-5);
  }
}

}  // namespace
}  // namespace strand::layers
