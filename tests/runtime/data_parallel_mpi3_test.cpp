// Data parallel over real processes (`mpirun -np 2` and `-np 3`, MPI on CPU tensors): every rank
// computes the one-process reference at the global batch itself and checks that its share of the
// data-parallel run (bucketed all-reduce from the hooks, bf16 compression, ZeRO-1, uneven and
// empty shards) gives the same losses, gradients and weights.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/data_parallel.h"
#include "tests/runtime/data_parallel_fixture.h"

namespace strand::runtime {
namespace {

using namespace strand::runtime::testing;

std::shared_ptr<Communicator> world() {
  static std::shared_ptr<Communicator> comm = make_communicator(detect_launch(), Device::cpu());
  return comm;
}

std::vector<int64_t> even_rows(int64_t per_rank) {
  return std::vector<int64_t>(world()->size(), per_rank);
}

TEST(DataParallelMpi, RunsUnderALauncherWithSeveralRanks) {
  ASSERT_GE(world()->size(), 2) << "run this program under mpirun -np 2 or 3";
  EXPECT_EQ(world()->backend(), CommBackend::kMpi);
}

TEST(DataParallelMpi, RanksAtBatchBEqualOneProcessAtBatchNB) {
  const auto rows = even_rows(4);
  const int64_t total = 4 * world()->size();
  for (double bucket_mb : {60e-6, 25.0}) {
    SCOPED_TRACE(strand::format("bucket {} MB", bucket_mb));
    expect_same_run(rank_run(world(), rows, DType::kF64, {.bucket_mb = bucket_mb}),
                    reference_run(total, DType::kF64), 1e-12);
    expect_same_run(rank_run(world(), rows, DType::kF32, {.bucket_mb = bucket_mb}),
                    reference_run(total, DType::kF32), 2e-6);
  }
}

TEST(DataParallelMpi, BucketsLaunchFromTheHooksAndOverlapIsReported) {
  const RunResult run = rank_run(world(), even_rows(4), DType::kF32, {.bucket_mb = 60e-6});
  EXPECT_EQ(run.stats.steps, kEquivalenceSteps);
  EXPECT_GE(run.stats.buckets, 4 * kEquivalenceSteps);
  // `extra` is unused, so its bucket (the first) waits for finish() and holds back the others.
  EXPECT_EQ(run.stats.launched_in_backward, 0);
  EXPECT_GT(run.stats.comm_seconds, 0);
  EXPECT_NEAR(run.stats.hidden_seconds + run.stats.exposed_seconds, run.stats.comm_seconds, 1e-9);
}

TEST(DataParallelMpi, UnevenAndEmptyShards) {
  // An epoch's last batch: rank 0 gets 3 rows, rank 1 one, rank 2 (if any) none.
  std::vector<int64_t> rows = {3, 1};
  if (world()->size() == 3) rows.push_back(0);
  expect_same_run(rank_run(world(), rows, DType::kF64, {.bucket_mb = 60e-6}),
                  reference_run(4, DType::kF64), 1e-12);
}

TEST(DataParallelMpi, Bf16Compression) {
  expect_same_run(
      rank_run(world(), even_rows(4), DType::kF32, {.bucket_mb = 60e-6, .bf16_compression = true}),
      reference_run(4 * world()->size(), DType::kF32), 3e-2);
}

TEST(DataParallelMpi, ZeroOneEqualsPlainDataParallelAndOneProcess) {
  const auto rows = even_rows(4);
  const RunResult plain = rank_run(world(), rows, DType::kF64, {});
  const RunResult zero = rank_run(world(), rows, DType::kF64, {}, true);
  expect_close(zero.weights, plain.weights, 1e-12);
  expect_same_run(zero, reference_run(4 * world()->size(), DType::kF64), 1e-12, false);
}

TEST(DataParallelMpi, BroadcastStartsEveryRankFromRootsWeights) {
  Tensor w = full({5}, 1.0 + world()->rank());
  broadcast_tensors(*world(), {w}, 0);
  EXPECT_EQ(w.to_vector<double>(), std::vector<double>(5, 1.0));
}

}  // namespace
}  // namespace strand::runtime
