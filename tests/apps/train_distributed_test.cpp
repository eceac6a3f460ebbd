// `mpirun -np N strand train` end to end: the same flags as one process, one report and one set of
// files from rank 0; and a rank killed mid-epoch: the survivors exit within the timeout with one
// line naming the lost rank and the step, the job's exit status is non-zero, and the last
// checkpoint is intact and resumes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/runtime/comm_processes.h"
#include "train/checkpoint.h"

namespace strand::apps {
namespace {

using ::testing::HasSubstr;
using namespace strand::runtime::testing;

#define REQUIRE_MPIRUN()                                                  \
  do {                                                                    \
    if (!STRAND_WITH_MPI) GTEST_SKIP() << "built without MPI";            \
    if (find_mpirun().empty()) GTEST_SKIP() << "mpirun is not installed"; \
  } while (0)

std::string strand_under_mpirun(int np, const std::string& mpirun_options,
                                const std::string& args) {
  return "OMP_NUM_THREADS=1 " + mpirun_command(find_mpirun(), np) + " " + mpirun_options + " " +
         STRAND_CLI_PATH + " train " + args;
}

// The pid of the `strand` process of rank `rank` whose command line mentions `marker`, or -1.
int find_rank_pid(int rank, const std::string& marker) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_text(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(STRAND_CLI_PATH) == std::string::npos ||
        cmdline.find(marker) == std::string::npos || cmdline.find("mpirun") != std::string::npos)
      continue;
    std::string env = read_text(entry.path() / "environ");
    std::replace(env.begin(), env.end(), '\0', '\n');
    if (env.find("\nOMPI_COMM_WORLD_RANK=" + std::to_string(rank) + "\n") != std::string::npos)
      return std::stoi(name);
  }
  return -1;
}

TEST(TrainDistributed, SameFlagsAsOneProcessOneReportFromRankZero) {
  REQUIRE_MPIRUN();
  ScratchDir dir;
  const std::string out = dir.file("run");
  const CommandResult r = run_command(
      strand_under_mpirun(2, "",
                          "--epochs 1 --batch-size 16 --no-baseline --bootstrap 10 --bucket-mb 1 "
                          "--no-progress --out " +
                              out + " > " + dir.file("job.log") + " 2>&1"),
      300);
  const std::string log = read_text(dir.file("job.log"));
  ASSERT_EQ(r.exit_code, 0) << log;
  const auto metrics = nlohmann::json::parse(read_text(out + "/metrics.json"));
  EXPECT_EQ(metrics["data_parallel"]["ranks"], 2);
  EXPECT_EQ(metrics["data_parallel"]["backend"], "mpi");
  EXPECT_EQ(metrics["data_parallel"]["global_batch"], 32);
  EXPECT_GE(metrics["data_parallel"]["comm_hidden_fraction"].get<double>(), 0.0);
  // One report: the summary line appears once, from rank 0.
  size_t count = 0;
  for (size_t at = log.find("trained 1 epochs"); at != std::string::npos;
       at = log.find("trained 1 epochs", at + 1))
    ++count;
  EXPECT_EQ(count, 1u) << log;
  // Bad data-parallel flags are one-line errors, with or without a launcher.
  const CommandResult bad =
      run_command(std::string(STRAND_CLI_PATH) + " train --grad-compression fp8 --out " + out +
                      " > " + dir.file("bad.log") + " 2>&1",
                  60);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(read_text(dir.file("bad.log")),
              HasSubstr("--grad-compression must be none or bf16, got 'fp8'"));
}

TEST(TrainDistributed, KilledRankIsNamedBySurvivorsAndTheCheckpointResumes) {
  REQUIRE_MPIRUN();
  ScratchDir dir;
  const std::string out = dir.file("faulty");
  // Small batches make epochs long enough to be interrupted; --enable-recovery lets the job run
  // on after a death, so the survivors' own timeout and probe must end it.
  const std::string command = strand_under_mpirun(
      3, "--enable-recovery",
      "--epochs 3 --batch-size 4 --no-baseline --no-progress --comm-timeout 3 --out " + out +
          " > " + dir.file("job.log") + " 2>&1");
  CommandResult result;
  std::thread job([&] { result = run_command(command, 240); });
  // Wait for the first epoch's checkpoint, then kill rank 2 in the second epoch.
  const auto start = std::chrono::steady_clock::now();
  int victim = -1;
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(200)) {
    if (read_text(out + "/log.jsonl").find("\"type\":\"epoch\"") != std::string::npos) {
      victim = find_rank_pid(2, out);
      if (victim > 0) ::kill(victim, SIGKILL);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  job.join();
  const std::string log = read_text(dir.file("job.log"));
  ASSERT_GT(victim, 0) << "no first epoch or no rank 2 to kill; job log:\n" << log;
  EXPECT_NE(result.exit_code, 124) << "the job hung:\n" << log;
  // mpirun --enable-recovery itself exits 0 whatever its ranks return; the survivors end the job
  // through it (runtime::fail_job_under_recovery) so the run's status says it failed.
  EXPECT_NE(result.exit_code, 0) << log;
  // Both survivors: one line, naming the lost rank and where training was.
  for (int rank : {0, 1}) {
    EXPECT_THAT(log, HasSubstr(strand::format(
                         "strand: mpi all_reduce on rank {} of 3 (epoch 2 step", rank)))
        << log;
  }
  EXPECT_THAT(log, HasSubstr("lost rank 2")) << log;
  // The checkpoint of epoch 1 is intact and a single process resumes from it in the same run.
  const std::string data = out + "/data";
  const CommandResult resumed = run_command(
      std::string(STRAND_CLI_PATH) + " train --fasta " + data + "/sequences.fa --labels " + data +
          "/labels.tsv --epochs 2 --batch-size 12 --no-baseline --bootstrap 10 --no-progress "
          "--resume " +
          out + "/checkpoint.safetensors --out " + out + " > " + dir.file("resumed.log") + " 2>&1",
      300);
  EXPECT_EQ(resumed.exit_code, 0) << read_text(dir.file("resumed.log"));
  const std::string resumed_log = read_text(out + "/log.jsonl");
  EXPECT_THAT(resumed_log, HasSubstr("\"type\":\"resume\""));
  EXPECT_THAT(resumed_log, HasSubstr("\"epoch\":2"));
}

}  // namespace
}  // namespace strand::apps
