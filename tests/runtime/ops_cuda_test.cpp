// Every runtime op on CUDA against the CPU reference, forward and backward, on fresh random inputs
// with every CUDA allocation poisoned (NaN) so an unwritten element fails. Also: the RNG draws the
// same numbers on both devices, copies round-trip, optimizers agree. Skips without a device.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "runtime/autograd.h"
#include "runtime/ops.h"
#include "runtime/optim.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

using strand::testing::tensors_close;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct OpCase {
  std::string name;
  std::vector<Shape> shapes;
  Fn fn;
  double lo = -2.0, hi = 2.0;  // input range
};

// The design's tolerances, relative and (near zero) absolute: fp32 1e-5; bf16 2e-2, since both
// devices round bf16 results (2^-8..2^-7 each) after chains of ops. Every fp32 case has short
// sums or outputs large enough that float summation in another order stays well inside 1e-5
// relative plus 1e-5 absolute: the longest, sum_all_mean, adds 3000 values of [-2, 2] (sum ~60,
// so the bound is ~6e-4 against a float error of ~1e-5); matmul adds 65 products per output.
double tolerance(DType t) { return t == DType::kBF16 ? 2e-2 : (t == DType::kF32 ? 1e-5 : 1e-10); }

class PoisonScope {
 public:
  PoisonScope() { set_poison_allocations(true); }
  ~PoisonScope() { set_poison_allocations(false); }
};

void compare_on_devices(const OpCase& c, DType dtype, uint64_t seed) {
  SCOPED_TRACE(c.name + " " + std::string(dtype_name(dtype)));
  std::vector<Tensor> cpu_in, gpu_in;
  for (size_t i = 0; i < c.shapes.size(); ++i) {
    cpu_in.push_back(
        rand(c.shapes[i], seed + i, {.dtype = dtype}, c.lo, c.hi).set_requires_grad(true));
  }
  const Tensor cpu_out = c.fn(cpu_in);
  const Tensor grad_out = randn(cpu_out.shape(), seed + 100, {.dtype = dtype});
  cpu_out.backward(grad_out);

  PoisonScope poison;
  for (const Tensor& t : cpu_in)
    gpu_in.push_back(t.detach().to(Device::cuda(0)).set_requires_grad(true));
  const Tensor gpu_out = c.fn(gpu_in);
  ASSERT_TRUE(gpu_out.is_cuda());
  gpu_out.backward(grad_out.to(Device::cuda(0)));
  const double tol = tolerance(dtype);
  EXPECT_TRUE(tensors_close(gpu_out, cpu_out, tol, tol)) << "forward";
  for (size_t i = 0; i < cpu_in.size(); ++i) {
    EXPECT_TRUE(tensors_close(gpu_in[i].grad(), cpu_in[i].grad(), tol, tol))
        << "gradient of input " << i;
  }
}

std::vector<OpCase> op_cases() {
  const Tensor classes = from_vector<int64_t>({0, 4, 2, 1, 3, 3, 0}, {7});
  return {
      {"add_broadcast", {{5, 1, 7}, {3, 7}}, [](const auto& in) { return in[0] + in[1]; }},
      {"sub_mul_div",
       {{4, 6}, {6}, {4, 1}},
       [](const auto& in) { return (in[0] - in[1]) * in[2] / (in[1] * in[1] + 1.0); }},
      {"max_min",
       {{33, 17}, {17}},
       [](const auto& in) { return maximum(in[0], in[1]) + minimum(in[0], in[1]); }},
      {"pow", {{40}, {40}}, [](const auto& in) { return pow(in[0], in[1]); }, 0.5, 2.0},
      {"unary_smooth",
       {{3, 1000}},
       [](const auto& in) {
         return sigmoid(in[0]) + tanh(in[0]) + gelu(in[0]) + softplus(in[0]) + exp(in[0]);
       }},
      {"unary_kinks",
       {{1001}},
       [](const auto& in) { return relu(in[0]) + abs(in[0]) + clamp(in[0], -0.5, 0.7); }},
      {"unary_positive",
       {{257}},
       [](const auto& in) { return log(in[0]) + sqrt(in[0]) + 1.0 / in[0] + pow(in[0], 1.5); },
       0.2,
       3.0},
      {"scalars", {{9, 9}}, [](const auto& in) { return 2.0 - in[0] * 3.0 + 1.5; }},
      {"strided_input",
       {{8, 12}},
       [](const auto& in) { return relu(in[0].transpose(0, 1)) * in[0].transpose(0, 1); }},
      {"sum_dims",
       {{3, 5, 7}},
       [](const auto& in) {
         return sum(in[0], {0, 2});
       }},
      {"sum_all_mean", {{1000, 3}}, [](const auto& in) { return sum(in[0]) + mean(in[0]); }},
      {"mean_keepdim", {{4, 300}}, [](const auto& in) { return mean(in[0], {1}, true); }},
      {"max_rows", {{6, 513}}, [](const auto& in) { return max(in[0], 1).values; }},
      {"max_columns", {{37, 5, 3}}, [](const auto& in) { return max(in[0], 1).values; }},
      {"softmax_last", {{9, 1030}}, [](const auto& in) { return softmax(in[0], -1); }},
      {"softmax_middle", {{4, 11, 6}}, [](const auto& in) { return softmax(in[0], 1); }},
      {"log_softmax", {{9, 37}}, [](const auto& in) { return log_softmax(in[0], 1); }},
      {"matmul", {{33, 65}, {65, 17}}, [](const auto& in) { return matmul(in[0], in[1]); }},
      {"matmul_transposed",
       {{65, 33}, {17, 65}},
       [](const auto& in) { return matmul(in[0].transpose(0, 1), in[1].transpose(0, 1)); }},
      {"bmm_shared", {{3, 9, 14}, {14, 5}}, [](const auto& in) { return matmul(in[0], in[1]); }},
      {"linear",
       {{2, 7, 31}, {19, 31}, {19}},
       [](const auto& in) { return linear(in[0], in[1], in[2]); }},
      {"cat_stack",
       {{3, 4}, {3, 2}},
       [](const auto& in) {
         return stack({cat({in[0], in[1]}, 1), cat({in[1], in[0]}, 1)}, 0);
       }},
      {"index_select",
       {{5, 6}},
       [](const auto& in) {
         return index_select(in[0], 1, from_vector<int64_t>({5, 0, 5, 2}, {4}).to(in[0].device()));
       }},
      {"gather",
       {{7, 5}},
       [classes](const auto& in) {
         return gather(in[0], 1, classes.unsqueeze(1).to(in[0].device()));
       }},
      {"max_pool", {{2, 3, 101}}, [](const auto& in) { return max_pool1d(in[0], 4, 3, 2); }},
      {"avg_pool", {{2, 3, 101}}, [](const auto& in) { return avg_pool1d(in[0], 5, 2, 2); }},
      {"bce_logits",
       {{16, 5}, {5}},
       [](const auto& in) {
         const Tensor targets =
             rand(in[0].shape(), 77, {.dtype = in[0].dtype()}).to(in[0].device());
         return binary_cross_entropy_with_logits(in[0] * 4.0, targets, abs(in[1].detach()) + 0.5);
       }},
      {"cross_entropy",
       {{7, 5}},
       [classes](const auto& in) { return cross_entropy(in[0], classes.to(in[0].device())); }},
      {"mse_poisson",
       {{12}, {12}},
       [](const auto& in) {
         return mse_loss(in[0], in[1].detach()) + poisson_nll_loss(in[0], abs(in[1].detach()));
       }},
      {"batch_norm",
       {{8, 5, 33}, {5}, {5}},
       [](const auto& in) { return batch_norm(in[0], in[1], in[2], Tensor(), Tensor(), true); }},
      {"conv1d",
       {{3, 6, 40}, {8, 3, 5}, {8}},
       [](const auto& in) {
         return conv1d(in[0], in[1], in[2],
                       {.stride = 2, .pad_left = 2, .pad_right = 1, .groups = 2});
       }},
      {"views",
       {{4, 6}},
       [](const auto& in) {
         return in[0].slice(1, 1, 6, 2).reshape({-1}).unsqueeze(0).expand({3, 12}) * 1.0;
       }},
  };
}

TEST(OpsCuda, EveryOpMatchesCpuInF32AndF64) {
  STRAND_REQUIRE_CUDA_DEVICE();
  uint64_t seed = 1;
  for (const OpCase& c : op_cases()) {
    compare_on_devices(c, DType::kF32, seed += 10);
    if (c.name != "conv1d") compare_on_devices(c, DType::kF64, seed += 10);  // no f64 conv on CUDA
  }
}

TEST(OpsCuda, RecurrenceMatchesCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  for (auto mode : {kernels::RnnMode::kLstm, kernels::RnnMode::kGru}) {
    const RnnOptions o{.mode = mode, .hidden_size = 37, .num_layers = 2, .bidirectional = true};
    kernels::RnnShape s;
    s.mode = mode, s.input_size = 11, s.hidden_size = 37, s.num_layers = 2, s.bidirectional = true;
    s.seq_len = 1, s.batch = 1;
    std::vector<Tensor> cpu_w, gpu_w;
    uint64_t seed = 40;
    for (const auto& p : kernels::rnn_parameters(s)) {
      cpu_w.push_back((randn(p.shape, seed++) * 0.3).detach().set_requires_grad(true));
      gpu_w.push_back(cpu_w.back().detach().to(Device::cuda(0)).set_requires_grad(true));
    }
    const Tensor x = randn({9, 4, 11}, 1);
    const std::vector<int32_t> lengths{9, 4, 7, 1};
    const RnnResult rc = rnn(x, cpu_w, o, Tensor(), Tensor(), lengths);
    PoisonScope poison;
    const RnnResult rg = rnn(x.to(Device::cuda(0)), gpu_w, o, Tensor(), Tensor(), lengths);
    // Not the sweep's 1e-5: each step's rounding feeds the next 9 steps of 2 layers, so this
    // holds the recurrence kernel test's fp32 tolerance (rnn_cuda_test.cpp), 1e-4 and 1e-3 for
    // the weight gradients, which sum over every step and sequence.
    EXPECT_TRUE(tensors_close(rg.output, rc.output, 1e-4, 1e-5));
    EXPECT_TRUE(tensors_close(rg.h_n, rc.h_n, 1e-4, 1e-5));
    sum(rc.output).backward();
    sum(rg.output).backward();
    for (size_t i = 0; i < cpu_w.size(); ++i) {
      EXPECT_TRUE(tensors_close(gpu_w[i].grad(), cpu_w[i].grad(), 1e-3, 1e-4)) << "weight " << i;
    }
  }
}

TEST(OpsCuda, ElementwiseAndReductionsMatchCpuInBf16) {
  STRAND_REQUIRE_CUDA_DEVICE();
  uint64_t seed = 500;
  for (const OpCase& c : op_cases()) {
    if (c.name == "add_broadcast" || c.name == "unary_kinks" || c.name == "softmax_last" ||
        c.name == "matmul" || c.name == "max_pool" || c.name == "sum_dims") {
      compare_on_devices(c, DType::kBF16, seed += 10);
    }
  }
}

TEST(OpsCuda, RandomDrawsAndDropoutMasksAreIdenticalOnBothDevices) {
  STRAND_REQUIRE_CUDA_DEVICE();
  const TensorOptions gpu{.device = Device::cuda(0)};
  EXPECT_EQ(rand({1001}, 5).to_vector<float>(), rand({1001}, 5, gpu).to_vector<float>());
  EXPECT_EQ(randn({1001}, 6).to_vector<float>(), randn({1001}, 6, gpu).to_vector<float>());
  Generator a(7), b(7);
  EXPECT_EQ(dropout(ones({999}), 0.3, true, a).to_vector<float>(),
            dropout(ones({999}, gpu), 0.3, true, b).to_vector<float>());
}

TEST(OpsCuda, CopiesRoundTripAndDevicesMustMatch) {
  STRAND_REQUIRE_CUDA_DEVICE();
  const Tensor host = arange(0, 24).reshape({2, 3, 4});
  const Tensor dev = host.permute({2, 0, 1}).to(Device::cuda(0));
  EXPECT_EQ(dev.to(Device::cpu()).to_vector<float>(),
            host.permute({2, 0, 1}).contiguous().to_vector<float>());
  Tensor pinned = empty_pinned({24}, DType::kF32);
  pinned.copy_(host.reshape({24}));
  EXPECT_EQ(pinned.to(Device::cuda(0), /*non_blocking=*/true).to_vector<float>(),
            host.reshape({24}).to_vector<float>());
  EXPECT_THAT([&] { add(host, host.to(Device::cuda(0))); },
              ::testing::ThrowsMessage<Error>(
                  ::testing::HasSubstr("tensors are on different devices (cpu and cuda:0)")));
  EXPECT_THAT(
      [] { zeros({1}, {.device = Device::cuda(99)}); },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("device cuda:99 does not exist")));
  // The device reports a bad index where the host next waits for it: here, the copy back.
  const Tensor bad = index_select(zeros({3}, {.device = Device::cuda(0)}), 0,
                                  from_vector<int64_t>({5}, {1}).to(Device::cuda(0)));
  EXPECT_THAT([&] { bad.to(Device::cpu()); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr(
                  "index_select: index at position 0 is out of range [0, 3)")));
  EXPECT_NO_THROW(synchronize(Device::cuda(0))) << "a report is raised once";
}

TEST(OpsCuda, OptimizerStepsAndClippingMatchCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  for (int which = 0; which < 3; ++which) {
    Tensor p_cpu = randn({1000}, 1).set_requires_grad(true);
    Tensor p_gpu = p_cpu.detach().to(Device::cuda(0)).set_requires_grad(true);
    std::unique_ptr<Optimizer> o_cpu, o_gpu;
    if (which == 0) {
      o_cpu =
          std::make_unique<SGD>(std::vector<Tensor>{p_cpu},
                                kernels::SgdConfig{.lr = 0.1, .momentum = 0.9, .nesterov = true});
      o_gpu =
          std::make_unique<SGD>(std::vector<Tensor>{p_gpu},
                                kernels::SgdConfig{.lr = 0.1, .momentum = 0.9, .nesterov = true});
    } else if (which == 1) {
      o_cpu = std::make_unique<Adam>(std::vector<Tensor>{p_cpu},
                                     kernels::AdamConfig{.lr = 0.01, .weight_decay = 0.1});
      o_gpu = std::make_unique<Adam>(std::vector<Tensor>{p_gpu},
                                     kernels::AdamConfig{.lr = 0.01, .weight_decay = 0.1});
    } else {
      o_cpu = std::make_unique<AdamW>(std::vector<Tensor>{p_cpu});
      o_gpu = std::make_unique<AdamW>(std::vector<Tensor>{p_gpu});
    }
    for (int step = 0; step < 3; ++step) {
      const Tensor g = randn({1000}, 10 + step);
      p_cpu.set_grad(g.clone());
      p_gpu.set_grad(g.to(Device::cuda(0)));
      EXPECT_NEAR(clip_grad_norm({p_cpu}, 5.0), clip_grad_norm({p_gpu}, 5.0), 1e-3);
      o_cpu->step();
      o_gpu->step();
    }
    EXPECT_TRUE(tensors_close(p_gpu, p_cpu, 1e-5, 1e-6)) << "optimizer " << which;
  }
}

TEST(OpsCuda, DeviceQueryReportsAHopperOrNewerDevice) {
  STRAND_REQUIRE_CUDA_DEVICE();
  const DeviceProperties p = device_properties(0);
  EXPECT_FALSE(p.name.empty());
  EXPECT_GT(p.multiprocessors, 0);
  EXPECT_GT(p.total_memory, 0u);
  EXPECT_GE(p.compute_major, 7);
}

}  // namespace
}  // namespace strand::runtime
