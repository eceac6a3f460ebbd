// Model builders: output shapes on the published input lengths, PyTorch state_dict names,
// lengths too short for a model's layer stack, unknown names; and a short training run that
// learns (the loss falls) for each model.
#include "layers/models.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layers/branches.h"
#include "runtime/ops.h"
#include "runtime/optim.h"
#include "runtime/rng.h"

namespace strand::layers {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

Tensor random_codes(int64_t n, int64_t length, uint64_t seed) {
  return (runtime::rand({n, length}, seed) * 4.0).to(DType::kU8);
}

TEST(Models, OutputShapesAndNames) {
  struct Case {
    const char* name;
    int64_t length, outputs;
    size_t params;
    const char* key;
  };
  for (const Case& c : std::vector<Case>{{"deepsea", 1000, 919, 10, "12.weight"},
                                         {"basset", 600, 164, 30, "5.running_var"},
                                         {"basset-groupnorm", 600, 3, 22, "13.weight"},
                                         {"danq", 1000, 919, 14, "5.weight_hh_l0_reverse"},
                                         {"cnn", 200, 2, 18, "3.2.4.weight"},
                                         {"cnn-aligned", 200, 2, 24, "0.0.3.2.4.weight"}}) {
    auto model = build_model(c.name, c.length, c.outputs);
    model->eval();
    EXPECT_EQ((*model)(random_codes(2, c.length, 1)).shape(), (runtime::Shape{2, c.outputs}))
        << c.name;
    bool found = false;
    for (const auto& [key, t] : model->state_dict()) found = found || key == c.key;
    EXPECT_TRUE(found) << c.name << " has no " << c.key << "\n" << model->to_string();
  }
  // DeepSEA's dense layer sees 960 x 53 features at length 1000.
  EXPECT_EQ(deepsea()->state_dict()[6].second.shape(), (runtime::Shape{925, 960 * 53}));
}

TEST(Models, DefaultCnnAddsAPositionHeadAndTwoPooledHeads) {
  auto model = build_model("cnn", 100, 3);
  model->eval();
  auto* heads = dynamic_cast<SumOfBranches*>(&(*model)[3]);
  ASSERT_NE(heads, nullptr) << model->to_string();
  ASSERT_EQ(heads->size(), 3u);
  const Tensor x = random_codes(4, 100, 5);
  Tensor h = x;
  for (size_t i = 0; i < 3; ++i) h = (*model)[i](h);
  const auto position = (*heads)[0](h).to_vector<float>();
  const auto pooled = (*heads)[1](h).to_vector<float>();
  const auto presence = (*heads)[2](h).to_vector<float>();
  const auto all = (*model)(x).to_vector<float>();
  ASSERT_EQ(all.size(), 12u);
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_NEAR(all[i], position[i] + pooled[i] + presence[i], 1e-5);
  // The position head reads every 4 bp bin of the first block: 64 filters x 25 bins.
  bool found = false;
  for (const auto& [key, t] : model->state_dict())
    if (key == "3.0.2.weight") found = t.shape() == runtime::Shape{3, 64 * 25};
  EXPECT_TRUE(found) << model->to_string();
}

TEST(Models, CnnAlignedAddsAnExactPositionHead) {
  auto model = build_model("cnn-aligned", 100, 3);
  model->eval();
  // The network and the exact-position head, summed; the network is left out for half of the
  // training examples.
  auto* top = dynamic_cast<SumOfBranches*>(&(*model)[0]);
  ASSERT_NE(top, nullptr) << model->to_string();
  ASSERT_EQ(top->size(), 2u);
  EXPECT_EQ(top->drop(0), 0.5);
  EXPECT_EQ(top->drop(1), 0.0);
  auto& deep = dynamic_cast<Sequential&>((*top)[0]);
  auto* heads = dynamic_cast<SumOfBranches*>(&deep[3]);
  ASSERT_NE(heads, nullptr) << model->to_string();
  ASSERT_EQ(heads->size(), 3u);
  const Tensor x = random_codes(4, 100, 5);
  Tensor h = x;
  for (size_t i = 0; i < 3; ++i) h = deep[i](h);
  const auto position = (*heads)[0](h).to_vector<float>();
  const auto pooled = (*heads)[1](h).to_vector<float>();
  const auto presence = (*heads)[2](h).to_vector<float>();
  const auto exact = (*top)[1](x).to_vector<float>();
  ASSERT_EQ(exact.size(), 12u);
  const auto all = (*model)(x).to_vector<float>();
  ASSERT_EQ(all.size(), 12u);
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_NEAR(all[i], position[i] + pooled[i] + presence[i] + exact[i], 1e-5);
  // The position head reads every 4 bp bin of the first block: 64 filters x 25 bins. The exact
  // head mixes its 32 k9 filters into 4 tracks and reads every track at every position: 4 x 92.
  bool found = false, found_mix = false, found_exact = false;
  for (const auto& [key, t] : model->state_dict()) {
    if (key == "0.0.3.0.2.weight") found = t.shape() == runtime::Shape{3, 64 * 25};
    if (key == "0.1.2.weight") found_mix = t.shape() == runtime::Shape{4, 32, 1};
    if (key == "0.1.5.weight") found_exact = t.shape() == runtime::Shape{3, 4 * 92};
  }
  EXPECT_TRUE(found) << model->to_string();
  EXPECT_TRUE(found_mix) << model->to_string();
  EXPECT_TRUE(found_exact) << model->to_string();
}

TEST(Models, ShortInputsAndUnknownNamesAreClearErrors) {
  EXPECT_THAT([] { build_model("deepsea", 50, 1); },
              ThrowsMessage<Error>(HasSubstr("DeepSEA: input length is too short")));
  EXPECT_THAT(
      [] { build_model("resnet", 100, 1); },
      ThrowsMessage<Error>(HasSubstr("unknown model 'resnet': expected one of [cnn, deepsea")));
}

TEST(Models, EachModelLearnsAPlantedSignal) {
  // A signal every model can see: the label says whether the first bases are all 'G'.
  runtime::manual_seed(7);
  for (const char* name : {"cnn", "basset-groupnorm", "danq"}) {
    const int64_t length = std::string(name) == "danq" ? 130 : 96;
    auto model = build_model(name, length, 1);
    // Per-example norms (GroupNorm, LayerNorm) want a smaller step than plain conv stacks.
    const double lr = std::string(name) == "basset-groupnorm" ? 3e-4 : 1e-3;
    runtime::Adam opt(model->parameters(), {.lr = lr});
    std::vector<uint8_t> codes = random_codes(32, length, 3).to_vector<uint8_t>();
    std::vector<float> labels(32);
    for (int i = 0; i < 32; ++i) {
      labels[i] = i % 2;
      for (int j = 0; j < 12 && labels[i] == 1; ++j) codes[i * length + j] = 2;
    }
    const Tensor x = runtime::from_vector<uint8_t>(codes, {32, length});
    const Tensor y = runtime::from_vector<float>(labels, {32, 1});
    double first = 0, last = 0;
    for (int step = 0; step < 30; ++step) {
      const Tensor loss = runtime::binary_cross_entropy_with_logits((*model)(x), y);
      if (step == 0) first = loss.item();
      last = loss.item();
      opt.zero_grad();
      loss.backward();
      opt.step();
    }
    EXPECT_LT(last, 0.5 * first) << name << ": loss " << first << " -> " << last;
  }
}

}  // namespace
}  // namespace strand::layers
