// The guard that keeps the cooperative persistent RNN kernels away from devices where NCCL kernels
// may run beside them (a grid barrier waiting on SMs an NCCL kernel holds never returns).
#include "kernels/collectives/concurrent_collectives.h"

#include <gtest/gtest.h>

#include <optional>

namespace strand::kernels {
namespace {

TEST(ConcurrentCollectives, CountsLiveCommunicatorsPerDevice) {
  EXPECT_EQ(concurrent_collectives(5), 0);
  {
    ConcurrentCollectives a(5);
    std::optional<ConcurrentCollectives> b(std::in_place, 5);
    ConcurrentCollectives other(6);
    EXPECT_EQ(concurrent_collectives(5), 2);
    EXPECT_EQ(concurrent_collectives(6), 1);
    b.reset();
    EXPECT_EQ(concurrent_collectives(5), 1);
  }
  EXPECT_EQ(concurrent_collectives(5), 0);
  EXPECT_EQ(concurrent_collectives(6), 0);
}

TEST(ConcurrentCollectives, PersistentRnnOnlyWithoutCollectivesAndAtLatencyBoundSizes) {
  EXPECT_TRUE(rnn_persistent_allowed(320, 0));  // DanQ's BiLSTM, one process per GPU
  EXPECT_TRUE(rnn_persistent_allowed(512, 0));
  EXPECT_FALSE(rnn_persistent_allowed(513, 0));
  EXPECT_FALSE(rnn_persistent_allowed(320, 1));  // data-parallel: NCCL on the same device
  EXPECT_FALSE(rnn_persistent_allowed(64, 3));
}

}  // namespace
}  // namespace strand::kernels
