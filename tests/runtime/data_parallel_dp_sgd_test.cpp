// DP-SGD across ranks with runtime pieces only (ranks as threads): per-example clipping on each
// rank, the clipped sums summed by a GradReducer reading .grad at finish (no hooks), the noise
// added once for the global batch from generators that agree: the clipped sum equals one
// process's over all rows, and the noise has standard deviation sigma * C / expected batch on every
// rank, identically (noise added per rank before the sum would be N times larger).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/data_parallel.h"
#include "runtime/ops.h"
#include "runtime/per_sample.h"
#include "tests/runtime/thread_comm.h"

namespace strand::runtime {
namespace {

using strand::testing::run_ranks;
using strand::testing::ThreadCommunicator;

struct Layer {
  Tensor w, b;
  Layer() {
    w = rand({40, 50}, 3, {.dtype = DType::kF64}, -0.3, 0.3);
    b = zeros({40}, {.dtype = DType::kF64});
    w.set_requires_grad(true);
    b.set_requires_grad(true);
  }
  std::vector<Tensor> params() const { return {w, b}; }
  // Mean over the rows of a per-example loss; `scale` 0 makes every example's gradient zero.
  Tensor loss(const Tensor& x, double scale) const {
    return mul(mean(sum(tanh(linear(x, w, b)), {1})), scale);
  }
};

constexpr int kRanks = 3;
constexpr int64_t kRows = 5;  // per rank
const Tensor& inputs() {
  static const Tensor x = randn({kRanks * kRows, 50}, 11, {.dtype = DType::kF64});
  return x;
}

// Every rank's gradients after clipping, summing across ranks and the noise.
std::vector<std::vector<double>> distributed_step(double sigma, double scale) {
  std::vector<std::vector<double>> grads(kRanks);
  run_ranks(kRanks, [&](int rank, std::shared_ptr<ThreadCommunicator> comm) {
    Layer layer;
    GradReducer reducer(comm, layer.params(), {.from_hooks = false});
    PerSampleClipper clipper({{"w", layer.w}, {"b", layer.b}}, {.max_grad_norm = 0.5});
    const Tensor x = inputs().slice(0, rank * kRows, (rank + 1) * kRows);
    clipper.backward(layer.loss(x, scale), kRows, static_cast<double>(kRows));
    reducer.prepare(1, 1);
    reducer.finish();
    Generator gen(99);  // the ranks' generators agree (the trainer keeps them so)
    clipper.add_noise(gen, sigma, kRanks * kRows);
    grads[rank] = layer.w.grad().to_vector<double>();
  });
  return grads;
}

TEST(DataParallelDpSgd, ClippedSumsAcrossRanksEqualOneProcessOverAllRows) {
  const auto grads = distributed_step(0.0, 1.0);
  Layer layer;
  PerSampleClipper clipper({{"w", layer.w}, {"b", layer.b}}, {.max_grad_norm = 0.5});
  clipper.backward(layer.loss(inputs(), 1.0), kRanks * kRows, kRanks * kRows);
  Generator gen(99);
  clipper.add_noise(gen, 0.0, kRanks * kRows);
  const auto expected = layer.w.grad().to_vector<double>();
  for (const auto& g : grads) {
    ASSERT_EQ(g.size(), expected.size());
    for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], expected[i], 1e-12);
  }
}

TEST(DataParallelDpSgd, NoiseIsAddedOnceForTheGlobalBatch) {
  constexpr double kSigma = 2.0, kClip = 0.5;
  const auto grads = distributed_step(kSigma, 0.0);    // zero gradients: what remains is noise
  for (const auto& g : grads) EXPECT_EQ(g, grads[0]);  // the same draw on every rank
  double sum = 0, squares = 0;
  for (double v : grads[0]) sum += v, squares += v * v;
  const double n = static_cast<double>(grads[0].size());
  const double std = std::sqrt(squares / n - (sum / n) * (sum / n));
  const double expected = kSigma * kClip / (kRanks * kRows);
  // 2000 draws: the sample std is within 8% (5 standard errors) of the truth; noise added on
  // every rank before the sum would give 3x.
  EXPECT_NEAR(std / expected, 1.0, 0.08) << "std " << std << ", expected " << expected;
}

}  // namespace
}  // namespace strand::runtime
