// layers::set_gpu_math reaches every Conv1d, Linear and LSTM/GRU of a model; check_gpu_math
// refuses CUDA-only choices on the CPU and unknown algorithms.
#include "layers/gpu_math.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/models.h"
#include "layers/rnn.h"

namespace strand::layers {
namespace {

using ::testing::HasSubstr;

// Counts the model's Conv1d and Linear layers set as asked.
std::pair<int, int> count_set(Module& model, kernels::Conv1dGpuAlgo algo,
                              kernels::Conv1dPrecision precision, kernels::MathMode mode) {
  int convs = 0, linears = 0;
  for (const auto& [name, m] : model.named_modules()) {
    if (auto* c = dynamic_cast<Conv1d*>(m)) {
      EXPECT_EQ(c->gpu_options().algo, algo) << name;
      EXPECT_EQ(c->gpu_options().precision, precision) << name;
      ++convs;
    }
    if (auto* l = dynamic_cast<Linear*>(m)) {
      EXPECT_EQ(l->math_mode(), mode) << name;
      ++linears;
    }
  }
  return {convs, linears};
}

TEST(GpuMath, ReachesEveryConvAndLinearOfAModel) {
  auto model = build_model("deepsea", 1000, 3);
  const auto [convs, linears] =
      count_set(*model, kernels::Conv1dGpuAlgo::kAuto, kernels::Conv1dPrecision::kFp32,
                kernels::MathMode::kExact);
  EXPECT_EQ(convs, 3);
  EXPECT_EQ(linears, 2);
  set_gpu_math(*model, {.conv_algo = "cudnn", .tf32 = true});
  count_set(*model, kernels::Conv1dGpuAlgo::kCudnn, kernels::Conv1dPrecision::kTf32,
            kernels::MathMode::kTf32);
  set_gpu_math(*model, {.conv_algo = "custom", .tf32 = false});
  count_set(*model, kernels::Conv1dGpuAlgo::kCustom, kernels::Conv1dPrecision::kFp32,
            kernels::MathMode::kExact);
}

TEST(GpuMath, ReachesEveryRecurrentLayer) {
  auto model = build_model("danq", 1000, 3);
  auto algos = [&] {
    std::vector<kernels::RnnAlgo> out;
    for (const auto& [name, m] : model->named_modules())
      if (auto* r = dynamic_cast<Recurrent*>(m)) out.push_back(r->config().algo);
    return out;
  };
  EXPECT_EQ(algos(), std::vector<kernels::RnnAlgo>{kernels::RnnAlgo::kAuto});
  set_gpu_math(*model, {.rnn_algo = "cudnn-persist-static"});
  EXPECT_EQ(algos(), std::vector<kernels::RnnAlgo>{kernels::RnnAlgo::kCudnnPersistStatic});
  set_gpu_math(*model, {.rnn_algo = "cluster"});
  EXPECT_EQ(algos(), std::vector<kernels::RnnAlgo>{kernels::RnnAlgo::kCustomCluster});
  try {
    set_gpu_math(*model, {.rnn_algo = "fast"});
    ADD_FAILURE() << "unknown recurrence accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("unknown --rnn-algo 'fast' (auto, custom, cluster, "
                                       "persistent, step-gemm, cudnn, cudnn-persist-static, "
                                       "cudnn-persist-small-h)"));
  }
}

TEST(GpuMath, CudaOnlyChoicesAreRefusedOnTheCpu) {
  EXPECT_NO_THROW(check_gpu_math({}, "cpu"));
  EXPECT_NO_THROW(check_gpu_math({.conv_algo = "cudnn", .tf32 = true}, "cuda"));
  EXPECT_NO_THROW(check_gpu_math({.conv_algo = "custom"}, "cuda:1"));
  try {
    check_gpu_math({.tf32 = true}, "cpu");
    ADD_FAILURE() << "tf32 on the CPU accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("--tf32 chooses CUDA arithmetic"));
  }
  EXPECT_NO_THROW(check_gpu_math({.rnn_algo = "cudnn"}, "cuda"));
  try {
    check_gpu_math({.rnn_algo = "persistent"}, "cpu");
    ADD_FAILURE() << "--rnn-algo persistent on the CPU accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("--rnn-algo persistent chooses a CUDA recurrence"));
  }
  try {
    check_gpu_math({.conv_algo = "custom"}, "cpu");
    ADD_FAILURE() << "--conv-algo custom on the CPU accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("--conv-algo custom chooses a CUDA convolution"));
  }
  try {
    auto model = build_model("deepsea", 1000, 3);
    set_gpu_math(*model, {.conv_algo = "cuDNN"});
    ADD_FAILURE() << "unknown algorithm accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("unknown --conv-algo 'cuDNN' (auto, custom, cudnn)"));
  }
}

}  // namespace
}  // namespace strand::layers
