// The MPI communicator under a real `mpirun -np 2` and `-np 3`: every collective, every reduce
// op and dtype against values computed locally, many collectives in flight at once, string
// gathering and the configuration agreement check.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <numeric>
#include <thread>

#include "runtime/comm.h"

namespace strand::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

Communicator& comm() {
  static std::shared_ptr<Communicator> instance = [] {
    CommOptions options;
    options.timeout = std::chrono::seconds(60);
    return make_communicator(detect_launch(), Device::cpu(), options);
  }();
  return *instance;
}

// The value rank r holds at element i: distinct per rank and element, exact in every dtype.
double value_at(int r, int64_t i) { return static_cast<double>((r + 1) * 3 - (i % 7) + 2 * i); }

double reduce_expected(ReduceOp op, int n, int64_t i) {
  double acc = value_at(0, i);
  for (int r = 1; r < n; ++r) {
    const double v = value_at(r, i);
    if (op == ReduceOp::kSum || op == ReduceOp::kAvg) acc += v;
    if (op == ReduceOp::kMax) acc = std::max(acc, v);
    if (op == ReduceOp::kMin) acc = std::min(acc, v);
  }
  return op == ReduceOp::kAvg ? acc / n : acc;
}

Tensor rank_tensor(int r, int64_t n, DType dtype, int64_t first = 0) {
  std::vector<double> values(n);
  for (int64_t i = 0; i < n; ++i) values[i] = value_at(r, first + i);
  return from_vector<double>(values, {n}, {.dtype = DType::kF64}).to(dtype);
}

TEST(CommMpi, LaunchAndBackend) {
  const LaunchInfo launch = detect_launch();
  EXPECT_EQ(launch.launcher, "mpirun");
  EXPECT_EQ(comm().backend(), CommBackend::kMpi);
  EXPECT_EQ(comm().rank(), launch.rank);
  EXPECT_EQ(comm().size(), launch.world_size);
  EXPECT_GE(comm().size(), 2);
}

TEST(CommMpi, AllReduceEveryOpAndDtype) {
  const int n = comm().size();
  const int64_t count = 37;
  for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16, DType::kI32, DType::kI64}) {
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax, ReduceOp::kMin}) {
      if (op == ReduceOp::kAvg && !is_floating(dtype)) continue;
      Tensor t = rank_tensor(comm().rank(), count, dtype);
      comm().all_reduce(t, op)->wait();
      const std::vector<double> got = t.to_vector<double>();
      for (int64_t i = 0; i < count; ++i) {
        // bf16 keeps 8 significant bits: the sum is rounded once, from float32.
        const double want = reduce_expected(op, n, i);
        const double tol = dtype == DType::kBF16 ? std::abs(want) / 128.0 : 1e-6 * std::abs(want);
        ASSERT_NEAR(got[i], want, tol) << dtype << " " << reduce_op_name(op) << " element " << i;
      }
    }
  }
}

TEST(CommMpi, ReduceScatterAllGatherBroadcast) {
  const int n = comm().size();
  const int r = comm().rank();
  const int64_t chunk = 5;
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kI64}) {
    Tensor in = rank_tensor(r, n * chunk, dtype);
    Tensor out = full({chunk}, -99.0, {.dtype = dtype});
    comm().reduce_scatter(in, out, ReduceOp::kSum)->wait();
    const std::vector<double> got = out.to_vector<double>();
    for (int64_t i = 0; i < chunk; ++i) {
      ASSERT_EQ(got[i], reduce_expected(ReduceOp::kSum, n, r * chunk + i)) << dtype << " " << i;
    }

    Tensor mine = rank_tensor(r, chunk, dtype);
    Tensor all = full({n * chunk}, -99.0, {.dtype = dtype});
    comm().all_gather(mine, all)->wait();
    const std::vector<double> gathered = all.to_vector<double>();
    for (int q = 0; q < n; ++q) {
      for (int64_t i = 0; i < chunk; ++i) ASSERT_EQ(gathered[q * chunk + i], value_at(q, i));
    }

    const int root = n - 1;
    Tensor b = rank_tensor(r, chunk, dtype);
    comm().broadcast(b, root)->wait();
    const std::vector<double> bv = b.to_vector<double>();
    for (int64_t i = 0; i < chunk; ++i) ASSERT_EQ(bv[i], value_at(root, i));
  }
  Tensor bytes = full({3}, comm().rank() == 0 ? 7.0 : 1.0, {.dtype = DType::kU8});
  comm().broadcast(bytes, 0)->wait();
  EXPECT_EQ(bytes.to_vector<int64_t>(), (std::vector<int64_t>{7, 7, 7}));
  comm().barrier();
}

TEST(CommMpi, ManyCollectivesInFlightWaitedOutOfOrder) {
  const int n = comm().size();
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Work>> works;
  for (int k = 0; k < 24; ++k) {
    // Sizes from a few elements to a megabyte, so eager and rendezvous protocols both run.
    const int64_t count = int64_t{1} << (k % 19);
    tensors.push_back(rank_tensor(comm().rank(), count, DType::kF32, k));
    works.push_back(comm().all_reduce(tensors.back(), ReduceOp::kSum));
  }
  for (int k = 23; k >= 0; --k) {
    works[k]->wait();
    EXPECT_TRUE(works[k]->done());
    const std::vector<float> got = tensors[k].to_vector<float>();
    for (int64_t i = 0; i < static_cast<int64_t>(got.size()); i += 97) {
      ASSERT_FLOAT_EQ(got[i], reduce_expected(ReduceOp::kSum, n, k + i)) << k << " " << i;
    }
  }
}

// The worker thread drives MPI, so a collective completes while the caller computes and never
// calls into the communicator: what lets gradient all-reduces overlap backward.
TEST(CommMpi, ProgressesWhileTheCallerIsBusy) {
  Tensor t = full({1 << 18}, 1.0);  // 1 MB: above the eager limit, so several round trips
  auto work = comm().all_reduce(t, ReduceOp::kSum);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool finished = false;
  while (!finished && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // "compute", no MPI calls
    finished = work->done();
  }
  EXPECT_TRUE(finished);
  work->wait();
  EXPECT_EQ(t.to_vector<float>()[12345], static_cast<float>(comm().size()));
}

TEST(CommMpi, LargeAllReduce) {
  const int n = comm().size();
  const int64_t count = 8 << 20;  // 32 MB of float32
  Tensor t = full({count}, comm().rank() + 1.0);
  comm().all_reduce(t, ReduceOp::kAvg)->wait();
  const std::vector<float> got = t.to_vector<float>();
  const float want = (n + 1) / 2.0f;
  EXPECT_EQ(std::count(got.begin(), got.end(), want), count);
}

TEST(CommMpi, StringsAndAgreement) {
  const int r = comm().rank();
  const std::vector<std::string> got = all_gather_strings(comm(), std::string(r * 3, 'a' + r));
  ASSERT_EQ(static_cast<int>(got.size()), comm().size());
  for (int q = 0; q < comm().size(); ++q) EXPECT_EQ(got[q], std::string(q * 3, 'a' + q));

  verify_same(comm(), "model", "deepsea-919");
  comm().set_context("start-up");
  const std::string seed = r == 1 ? "seed=8" : "seed=7";
  EXPECT_THAT([&] { verify_same(comm(), "seed", seed); },
              ThrowsMessage<Error>(HasSubstr("ranks disagree on seed: rank 0 has 'seed=7', rank 1 "
                                             "has 'seed=8'")));
  comm().set_context("");
}

TEST(CommMpi, BadArgumentsFailBeforeCommunicating) {
  EXPECT_THAT([] { comm().all_gather(zeros({2}), zeros({3})); },
              ThrowsMessage<Error>(HasSubstr("mpi all_gather on rank")));
  EXPECT_THAT([] { comm().broadcast(zeros({2}), comm().size()); },
              ThrowsMessage<Error>(HasSubstr("is not a rank")));
  EXPECT_THAT([] { comm().all_reduce(zeros({2}, {.dtype = DType::kBool}), ReduceOp::kMax); },
              ThrowsMessage<Error>(HasSubstr("cannot reduce bool tensors")));
  // The communicator is still healthy and in step on every rank.
  Tensor t = ones({4});
  comm().all_reduce(t, ReduceOp::kSum)->wait();
  EXPECT_EQ(t.to_vector<float>()[3], static_cast<float>(comm().size()));
}

}  // namespace
}  // namespace strand::runtime
