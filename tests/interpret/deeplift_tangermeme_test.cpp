// strand's DeepLIFT/DeepSHAP against tangermeme's deep_lift_shap on the same weights and the same
// references: the fixture (data/make_deeplift_fixture.py) holds a small CNN's state_dict, inputs,
// references and tangermeme's attributions and hypothetical contributions, all float64.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "interpret/attributions.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/pool.h"
#include "layers/reshape.h"
#include "layers/sequential.h"
#include "runtime/safetensors.h"

namespace strand::interpret {
namespace {

const std::string kFixture =
    (std::filesystem::path(__FILE__).parent_path() / "data" / "deeplift_fixture.safetensors")
        .string();

std::shared_ptr<layers::Sequential> cnn() {
  using namespace layers;
  auto m = std::make_shared<Sequential>();
  m->add(std::make_shared<Conv1d>(
      Conv1dConfig{.in_channels = 4, .out_channels = 8, .kernel_size = 7, .padding = 3}));
  m->add(std::make_shared<Activation>("ReLU")).add(MaxPool1d(3, 2));
  m->add(std::make_shared<Conv1d>(
      Conv1dConfig{.in_channels = 8, .out_channels = 6, .kernel_size = 4}));
  m->add(std::make_shared<Activation>("ReLU")).add(MaxPool1d(2));
  m->add(std::make_shared<Flatten>()).add(std::make_shared<Linear>(48, 10));
  m->add(std::make_shared<Activation>("ReLU")).add(std::make_shared<Linear>(10, 2));
  return m;
}

void expect_close(const std::vector<float>& got, const Tensor& want, const char* what) {
  const auto w = want.to_vector<double>();
  ASSERT_EQ(got.size(), w.size()) << what;
  double worst = 0, largest = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    worst = std::max(worst, std::abs(got[i] - w[i]));
    largest = std::max(largest, std::abs(w[i]));
  }
  EXPECT_LT(worst, 1e-4) << what;
  std::printf("%s: largest |strand - tangermeme| = %.3g (values up to %.3g)\n", what, worst,
              largest);
  EXPECT_GT(largest, 1e-2) << what << ": the fixture's values are all near zero";
}

TEST(DeepLiftTangermeme, SameAttributionsAsDeepLiftShap) {
  const auto file = runtime::load_safetensors(kFixture);
  std::vector<std::pair<std::string, Tensor>> state;
  for (const auto& [key, t] : file.tensors) {
    if (key.rfind("model.", 0) == 0) state.emplace_back(key.substr(6), t.to(DType::kF32));
  }
  auto m = cnn();
  m->load_state_dict(state, true);  // strict: strand's names and shapes are PyTorch's
  m->eval();
  m->to(DType::kF64);
  AttributionOptions o;
  o.method = AttributionMethod::kDeepLift;
  o.batch_size = 7;  // pairs split across batches, as the script's
  const Attributions a = attribute(*m, file.at("input"), file.at("references"), o);
  ASSERT_EQ(a.tasks, 2);
  // The output is float32, computed from float64: rounding is ~1e-7 of values of order 1.
  expect_close(a.attributions, file.at("attributions"), "attributions");
  expect_close(a.hypothetical, file.at("hypothetical"), "hypothetical contributions");
  for (int64_t i = 0; i < a.sequences; ++i) {
    for (int64_t t = 0; t < a.tasks; ++t) EXPECT_LT(std::abs(a.delta(i, t)), 1e-8);
  }
}

}  // namespace
}  // namespace strand::interpret
