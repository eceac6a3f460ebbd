// NCCL across processes under `mpirun -np 2` and `-np 3`, one GPU per rank (unique id over MPI).
// Skips on every rank when the host has fewer GPUs than ranks (NCCL refuses two ranks on one).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/comm.h"
#include "tests/support/test_support.h"

namespace strand::runtime {
namespace {

TEST(CommNcclMpi, CollectivesAcrossRanks) {
  const LaunchInfo launch = detect_launch();
  if (strand::testing::cuda_device_count() < launch.local_world_size) {
    GTEST_SKIP() << "needs " << launch.local_world_size << " CUDA devices on this host";
  }
  auto comm = make_communicator(launch, device_for_rank(launch, Device::cuda()));
  ASSERT_EQ(comm->backend(), CommBackend::kNccl);
  const int n = comm->size(), r = comm->rank();
  const Device gpu = comm->device();

  Tensor t = full({1 << 20}, r + 1.0, {.device = gpu});
  comm->all_reduce(t, ReduceOp::kSum)->wait();
  const std::vector<float> sum = t.to_vector<float>();
  EXPECT_EQ(std::count(sum.begin(), sum.end(), n * (n + 1) / 2.0f), 1 << 20);

  Tensor avg = full({5}, r + 1.0, {.dtype = DType::kBF16, .device = gpu});
  comm->all_reduce(avg, ReduceOp::kAvg)->wait();
  EXPECT_EQ(avg.to_vector<float>(), std::vector<float>(5, (n + 1) / 2.0f));

  Tensor mine = full({3}, r, {.dtype = DType::kI64, .device = gpu});
  Tensor all = empty({3 * n}, {.dtype = DType::kI64, .device = gpu});
  comm->all_gather(mine, all)->wait();
  const std::vector<int64_t> gathered = all.to_vector<int64_t>();
  for (int q = 0; q < n; ++q) EXPECT_EQ(gathered[3 * q], q);

  Tensor in = arange(0, 4 * n, 1, {.device = gpu});
  Tensor out = empty({4}, {.device = gpu});
  comm->reduce_scatter(in, out, ReduceOp::kMax)->wait();
  EXPECT_EQ(out.to_vector<float>()[0], 4.0f * r);

  Tensor b = full({2}, r, {.device = gpu});
  comm->broadcast(b, n - 1)->wait();
  EXPECT_EQ(b.to_vector<float>(), std::vector<float>(2, n - 1.0f));
  comm->barrier();
  verify_same(*comm, "seed", "42");
}

}  // namespace
}  // namespace strand::runtime
