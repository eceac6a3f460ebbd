// GradReducer: buckets in reverse registration order, N ranks (threads) with per-rank batch B equal
// one process with batch N*B (gradients and weights after SGD steps), uneven and empty shards,
// unused parameters, bf16 compression, overlap statistics, parameter broadcast, bad input.
#include "runtime/data_parallel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/autograd.h"
#include "runtime/ops.h"
#include "runtime/optim.h"
#include "tests/runtime/data_parallel_fixture.h"
#include "tests/runtime/thread_comm.h"

namespace strand::runtime {
namespace {

using ::testing::HasSubstr;
using namespace strand::runtime::testing;
using strand::testing::run_ranks;
using strand::testing::ThreadCommunicator;
using ::testing::ThrowsMessage;

TEST(AssignBuckets, ReverseOrderCapDtypeAndOversizedParameters) {
  const std::vector<Tensor> params = {
      zeros({10}), zeros({10}), zeros({100}), zeros({5}), zeros({5}, {.dtype = DType::kF64}),
      zeros({3})};
  // f32: 40, 40, 400, 20 bytes; f64 40; f32 12. Cap 100 bytes.
  const auto b = assign_buckets(params, 100);
  const std::vector<std::vector<size_t>> expected = {{5}, {4}, {3}, {2}, {1, 0}};
  EXPECT_EQ(b, expected);
  EXPECT_EQ(assign_buckets(params, 1e9),
            (std::vector<std::vector<size_t>>{{5}, {4}, {3, 2, 1, 0}}));
  EXPECT_THAT([&] { assign_buckets(params, 0); }, ThrowsMessage<Error>(HasSubstr("positive size")));
}

// N ranks (threads) with rows[r] rows each against one process on all rows.
void check_equivalence(int ranks, const std::vector<int64_t>& rows, DType dtype, double tol,
                       ReducerOptions options, bool zero1 = false) {
  int64_t total = 0;
  for (int64_t r : rows) total += r;
  const RunResult reference = reference_run(total, dtype);
  std::vector<RunResult> runs(ranks);
  run_ranks(ranks, [&](int rank, std::shared_ptr<ThreadCommunicator> comm) {
    runs[rank] = rank_run(comm, rows, dtype, options, zero1);
  });
  for (int r = 0; r < ranks; ++r) {
    SCOPED_TRACE("rank " + std::to_string(r));
    expect_same_run(runs[r], reference, tol, !zero1);
    if (!zero1) {
      EXPECT_EQ(runs[r].stats.steps, kEquivalenceSteps);
      EXPECT_GT(runs[r].stats.buckets, 0);
    }
  }
}

TEST(GradReducer, TwoAndThreeRanksEqualOneProcessAtTheGlobalBatch) {
  for (int ranks : {2, 3}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    const std::vector<int64_t> rows(ranks, 4);
    // Tiny buckets (one per parameter or two) and one bucket for everything.
    check_equivalence(ranks, rows, DType::kF64, 1e-12, {.bucket_mb = 60e-6});
    check_equivalence(ranks, rows, DType::kF32, 2e-6, {});
  }
}

TEST(GradReducer, UnevenAndEmptyShardsWeighByExamples) {
  // The last batch of an epoch: 5 rows over 3 ranks as 4, 1, 0.
  check_equivalence(3, {4, 1, 0}, DType::kF64, 1e-12, {.bucket_mb = 60e-6});
}

TEST(GradReducer, ZeroOneEqualsPlainDataParallel) {
  check_equivalence(3, {4, 4, 4}, DType::kF64, 1e-12, {}, true);
  check_equivalence(3, {4, 1, 0}, DType::kF64, 1e-12, {}, true);
}

TEST(GradReducer, Bf16CompressionStaysWithinBf16Precision) {
  check_equivalence(2, {4, 4}, DType::kF32, 3e-2, {.bucket_mb = 60e-6, .bf16_compression = true});
}

TEST(GradReducer, BucketsLaunchDuringBackwardAndReportOverlap) {
  run_ranks(2, [&](int, std::shared_ptr<ThreadCommunicator> comm) {
    Mlp m(DType::kF32);
    GradReducer reducer(comm, m.params, {.bucket_mb = 60e-6});
    // 16 + 60 (w2, b2: 15 + 3 floats + flags) ... every bucket holds at most 60 bytes.
    EXPECT_GE(reducer.buckets().size(), 4u);
    EXPECT_EQ(reducer.buckets().front().front(), 4u);  // the last registered parameter first
    const Data d = data(4, DType::kF32, 1);
    m.loss(d.x, d.y).backward();
    const ReduceStats& st = reducer.finish();
    EXPECT_EQ(st.buckets, static_cast<int64_t>(reducer.buckets().size()));
    // The bucket of `extra` (unused) waits for finish(), so none after it launch from hooks either:
    // buckets start in order on every rank.
    EXPECT_EQ(st.launched_in_backward, 0);
    EXPECT_NEAR(st.hidden_seconds + st.exposed_seconds, st.comm_seconds, 1e-12);
    for (Tensor& p : m.params) p.zero_grad();
    m.loss(d.x, d.y, true).backward();
    const ReduceStats& used = reducer.finish();
    EXPECT_EQ(used.launched_in_backward, used.buckets);  // every bucket launched from a hook
    EXPECT_GT(used.bytes, 0);
    EXPECT_EQ(reducer.total().steps, 2);
  });
}

TEST(GradReducer, UnusedParametersDoNotDeadlockAndKeepNoGradientWhenNoRankHasOne) {
  std::vector<std::vector<double>> extra_grad(2);
  std::vector<bool> b2_defined(2);
  run_ranks(2, [&](int rank, std::shared_ptr<ThreadCommunicator> comm) {
    Mlp m(DType::kF64);
    GradReducer reducer(comm, m.params, {.bucket_mb = 60e-6});
    const Data d = data(4, DType::kF64, 3);
    // Rank 0 uses `extra`, rank 1 does not; nobody uses... every rank uses b2, so it stays defined.
    m.loss(d.x, d.y, rank == 0).backward();
    reducer.finish();
    extra_grad[rank] = m.params[4].grad().to_vector<double>();
    b2_defined[rank] = m.params[3].grad().defined();
    // A step where no rank uses `extra`: it keeps no gradient, as in one process.
    for (Tensor& p : m.params) p.zero_grad();
    m.loss(d.x, d.y).backward();
    reducer.finish();
    EXPECT_FALSE(m.params[4].grad().defined());
  });
  Mlp one(DType::kF64);
  const Data d = data(4, DType::kF64, 3);
  one.loss(d.x, d.y, true).backward();
  const auto g = one.params[4].grad().to_vector<double>();
  for (int r = 0; r < 2; ++r) {
    ASSERT_EQ(extra_grad[r].size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(extra_grad[r][i], g[i] / 2, 1e-12);
    EXPECT_TRUE(b2_defined[r]);
  }
}

// A clipping engine writes .grad itself (no hook): finish() reads it, and prepare(1, 1) sums it
// over ranks, the data-parallel DP-SGD recipe (clipped sums summed, noise added once afterwards).
TEST(GradReducer, GradientsSetWithoutTheHookAreReadAtFinish) {
  std::vector<std::vector<double>> seen(3);
  strand::testing::run_ranks(
      3, [&](int rank, std::shared_ptr<strand::testing::ThreadCommunicator> comm) {
        Mlp m(DType::kF64);
        GradReducer reducer(comm, m.params, {.bucket_mb = 60e-6});
        reducer.prepare(1, 1);
        m.params[0].set_grad(full({5, 6}, rank + 1.0, {.dtype = DType::kF64}));
        reducer.finish();
        seen[rank] = m.params[0].grad().to_vector<double>();
        EXPECT_FALSE(m.params[1].grad().defined());
      });
  for (const auto& v : seen) EXPECT_EQ(v, std::vector<double>(30, 6.0));
}

TEST(GradReducer, BroadcastMakesEveryRankStartFromRootsWeights) {
  std::vector<std::vector<double>> seen(3);
  run_ranks(3, [&](int rank, std::shared_ptr<ThreadCommunicator> comm) {
    Tensor w = full({4}, rank + 1.0);
    Tensor b = full({2}, 10.0 * (rank + 1));
    broadcast_tensors(*comm, {w, b}, 1);
    seen[rank] = w.to_vector<double>();
    seen[rank].push_back(b.to_vector<double>()[0]);
  });
  for (const auto& v : seen) EXPECT_EQ(v, (std::vector<double>{2, 2, 2, 2, 20}));
}

TEST(GradReducer, BadInput) {
  run_ranks(1, [&](int, std::shared_ptr<ThreadCommunicator> comm) {
    Mlp m(DType::kF32);
    EXPECT_THAT([&] { GradReducer r(comm, m.params, {.bucket_mb = 0}); },
                ThrowsMessage<Error>(HasSubstr("bucket size must be positive")));
    EXPECT_THAT([&] { GradReducer r(comm, {}, {}); },
                ThrowsMessage<Error>(HasSubstr("no parameters")));
    EXPECT_THAT([&] { GradReducer r(comm, {zeros({3})}, {}); },
                ThrowsMessage<Error>(HasSubstr("parameter 0 must be a floating leaf")));
    EXPECT_THAT(
        [&] {
          GradReducer r(comm, {m.params[0], m.params[1], m.params[0]}, {});
        },
        ThrowsMessage<Error>(HasSubstr("parameter 2 is listed twice")));
    EXPECT_THAT([&] { GradReducer r(nullptr, m.params, {}); },
                ThrowsMessage<Error>(HasSubstr("needs a communicator")));
    GradReducer r(comm, m.params, {});
    EXPECT_THAT([&] { r.prepare(3, 2); }, ThrowsMessage<Error>(HasSubstr("weight 3 must lie")));
    r.prepare(1, 2);
    EXPECT_THAT([&] { r.prepare(1, 2); }, ThrowsMessage<Error>(HasSubstr("prepare called twice")));
    r.finish();
    // A second backward into an already reduced bucket without finish() in between.
    const Data d = data(2, DType::kF32, 5);
    m.loss(d.x, d.y, true).backward();
    EXPECT_THAT([&] { m.loss(d.x, d.y, true).backward(); },
                ThrowsMessage<Error>(HasSubstr("after its bucket was all-reduced")));
  });
}

}  // namespace
}  // namespace strand::runtime
