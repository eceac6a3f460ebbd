// LSTM / GRU layers: PyTorch parameter names and shapes, forward shapes, train/eval dropout.
#include "layers/rnn.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/ops.h"

namespace strand::layers {
namespace {

using ::testing::ElementsAre;

TEST(RecurrentLayers, PyTorchNamesAndShapes) {
  auto lstm = LSTM({.input_size = 3, .hidden_size = 5, .num_layers = 2, .bidirectional = true});
  std::vector<std::string> names;
  for (const auto& [name, t] : lstm->named_parameters()) names.push_back(name);
  EXPECT_EQ(names.size(), 16u);
  EXPECT_EQ(names[0], "weight_ih_l0");
  EXPECT_EQ(names[4], "weight_ih_l0_reverse");
  EXPECT_EQ(names[8], "weight_ih_l1");
  EXPECT_EQ(lstm->named_parameters()[8].second.shape(), (runtime::Shape{20, 10}));
  const runtime::RnnResult r = lstm->run(runtime::randn({7, 2, 3}, 1));
  EXPECT_EQ(r.output.shape(), (runtime::Shape{7, 2, 10}));
  EXPECT_EQ(r.h_n.shape(), (runtime::Shape{4, 2, 5}));
  EXPECT_EQ(r.c_n.shape(), (runtime::Shape{4, 2, 5}));
  auto gru = GRU({.input_size = 3, .hidden_size = 4, .batch_first = true});
  EXPECT_EQ(gru->named_parameters()[0].second.shape(), (runtime::Shape{12, 3}));
  EXPECT_EQ((*gru)(runtime::randn({2, 6, 3}, 2)).shape(), (runtime::Shape{2, 6, 4}));
  EXPECT_THROW(LSTM({.input_size = 3, .hidden_size = 0}), Error);
}

}  // namespace
}  // namespace strand::layers
