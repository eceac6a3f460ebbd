// The RNN safety net on a device: each custom recurrence that can run a shape agrees with cuDNN on
// the small check problem (forward output and d_input), so `auto` keeps the custom path and no
// kernel is disabled; DanQ's BiLSTM and small LSTM/GRU shapes.
#include <gtest/gtest.h>

#include <string>

#include "kernels/common/safety_net.h"
#include "kernels/rnn/rnn_safety_net.h"
#include "tests/kernels/rnn_problem.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using strand::testing::rnn_shape;
using strand::testing::test_context;

TEST(RnnSafetyNetCuda, CustomRecurrencesPassTheirCheckAgainstCudnn) {
  STRAND_REQUIRE_CUDA_DEVICE();
  safety_net().clear();
  const RnnShape shapes[] = {
      // DanQ: BiLSTM 320 over the 75 pooled positions, batch 64 (the check runs batch 2).
      rnn_shape(RnnMode::kLstm, 75, 64, 320, 320, 1, true),
      rnn_shape(RnnMode::kLstm, 9, 3, 5, 16, 2, true),
      rnn_shape(RnnMode::kGru, 7, 1, 4, 32, 1, false),
      rnn_shape(RnnMode::kGru, 12, 4, 8, 64, 2, true),
  };
  const RnnAlgo customs[] = {RnnAlgo::kCustomCluster, RnnAlgo::kCustomPersistent,
                             RnnAlgo::kCustomStepGemm};
  const char* names[] = {"rnn cluster kernel", "rnn persistent kernel", "rnn per-step path"};
  for (const RnnShape& s : shapes) {
    for (RnnAlgo custom : customs) {
      try {
        cuda::rnn_path_name(test_context(), s, DType::kF32, custom);
      } catch (const Error&) {
        continue;  // this recurrence cannot run the shape here (device, sizes)
      }
      EXPECT_TRUE(cuda::rnn_safety_net_keeps_custom(test_context(), s, custom))
          << cuda::rnn_path_name(test_context(), s, DType::kF32, custom) << " H=" << s.hidden_size;
    }
    // So auto runs a custom recurrence, never cuDNN, on these shapes.
    EXPECT_NE(cuda::rnn_path_name(test_context(), s, DType::kF32, RnnAlgo::kAuto), "cudnn")
        << "H=" << s.hidden_size;
  }
  for (const char* name : names) EXPECT_FALSE(safety_net().kernel_disabled(name)) << name;
}

}  // namespace
}  // namespace strand::kernels
