#include "interpret/mutation_scorer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "interpret/ism.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/linear.h"
#include "layers/models.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "layers/reshape.h"
#include "layers/reverse_complement.h"
#include "layers/rnn.h"
#include "runtime/autograd.h"
#include "runtime/ops.h"
#include "runtime/rng.h"

namespace strand::interpret {
namespace {

using layers::Sequential;
using runtime::Tensor;

std::vector<uint8_t> random_codes(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> codes(n);
  for (auto& c : codes) c = static_cast<uint8_t>(rng() % 4);
  return codes;
}

// Non-trivial batch-norm statistics, so eval-mode normalisation is not the identity.
void randomise_buffers(layers::Module& model, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.2f, 1.5f);
  for (auto& [name, t] : model.named_buffers()) {
    if (t.dtype() != DType::kF32) continue;
    const bool var = name.find("running_var") != std::string::npos;
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = var ? u(rng) : u(rng) - 0.85f;
  }
}

// Every substitution of `codes` at `positions` (default: all, 0 and L - 1 included) scored both
// ways.
void expect_fast_equals_naive(Sequential& model, int64_t length, std::vector<uint8_t> codes,
                              bool expect_fast = true, std::vector<int64_t> positions = {}) {
  MutationScorer fast(model, length), naive(model, length, true);
  ASSERT_EQ(fast.fast(), expect_fast) << fast.describe();
  ASSERT_FALSE(naive.fast());
  const auto ref_fast = fast.set_references(codes.data(), 1);
  const auto ref_naive = naive.set_references(codes.data(), 1);
  ASSERT_EQ(ref_fast.size(), ref_naive.size());
  for (size_t i = 0; i < ref_fast.size(); ++i) EXPECT_NEAR(ref_fast[i], ref_naive[i], 1e-5);
  if (positions.empty())
    for (int64_t p = 0; p < length; ++p) positions.push_back(p);
  std::vector<Mutation> all;
  for (int64_t p : positions)
    for (uint8_t b = 0; b < 4; ++b)
      if (b != codes[p]) all.push_back({0, p, b});
  const auto a = fast.score(all), b = naive.score(all);
  ASSERT_EQ(a.size(), b.size());
  const int64_t outputs = fast.outputs();
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(double(a[i]) - double(b[i])));
    ASSERT_NEAR(a[i], b[i], 1e-5) << "mutation " << i / outputs << " (position "
                                  << all[i / outputs].position << ") output " << i % outputs << "; "
                                  << fast.describe();
  }
  // Not vacuous: the mutations move the outputs far more than the tolerance.
  double moved = 0;
  for (size_t i = 0; i < b.size(); ++i)
    moved = std::max(moved, double(std::abs(b[i] - ref_naive[i % outputs])));
  EXPECT_GT(moved, 1e-3);
}

TEST(MutationScorer, FastEqualsNaiveOnDeepSea) {
  runtime::manual_seed(1);
  auto model = layers::deepsea(170, 3);
  // Both ends (windows clipped by the sequence edges) and the middle: DeepSEA is slow to run
  // naively at every position.
  std::vector<int64_t> positions;
  for (int64_t p = 0; p < 170; ++p)
    if (p < 20 || p >= 150 || (p >= 80 && p < 90)) positions.push_back(p);
  expect_fast_equals_naive(*model, 170, random_codes(170, 1), true, positions);
}

TEST(MutationScorer, FastEqualsNaiveOnBassetWithBatchNormStatistics) {
  runtime::manual_seed(2);
  auto model = layers::basset(100, 4);
  randomise_buffers(*model, 2);
  expect_fast_equals_naive(*model, 100, random_codes(100, 2));
}

TEST(MutationScorer, FastEqualsNaiveOnDanQ) {
  runtime::manual_seed(3);
  auto model = layers::danq(60, 2);
  expect_fast_equals_naive(*model, 60, random_codes(60, 3));
}

TEST(MutationScorer, FastEqualsNaiveOnTheDefaultCnnWithUnknownBases) {
  runtime::manual_seed(4);
  auto model = layers::default_cnn(48, 2);
  auto codes = random_codes(48, 4);
  codes[0] = codes[20] = codes[47] = 4;  // N: all four bases are substitutions
  expect_fast_equals_naive(*model, 48, codes);
}

// Every local layer kind and boundary case: stride, dilation, explicit and same padding, groups,
// no bias, max and average pooling with padding and overlapping or gapped windows, batch norm,
// each activation, dropout; then a flatten + linear head.
TEST(MutationScorer, FastEqualsNaiveOnEveryLocalLayerKind) {
  runtime::manual_seed(5);
  const int64_t L = 41;
  auto m = std::make_shared<Sequential>();
  m->add(std::make_shared<layers::Conv1d>(layers::Conv1dConfig{
      .in_channels = 4, .out_channels = 6, .kernel_size = 5, .stride = 2, .padding = 3}));
  m->add(std::make_shared<layers::BatchNorm1d>(6));
  m->add(std::make_shared<layers::Activation>("GELU"));
  m->add(layers::AvgPool1d(3, 1, 1));
  m->add(std::make_shared<layers::Conv1d>(layers::Conv1dConfig{.in_channels = 6,
                                                               .out_channels = 4,
                                                               .kernel_size = 3,
                                                               .same_padding = true,
                                                               .dilation = 2,
                                                               .groups = 2,
                                                               .bias = false}));
  m->add(std::make_shared<layers::Activation>("Tanh"));
  m->add(layers::MaxPool1d(2, 3, 1));  // stride past the window: gaps
  m->add(std::make_shared<layers::Dropout>(0.3));
  m->add(std::make_shared<layers::Activation>("Softplus"));
  m->add(std::make_shared<layers::Conv1d>(
      layers::Conv1dConfig{.in_channels = 4, .out_channels = 5, .kernel_size = 2, .stride = 3}));
  m->add(std::make_shared<layers::Activation>("Sigmoid"));
  m->add(std::make_shared<layers::Flatten>());
  m->add(std::make_shared<layers::Linear>(5 * 3, 7));
  m->add(std::make_shared<layers::Activation>("ReLU"));
  m->add(std::make_shared<layers::Linear>(7, 3));
  randomise_buffers(*m, 5);
  expect_fast_equals_naive(*m, L, random_codes(L, 5));
}

// Past the local layers: a recurrent layer and a global pooling run in full on the spliced
// activation.
TEST(MutationScorer, FastEqualsNaiveWithAGruAndAGlobalPool) {
  runtime::manual_seed(6);
  auto gru = std::make_shared<Sequential>();
  gru->add(std::make_shared<layers::Conv1d>(
      layers::Conv1dConfig{.in_channels = 4, .out_channels = 8, .kernel_size = 7, .padding = 2}));
  gru->add(std::make_shared<layers::Activation>("ReLU"));
  gru->add(std::make_shared<layers::Permute>(std::vector<int64_t>{0, 2, 1}));
  gru->add(layers::GRU({.input_size = 8, .hidden_size = 5, .batch_first = true}));
  gru->add(std::make_shared<layers::Flatten>());
  gru->add(std::make_shared<layers::Linear>(5 * 30, 2));
  expect_fast_equals_naive(*gru, 32, random_codes(32, 6));

  auto global = layers::small_cnn(40, 2);
  expect_fast_equals_naive(*global, 40, random_codes(40, 7));
}

TEST(MutationScorer, FallsBackWhenNothingIsLocal) {
  runtime::manual_seed(7);
  auto model = layers::default_cnn(32, 2, /*exact_head=*/true);  // branches from the input
  MutationScorer scorer(*model, 32);
  EXPECT_FALSE(scorer.fast());
  EXPECT_NE(scorer.fallback_reason().find("Conv1d"), std::string::npos);
  expect_fast_equals_naive(*model, 32, random_codes(32, 8), /*expect_fast=*/false);
}

TEST(MutationScorer, ScoresManyReferencesAtOnce) {
  runtime::manual_seed(8);
  auto model = layers::basset(60, 2);
  MutationScorer fast(*model, 60), naive(*model, 60, true);
  auto codes = random_codes(3 * 60, 9);
  fast.set_references(codes.data(), 3);
  naive.set_references(codes.data(), 3);
  const std::vector<Mutation> m = {{2, 30, 0}, {0, 0, 1}, {1, 59, 2}, {2, 30, 3}, {0, 12, 0}};
  const auto a = fast.score(m), b = naive.score(m);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5);
  EXPECT_THROW(fast.score({{3, 0, 0}}), Error);
  EXPECT_THROW(fast.score({{0, 60, 0}}), Error);
}

// ISM with --rc-average equals the reverse-complement-averaging model run on each mutant.
TEST(SaturationMutagenesis, MatchesTheRcAveragedModelOnAWindow) {
  runtime::manual_seed(9);
  const int64_t L = 50;
  auto model = layers::basset(L, 3);
  randomise_buffers(*model, 10);
  auto codes = random_codes(L, 10);
  MutationScorer scorer(*model, L);
  ASSERT_TRUE(scorer.fast());
  IsmOptions o;
  o.start = 0;
  o.end = 10;
  o.tasks = {2, 0};
  o.rc_average = true;
  o.batch_size = 7;  // odd, so batches split the strands' pairs unevenly
  int64_t calls = 0;
  o.progress = [&](int64_t done, int64_t total) {
    ++calls;
    EXPECT_LE(done, total);
  };
  const IsmResult r = saturation_mutagenesis(scorer, codes.data(), o);
  EXPECT_GT(calls, 1);
  ASSERT_EQ(r.effects.size(), 2u * 4 * 10);

  layers::ReverseComplementAverage averaged(model);
  averaged.eval();
  runtime::NoGradGuard no_grad;
  auto run = [&](const std::vector<uint8_t>& c) {
    return averaged.forward(runtime::from_vector(c, {1, L})).to_vector<float>();
  };
  const auto ref = run(codes);
  for (int64_t p = 0; p < 10; ++p)
    for (uint8_t b = 0; b < 4; ++b) {
      auto mutant = codes;
      mutant[p] = b;
      const auto out = run(mutant);
      for (int64_t t = 0; t < 2; ++t) {
        const int64_t task = o.tasks[t];
        const float expected = b == codes[p] ? 0.0f : out[task] - ref[task];
        EXPECT_NEAR(r.effects[(t * 4 + b) * 10 + p], expected, 1e-5) << p << " " << int(b);
      }
    }
  const auto centered = mean_centered(r);
  for (int64_t p = 0; p < 10; ++p) {
    float sum = 0;
    for (int64_t b = 0; b < 4; ++b) sum += centered[(4 + b) * 10 + p];
    EXPECT_NEAR(sum, 0.0f, 1e-5);
  }
  o.end = L + 1;
  EXPECT_THROW(saturation_mutagenesis(scorer, codes.data(), o), Error);
}

}  // namespace
}  // namespace strand::interpret
