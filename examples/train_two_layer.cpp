// A complete small training program on strand's runtime: a two-layer network learns a random
// "teacher" network from generated data until the loss is near zero. Runs on the GPU when one is
// present (or as asked: train_two_layer [cpu|cuda]).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "runtime/autograd.h"
#include "runtime/ops.h"
#include "runtime/optim.h"

using namespace strand;
using namespace strand::runtime;

int main(int argc, char** argv) {
  try {
    const Device device =
        argc > 1 ? Device::parse(argv[1]) : (cuda_available() ? Device::cuda(0) : Device::cpu());
    const TensorOptions on{.device = device};
    constexpr int64_t kSamples = 512, kIn = 16, kHidden = 64, kOut = 4;
    constexpr int64_t kStudentHidden = 256;  // over-parameterised: fits the teacher quickly

    // Data: targets from a fixed random teacher network, so a perfect fit exists.
    const Tensor x = randn({kSamples, kIn}, 1, on);
    const Tensor teacher_w1 = randn({kHidden, kIn}, 2, on) * 0.5;
    const Tensor teacher_w2 = randn({kOut, kHidden}, 3, on) * 0.3;
    const Tensor y = linear(tanh(linear(x, teacher_w1)), teacher_w2);

    // Student: the same shape, initialised as PyTorch's Linear does (uniform +-1/sqrt(fan_in)).
    auto init = [&](Shape shape, int64_t fan_in, uint64_t seed) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
      return rand(shape, seed, on, -bound, bound).set_requires_grad(true);
    };
    Tensor w1 = init({kStudentHidden, kIn}, kIn, 10), b1 = init({kStudentHidden}, kIn, 11);
    Tensor w2 = init({kOut, kStudentHidden}, kStudentHidden, 12),
           b2 = init({kOut}, kStudentHidden, 13);
    Adam optimizer({w1, b1, w2, b2}, {.lr = 0.01});

    std::printf("training a %lld-%lld-%lld network on %lld samples on %s\n", (long long)kIn,
                (long long)kStudentHidden, (long long)kOut, (long long)kSamples,
                device.str().c_str());
    const auto start = std::chrono::steady_clock::now();
    double loss_value = 0;
    constexpr int kSteps = 3000;
    for (int step = 1; step <= kSteps; ++step) {
      const Tensor prediction = linear(tanh(linear(x, w1, b1)), w2, b2);
      const Tensor loss = mse_loss(prediction, y);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      if (step == kSteps / 2) optimizer.set_lr(optimizer.lr() * 0.1);  // anneal for the last half
      if (step % 300 == 0 || step == 1) {
        loss_value = loss.item();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("step %5d  loss %.6f  (%.0f steps/s)\n", step, loss_value, step / seconds);
      }
    }
    const double target_variance = mean(mul(y, y)).item();
    std::printf("final loss %.6f (targets' mean square %.4f): %s\n", loss_value, target_variance,
                loss_value < 1e-3 * target_variance ? "fit" : "NOT fit");
    return loss_value < 1e-3 * target_variance ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "train_two_layer: %s\n", e.message().c_str());
    return 1;
  }
}
