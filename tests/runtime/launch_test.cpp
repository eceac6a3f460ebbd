// Launch detection from mpirun, env-launcher and Slurm variables, precedence, and bad values.
#include "runtime/launch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "core/error.h"

namespace strand::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

LaunchInfo detect(const std::map<std::string, std::string>& vars) {
  return detect_launch([&](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

TEST(Launch, NoLauncherIsOneProcess) {
  const LaunchInfo info = detect({});
  EXPECT_EQ(info.launcher, "none");
  EXPECT_EQ(info.rank, 0);
  EXPECT_EQ(info.world_size, 1);
  EXPECT_FALSE(info.distributed());
}

TEST(Launch, Mpirun) {
  const LaunchInfo info = detect({{"OMPI_COMM_WORLD_SIZE", "4"},
                                  {"OMPI_COMM_WORLD_RANK", "3"},
                                  {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                                  {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                                  {"SLURM_NTASKS", "9"},
                                  {"SLURM_PROCID", "7"}});
  EXPECT_EQ(info.launcher, "mpirun");
  EXPECT_EQ(info.rank, 3);
  EXPECT_EQ(info.world_size, 4);
  EXPECT_EQ(info.local_rank, 1);
  EXPECT_EQ(info.local_world_size, 2);
  EXPECT_TRUE(info.distributed());
  EXPECT_EQ(info.str(), "rank 3 of 4 (local 1 of 2) launched by mpirun");
}

TEST(Launch, EnvLauncherWinsOverSlurm) {
  const LaunchInfo info = detect({{"RANK", "1"},
                                  {"WORLD_SIZE", "2"},
                                  {"LOCAL_RANK", "0"},
                                  {"MASTER_ADDR", "10.0.0.1"},
                                  {"MASTER_PORT", "29501"},
                                  {"SLURM_NTASKS", "9"},
                                  {"SLURM_PROCID", "7"}});
  EXPECT_EQ(info.launcher, "env");
  EXPECT_EQ(info.rank, 1);
  EXPECT_EQ(info.world_size, 2);
  EXPECT_EQ(info.master_addr, "10.0.0.1");
  EXPECT_EQ(info.master_port, 29501);
}

TEST(Launch, SlurmDefaultsTheRendezvousToTheFirstHost) {
  const LaunchInfo info = detect({{"SLURM_NTASKS", "8"},
                                  {"SLURM_PROCID", "5"},
                                  {"SLURM_LOCALID", "1"},
                                  {"SLURM_TASKS_PER_NODE", "4(x2)"},
                                  {"SLURM_STEP_NODELIST", "gpu[07-08]"}});
  EXPECT_EQ(info.launcher, "slurm");
  EXPECT_EQ(info.rank, 5);
  EXPECT_EQ(info.world_size, 8);
  EXPECT_EQ(info.local_rank, 1);
  EXPECT_EQ(info.local_world_size, 4);
  EXPECT_EQ(info.master_addr, "gpu07");
  EXPECT_EQ(info.master_port, 29500);
}

TEST(Launch, FirstSlurmHost) {
  EXPECT_EQ(first_slurm_host("node[03-05,9],gpu1"), "node03");
  EXPECT_EQ(first_slurm_host("alpha,beta"), "alpha");
  EXPECT_EQ(first_slurm_host("solo"), "solo");
  EXPECT_THAT([] { first_slurm_host(""); },
              ThrowsMessage<Error>(HasSubstr("cannot read a host name")));
}

TEST(Launch, BadValuesNameTheVariable) {
  EXPECT_THAT(
      [] {
        detect({{"RANK", "x"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}});
      },
      ThrowsMessage<Error>(HasSubstr("RANK='x' is not a non-negative integer")));
  EXPECT_THAT(
      [] {
        detect({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}});
      },
      ThrowsMessage<Error>(HasSubstr("rank 2 is not below the world size 2")));
  EXPECT_THAT(
      [] {
        detect({{"RANK", "0"}, {"WORLD_SIZE", "2"}});
      },
      ThrowsMessage<Error>(HasSubstr("MASTER_ADDR is not")));
  EXPECT_THAT(
      [] {
        detect({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}});
      },
      ThrowsMessage<Error>(HasSubstr("MASTER_PORT is not set")));
  EXPECT_THAT(
      [] {
        detect({{"OMPI_COMM_WORLD_SIZE", "2"}});
      },
      ThrowsMessage<Error>(HasSubstr("OMPI_COMM_WORLD_RANK is not set")));
  EXPECT_THAT(
      [] {
        detect(
            {{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}});
      },
      ThrowsMessage<Error>(HasSubstr("MASTER_PORT 70000 is not a TCP port")));
}

}  // namespace
}  // namespace strand::runtime
