// Module bookkeeping: PyTorch state_dict names and order, strict loading with clear errors,
// modes, device/dtype moves, printing.
#include "layers/module.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layers/activation.h"
#include "layers/linear.h"
#include "layers/norm.h"
#include "layers/sequential.h"
#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::layers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::shared_ptr<Sequential> small_model() {
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Linear>(4, 3), std::make_shared<BatchNorm1d>(3),
      std::make_shared<Activation>("ReLU"), std::make_shared<Linear>(3, 2, false)});
}

std::vector<std::string> keys(const std::vector<std::pair<std::string, Tensor>>& entries) {
  std::vector<std::string> out;
  for (const auto& [k, v] : entries) out.push_back(k);
  return out;
}

TEST(Module, StateDictUsesPyTorchNamesAndOrder) {
  auto model = small_model();
  EXPECT_THAT(keys(model->state_dict()),
              ElementsAre("0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                          "1.running_var", "1.num_batches_tracked", "3.weight"));
  EXPECT_THAT(keys(model->named_parameters()),
              ElementsAre("0.weight", "0.bias", "1.weight", "1.bias", "3.weight"));
  EXPECT_EQ(model->parameter_count(), 4 * 3 + 3 + 3 + 3 + 3 * 2);
  for (const Tensor& p : model->parameters()) EXPECT_TRUE(p.requires_grad());
}

TEST(Module, LoadStateDictCopiesValuesAndRejectsMismatches) {
  auto a = small_model(), b = small_model();
  b->load_state_dict(a->state_dict());
  for (size_t i = 0; i < a->state_dict().size(); ++i) {
    EXPECT_EQ(a->state_dict()[i].second.to_vector<double>(),
              b->state_dict()[i].second.to_vector<double>());
  }
  auto state = a->state_dict();
  state.pop_back();
  state.emplace_back("extra.weight", runtime::zeros({1}));
  EXPECT_THAT(
      [&] { b->load_state_dict(state); },
      ThrowsMessage<Error>(HasSubstr("missing keys [3.weight], unexpected keys [extra.weight]")));
  EXPECT_NO_THROW(b->load_state_dict(state, /*strict=*/false));
  auto wrong = a->state_dict();
  wrong[0].second = runtime::zeros({3, 5});
  EXPECT_THAT([&] { b->load_state_dict(wrong); },
              ThrowsMessage<Error>(
                  HasSubstr("shape mismatch for [0.weight (checkpoint [3, 5], model [3, 4])]")));
}

TEST(Module, ModesPropagateAndPrintingShowsTheTree) {
  auto model = small_model();
  model->eval();
  for (auto& [name, m] : model->named_modules()) EXPECT_FALSE(m->is_training()) << name;
  model->train();
  EXPECT_TRUE((*model)[1].is_training());
  const std::string text = model->to_string();
  EXPECT_THAT(text, HasSubstr("(0): Linear(in_features=4, out_features=3, bias=true)"));
  EXPECT_THAT(text, HasSubstr("(1): BatchNorm1d(3, eps=1e-05, momentum=0.1)"));
}

TEST(Module, DtypeMovesKeepParametersTrainable) {
  auto model = small_model();
  model->to(DType::kF64);
  for (const auto& [name, p] : model->named_parameters()) {
    EXPECT_EQ(p.dtype(), DType::kF64) << name;
    EXPECT_TRUE(p.requires_grad() && p.is_leaf()) << name;
  }
  const Tensor y = (*model)(runtime::randn({5, 4}, 1, {.dtype = DType::kF64}));
  EXPECT_EQ(y.shape(), (runtime::Shape{5, 2}));
}

TEST(Module, SequentialNamesTheLayerThatFailed) {
  auto model = small_model();
  EXPECT_THAT(
      [&] {
        (*model)(runtime::zeros({2, 5}));
      },
      ThrowsMessage<Error>(HasSubstr("layer 0 (Linear): linear: input's last dimension (5)")));
}

}  // namespace
}  // namespace strand::layers
