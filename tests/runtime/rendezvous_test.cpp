// The TCP rendezvous: three real processes started in the wrong order exchange payloads; a
// missing rank, an absent rank 0 and a foreign job end in errors that name them.
#include "runtime/rendezvous.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "core/error.h"
#include "runtime/comm_backends.h"
#include "tests/runtime/comm_processes.h"

namespace strand::runtime {
namespace {

using namespace strand::runtime::testing;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::string payload_of(int rank) { return std::string(rank * 5, static_cast<char>('a' + rank)); }

// One rank of the job Rendezvous.ThreeProcesses starts; skipped otherwise.
TEST(RendezvousChild, Exchange) {
  const char* out = std::getenv("STRAND_RENDEZVOUS_OUT");
  if (out == nullptr) GTEST_SKIP() << "started by Rendezvous.ThreeProcesses";
  const LaunchInfo launch = detect_launch();
  const auto all = rendezvous_all_gather(launch, payload_of(launch.rank), std::chrono::seconds(30));
  std::ofstream file(std::string(out) + "/rank" + std::to_string(launch.rank) + ".txt");
  for (const auto& p : all) file << "[" << p << "]";
}

TEST(Rendezvous, ThreeProcesses) {
  ScratchDir dir;
  const int port = free_port();
  std::string command;
  // Rank 0 starts last, so the others must retry until it listens.
  for (int rank : {2, 1, 0}) {
    command += "STRAND_RENDEZVOUS_OUT=" + dir.path() + " RANK=" + std::to_string(rank) +
               " WORLD_SIZE=3 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " " +
               self_path() + " --gtest_filter=RendezvousChild.Exchange > " +
               dir.file("log" + std::to_string(rank)) + " 2>&1 & ";
    if (rank != 0) command += "sleep 0.3; ";
  }
  command += "wait";
  const CommandResult result = run_command(command, 60);
  ASSERT_EQ(result.exit_code, 0);
  for (int rank = 0; rank < 3; ++rank) {
    EXPECT_EQ(read_text(dir.file("rank" + std::to_string(rank) + ".txt")), "[][bbbbb][cccccccccc]")
        << read_text(dir.file("log" + std::to_string(rank)));
  }
}

LaunchInfo local(int rank, int world, int port) {
  LaunchInfo launch;
  launch.rank = rank;
  launch.world_size = world;
  launch.launcher = "env";
  launch.master_addr = "127.0.0.1";
  launch.master_port = port;
  return launch;
}

TEST(Rendezvous, SingleProcessNeedsNoNetwork) {
  EXPECT_EQ(rendezvous_all_gather(LaunchInfo{}, "x", milliseconds(1)),
            (std::vector<std::string>{"x"}));
}

TEST(Rendezvous, MissingRankIsNamed) {
  const int port = free_port();
  std::string rank1_error;
  std::thread rank1([&] {
    try {
      rendezvous_all_gather(local(1, 3, port), "one", milliseconds(1500));
    } catch (const Error& e) {
      rank1_error = e.message();
    }
  });
  EXPECT_THAT(
      [&] { rendezvous_all_gather(local(0, 3, port), "zero", milliseconds(1000)); },
      ThrowsMessage<Error>(HasSubstr("rendezvous on 127.0.0.1:" + std::to_string(port) +
                                     " timed out after 1 s: rank 0 never heard from rank 2")));
  rank1.join();
  EXPECT_THAT(rank1_error, HasSubstr("rank 1 got no answer from rank 0"));
}

TEST(Rendezvous, AbsentRankZeroIsNamed) {
  const int port = free_port();
  EXPECT_THAT([&] { rendezvous_all_gather(local(1, 2, port), "one", milliseconds(500)); },
              ThrowsMessage<Error>(
                  HasSubstr("rank 1 could not reach rank 0 at 127.0.0.1:" + std::to_string(port) +
                            " within 0.5 s (last error: Connection refused)")));
}

TEST(Rendezvous, ForeignJobIsRejected) {
  const int port = free_port();
  std::thread stranger([&] {
    try {
      rendezvous_all_gather(local(1, 3, port), "one", milliseconds(1500));
    } catch (const Error&) {
      // It gets no answer; rank 0's error is the one under test.
    }
  });
  EXPECT_THAT([&] { rendezvous_all_gather(local(0, 2, port), "zero", milliseconds(3000)); },
              ThrowsMessage<Error>(HasSubstr("rank 1 belongs to a job of 3 ranks, rank 0 to one "
                                             "of 2")));
  stranger.join();
}

// The after-timeout probe NCCL uses without MPI: the ranks still alive meet again and learn who
// is missing, whichever rank that is.
TEST(RendezvousProbe, NamesTheMissingRank) {
  const int port = free_port();
  std::vector<int> seen_by_1;
  std::thread rank1(
      [&] { seen_by_1 = rendezvous_missing_ranks(local(1, 3, port), milliseconds(800)); });
  EXPECT_EQ(rendezvous_missing_ranks(local(0, 3, port), milliseconds(800)), std::vector<int>{2});
  rank1.join();
  EXPECT_EQ(seen_by_1, std::vector<int>{2});
}

TEST(RendezvousProbe, NamesRankZero) {
  EXPECT_EQ(rendezvous_missing_ranks(local(1, 2, free_port()), milliseconds(500)),
            std::vector<int>{0});
}

TEST(RendezvousProbe, EveryoneThereIsNobodyMissing) {
  const int port = free_port();
  std::vector<int> seen[3];
  std::vector<std::thread> ranks;
  for (int r = 0; r < 3; ++r) {
    ranks.emplace_back(
        [&, r] { seen[r] = rendezvous_missing_ranks(local(r, 3, port), milliseconds(5000)); });
  }
  for (auto& t : ranks) t.join();
  for (int r = 0; r < 3; ++r) EXPECT_TRUE(seen[r].empty()) << r;
}

TEST(RendezvousProbe, MessageAsNcclReportsIt) {
  const int port = free_port();
  CommOptions options;
  options.probe_timeout = milliseconds(700);
  std::string seen_by_2;
  std::thread rank2(
      [&] { seen_by_2 = make_rendezvous_liveness_probe(local(2, 3, port), options)->ask(); });
  EXPECT_EQ(make_rendezvous_liveness_probe(local(0, 3, port), options)->ask(),
            "lost rank 1 (no answer within 0.7 s)");
  rank2.join();
  EXPECT_EQ(seen_by_2, "lost rank 1 (no answer within 0.7 s)");
}

TEST(Rendezvous, BadAddressSaysSo) {
  LaunchInfo launch = local(1, 2, 1234);
  launch.master_addr = "no-such-host.invalid";
  EXPECT_THAT([&] { rendezvous_all_gather(launch, "", milliseconds(500)); },
              ThrowsMessage<Error>(HasSubstr("cannot resolve MASTER_ADDR 'no-such-host.invalid'")));
  launch.master_addr.clear();
  EXPECT_THAT([&] { rendezvous_all_gather(launch, "", milliseconds(500)); },
              ThrowsMessage<Error>(HasSubstr("needs MASTER_ADDR and MASTER_PORT")));
}

}  // namespace
}  // namespace strand::runtime
