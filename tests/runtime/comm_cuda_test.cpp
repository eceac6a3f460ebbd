// Communicators on one GPU: the single-process one, and a real one-rank NCCL communicator built
// through the TCP-rendezvous bootstrap path, checked collective by collective (poisoned outputs).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/comm.h"
#include "runtime/comm_backends.h"
#include "runtime/storage.h"
#include "tests/support/test_support.h"

namespace strand::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

void exercise(Communicator& comm) {
  const Device gpu = comm.device();
  set_poison_allocations(true);
  const std::vector<float> values = strand::testing::random_vector<float>(1000, 7);
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax, ReduceOp::kMin}) {
    Tensor t = from_vector<float>(values, {1000}).to(gpu);
    comm.all_reduce(t, op)->wait();
    EXPECT_EQ(t.to_vector<float>(), values) << reduce_op_name(op);
  }
  Tensor bf = from_vector<float>(values, {1000}).to(DType::kBF16).to(gpu);
  const std::vector<float> bf_before = bf.to_vector<float>();
  comm.all_reduce(bf, ReduceOp::kSum)->wait();
  EXPECT_EQ(bf.to_vector<float>(), bf_before);

  Tensor in = from_vector<float>(values, {1000}).to(gpu);
  Tensor out = empty({1000}, {.device = gpu});  // poisoned: every element must be written
  comm.all_gather(in, out)->wait();
  EXPECT_EQ(out.to_vector<float>(), values);
  Tensor out2 = empty({10, 100}, {.device = gpu});
  comm.reduce_scatter(in, out2, ReduceOp::kSum)->wait();
  EXPECT_EQ(out2.to_vector<float>(), values);
  Tensor ids = from_vector<int64_t>({1, 2, 3}, {3}).to(gpu);
  comm.broadcast(ids, 0)->wait();
  EXPECT_EQ(ids.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3}));
  comm.barrier();
  verify_same(comm, "model", "danq");
  set_poison_allocations(false);

  EXPECT_THAT([&] { comm.all_reduce(zeros({3}), ReduceOp::kSum); },
              ThrowsMessage<Error>(HasSubstr("the input tensor is on cpu but the communicator is "
                                             "on cuda:0")));
  comm.abort("test over");
  EXPECT_THAT([&] { comm.barrier(); }, ThrowsMessage<Error>(HasSubstr("test over")));
}

TEST(CommCuda, Single) {
  STRAND_REQUIRE_CUDA_DEVICE();
  auto comm = make_communicator(LaunchInfo{}, Device::cuda(0));
  EXPECT_EQ(comm->backend(), CommBackend::kSingle);
  exercise(*comm);
}

TEST(CommCuda, NcclOneRank) {
  STRAND_REQUIRE_CUDA_DEVICE();
  LaunchInfo launch;
  launch.launcher = "env";
  auto comm = make_nccl_communicator(launch, Device::cuda(0), CommOptions{});
  EXPECT_EQ(comm->backend(), CommBackend::kNccl);
  exercise(*comm);
}

}  // namespace
}  // namespace strand::runtime
