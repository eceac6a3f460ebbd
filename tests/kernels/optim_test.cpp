// CPU optimizer kernels against plain double loops written from PyTorch's update rules: SGD
// (momentum, dampening, Nesterov, weight decay, the first step), Adam and AdamW over several steps
// (bias correction), and global-norm clipping's two halves, in float, double and bf16.
#include "kernels/optim/optim.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/kernels/kernel_test_support.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

template <typename T>
class OptimTest : public ::testing::Test {};
TYPED_TEST_SUITE(OptimTest, KernelTypes);

// Odd, and above the parallel threshold (1 << 15).
constexpr int64_t kSizes[] = {1, 37, (1 << 15) + 1};

// The optimizer state as the kernel keeps it: every step starts from the rounded T values, so the
// reference does too and only one step's rounding separates them.
template <typename T>
std::vector<T> rounded(const std::vector<double>& v) {
  std::vector<T> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<T>(v[i]);
  return out;
}

TYPED_TEST(OptimTest, SgdStepsFollowPyTorchsRule) {
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  const SgdConfig configs[] = {
      {.lr = 0.1},
      {.lr = 0.05, .weight_decay = 0.01},
      {.lr = 0.1, .momentum = 0.9},
      {.lr = 0.1, .momentum = 0.9, .dampening = 0.3, .weight_decay = 0.02},
      {.lr = 0.1, .momentum = 0.8, .weight_decay = 0.01, .nesterov = true},
  };
  uint64_t seed = 1;
  for (const SgdConfig& c : configs) {
    for (int64_t n : kSizes) {
      SCOPED_TRACE(::testing::Message()
                   << "momentum " << c.momentum << " dampening " << c.dampening << " wd "
                   << c.weight_decay << " nesterov " << c.nesterov << " n " << n);
      std::vector<T> param = random_vector<T>(n, ++seed), momentum(n, T(NAN));
      for (int step = 0; step < 3; ++step) {
        const auto grad = random_vector<T>(n, ++seed);
        std::vector<double> p = to_double(param), buf = to_double(momentum);
        for (int64_t i = 0; i < n; ++i) {
          double g = static_cast<double>(grad[i]) + c.weight_decay * p[i];
          if (c.momentum != 0) {
            buf[i] = step == 0 ? g : c.momentum * buf[i] + (1 - c.dampening) * g;
            g = c.nesterov ? g + c.momentum * buf[i] : buf[i];
          }
          p[i] -= c.lr * g;
        }
        cpu::sgd_step<T>({}, n, c, step == 0, param.data(), grad.data(),
                         c.momentum != 0 ? momentum.data() : nullptr);
        EXPECT_TRUE(all_close(param, p, tol, tol)) << "param, step " << step;
        if (c.momentum != 0) EXPECT_TRUE(all_close(momentum, buf, tol, tol)) << "momentum";
        param = rounded<T>(p);
        if (c.momentum != 0) momentum = rounded<T>(buf);
      }
    }
  }
}

TYPED_TEST(OptimTest, AdamAndAdamWStepsFollowTheirRules) {
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  const AdamConfig configs[] = {
      {.lr = 1e-2},
      {.lr = 1e-2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.1},
      {.lr = 1e-2, .weight_decay = 0.1, .decoupled_weight_decay = true},
  };
  uint64_t seed = 100;
  for (const AdamConfig& c : configs) {
    for (int64_t n : kSizes) {
      SCOPED_TRACE(::testing::Message() << "wd " << c.weight_decay << " decoupled "
                                        << c.decoupled_weight_decay << " n " << n);
      std::vector<T> param = random_vector<T>(n, ++seed), m(n, T(0)), v(n, T(0));
      for (int64_t step = 1; step <= 3; ++step) {
        const auto grad = random_vector<T>(n, ++seed);
        std::vector<double> p = to_double(param), md = to_double(m), vd = to_double(v);
        const double bias1 = 1 - std::pow(c.beta1, step), bias2 = 1 - std::pow(c.beta2, step);
        for (int64_t i = 0; i < n; ++i) {
          double g = static_cast<double>(grad[i]);
          if (c.decoupled_weight_decay) {
            p[i] *= 1 - c.lr * c.weight_decay;
          } else {
            g += c.weight_decay * p[i];
          }
          md[i] = c.beta1 * md[i] + (1 - c.beta1) * g;
          vd[i] = c.beta2 * vd[i] + (1 - c.beta2) * g * g;
          p[i] -= c.lr * (md[i] / bias1) / (std::sqrt(vd[i] / bias2) + c.eps);
        }
        cpu::adam_step<T>({}, n, c, step, param.data(), grad.data(), m.data(), v.data());
        // The update is lr-sized: compare its error against lr, not against the parameter.
        EXPECT_TRUE(all_close(param, p, tol, tol * c.lr)) << "param, step " << step;
        EXPECT_TRUE(all_close(m, md, tol, tol)) << "exp_avg, step " << step;
        EXPECT_TRUE(all_close(v, vd, tol, tol * 1e-3)) << "exp_avg_sq, step " << step;
        param = rounded<T>(p), m = rounded<T>(md), v = rounded<T>(vd);
      }
    }
  }
}

TYPED_TEST(OptimTest, GlobalNormClipping) {
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  const auto a = random_vector<T>(1000, 5), b = random_vector<T>(33, 6);
  double squares = 0;
  for (T x : a) squares += static_cast<double>(x) * static_cast<double>(x);
  for (T x : b) squares += static_cast<double>(x) * static_cast<double>(x);
  // The squares accumulate into a running total over several tensors.
  double total = 0;
  cpu::accumulate_squares<T>({}, static_cast<int64_t>(a.size()), a.data(), &total);
  cpu::accumulate_squares<T>({}, static_cast<int64_t>(b.size()), b.data(), &total);
  EXPECT_NEAR(total, squares, 1e-12 * squares);
  cpu::accumulate_squares<T>({}, 0, nullptr, &total);
  EXPECT_NEAR(total, squares, 1e-12 * squares);

  // Norm above max_norm: x *= max_norm / (norm + 1e-6).
  const double norm = std::sqrt(squares), max_norm = norm / 4;
  std::vector<T> clipped = a;
  cpu::clip_by_total_norm<T>({}, static_cast<int64_t>(a.size()), clipped.data(), &total, max_norm);
  std::vector<double> expected(a.size());
  for (size_t i = 0; i < a.size(); ++i)
    expected[i] = static_cast<double>(a[i]) * max_norm / (norm + 1e-6);
  EXPECT_TRUE(all_close(clipped, expected, tol, tol));
  // At or below max_norm nothing changes, bit for bit.
  std::vector<T> kept = b;
  cpu::clip_by_total_norm<T>({}, static_cast<int64_t>(b.size()), kept.data(), &total, 2 * norm);
  EXPECT_TRUE(all_close(kept, to_double(b), 0, 0));
}

}  // namespace
}  // namespace strand::kernels
