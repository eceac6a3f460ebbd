// The single-process communicator (no launcher): collectives are identities or copies, argument
// checks name the collective and the problem, abort fails later calls, verify_same passes.
#include "runtime/comm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace strand::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::shared_ptr<Communicator> single() { return make_communicator(LaunchInfo{}, Device::cpu()); }

TEST(CommSingle, IdentityAndCopies) {
  auto comm = single();
  EXPECT_EQ(comm->backend(), CommBackend::kSingle);
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->size(), 1);
  Tensor t = from_vector<float>({1, 2, 3}, {3});
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax, ReduceOp::kMin}) {
    auto work = comm->all_reduce(t, op);
    work->wait();
    EXPECT_TRUE(work->done());
    EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, 2, 3}));
  }
  Tensor out = zeros({3});
  comm->all_gather(t, out)->wait();
  EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{1, 2, 3}));
  Tensor out2 = zeros({3});
  comm->reduce_scatter(t, out2, ReduceOp::kSum)->wait();
  EXPECT_EQ(out2.to_vector<float>(), (std::vector<float>{1, 2, 3}));
  comm->broadcast(t, 0)->wait();
  comm->barrier();
  EXPECT_EQ(all_gather_strings(*comm, "abc"), (std::vector<std::string>{"abc"}));
  verify_same(*comm, "seed", "42");
}

TEST(CommSingle, BadArgumentsSayWhatIsWrong) {
  auto comm = single();
  comm->set_context("epoch 1 step 7");
  Tensor t = zeros({2, 3});
  EXPECT_THAT([&] { comm->all_reduce(t.transpose(0, 1), ReduceOp::kSum); },
              ThrowsMessage<Error>(HasSubstr("single all_reduce on rank 0 of 1 (epoch 1 step 7): "
                                             "the input tensor must be contiguous")));
  EXPECT_THAT([&] { comm->all_reduce(zeros({2}, {.dtype = DType::kI64}), ReduceOp::kAvg); },
              ThrowsMessage<Error>(HasSubstr("avg needs a floating dtype, got i64")));
  EXPECT_THAT([&] { comm->all_reduce(zeros({2}, {.dtype = DType::kU8}), ReduceOp::kSum); },
              ThrowsMessage<Error>(HasSubstr("cannot reduce u8 tensors")));
  EXPECT_THAT([&] { comm->all_gather(zeros({3}), zeros({4})); },
              ThrowsMessage<Error>(HasSubstr("the output tensor has 4 elements, expected 3")));
  EXPECT_THAT([&] { comm->all_gather(zeros({3}), zeros({3}, {.dtype = DType::kF64})); },
              ThrowsMessage<Error>(HasSubstr("input is f64 but output is f32")));
  EXPECT_THAT([&] { comm->broadcast(t, 1); },
              ThrowsMessage<Error>(HasSubstr("root 1 is not a rank (size 1)")));
  EXPECT_THAT([&] { comm->all_reduce(Tensor(), ReduceOp::kSum); },
              ThrowsMessage<Error>(HasSubstr("the input tensor is undefined")));
}

TEST(CommSingle, AbortFailsLaterCalls) {
  auto comm = single();
  EXPECT_TRUE(comm->failure().empty());
  comm->abort("trainer gave up");
  comm->abort("second reason is ignored");
  EXPECT_THAT(comm->failure(), HasSubstr("aborted: trainer gave up"));
  EXPECT_THAT([&] { comm->barrier(); }, ThrowsMessage<Error>(HasSubstr("trainer gave up")));
}

TEST(CommSingle, TimeoutFromEnvironment) {
  setenv("STRAND_COMM_TIMEOUT_S", "2.5", 1);
  auto comm = single();
  EXPECT_EQ(comm->options().timeout.count(), 2500);
  setenv("STRAND_COMM_TIMEOUT_S", "soon", 1);
  EXPECT_THAT([] { single(); }, ThrowsMessage<Error>(HasSubstr("STRAND_COMM_TIMEOUT_S='soon'")));
  unsetenv("STRAND_COMM_TIMEOUT_S");
}

// Two ranks by the environment, but MPI started as a one-process singleton: CPU collectives
// cannot work, and the error says how to launch instead of hanging.
TEST(Comm, CpuRanksWithoutAnMpiLauncherSayHowToLaunch) {
  if (!STRAND_WITH_MPI) GTEST_SKIP() << "built without MPI";
  LaunchInfo launch;
  launch.launcher = "env";
  launch.world_size = 2;
  launch.master_addr = "127.0.0.1";
  launch.master_port = 29500;
  EXPECT_THAT(
      [&] { make_communicator(launch, Device::cpu()); },
      ThrowsMessage<Error>(HasSubstr("the launcher says rank 0 of 2 (local 0 of 1) "
                                     "launched by env, but MPI sees rank 0 of 1; under "
                                     "Slurm run `srun --mpi=pmix`, or launch with mpirun")));
}

TEST(Comm, DeviceForRank) {
  LaunchInfo launch;
  EXPECT_EQ(device_for_rank(launch, Device::cpu()), Device::cpu());
  EXPECT_EQ(device_for_rank(launch, Device::cuda(1)), Device::cuda(1));
  launch.world_size = 8;
  launch.rank = 5;
  launch.local_rank = 5;
  launch.local_world_size = 8;
  launch.launcher = "mpirun";
  EXPECT_EQ(device_for_rank(launch, Device::cpu()), Device::cpu());
  if (cuda_device_count() > 5) {
    EXPECT_EQ(device_for_rank(launch, Device::cuda()), Device::cuda(5));
  } else {
    EXPECT_THAT([&] { device_for_rank(launch, Device::cuda()); },
                ThrowsMessage<Error>(HasSubstr("rank 5 of 8 (local 5 of 8) launched by mpirun "
                                               "needs CUDA device 5, but this host has")));
  }
}

TEST(Comm, Names) {
  EXPECT_EQ(reduce_op_name(ReduceOp::kAvg), "avg");
  EXPECT_EQ(comm_backend_name(CommBackend::kNccl), "nccl");
}

}  // namespace
}  // namespace strand::runtime
