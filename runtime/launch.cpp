// Launch detection from the environment variables mpirun, srun and env launchers set (launch.h).
#include "runtime/launch.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "core/error.h"

namespace strand::runtime {
namespace {

constexpr int kDefaultMasterPort = 29500;

int parse_int(const EnvLookup& env, const std::string& name, int fallback, bool required) {
  const auto text = env(name);
  if (!text) {
    STRAND_CHECK(!required, "launch: environment variable {} is not set", name);
    return fallback;
  }
  int value = 0;
  const char* begin = text->data();
  const char* end = begin + text->size();
  const auto [stop, ec] = std::from_chars(begin, end, value);
  STRAND_CHECK(ec == std::errc() && stop == end && value >= 0,
               "launch: environment variable {}='{}' is not a non-negative integer", name, *text);
  return value;
}

std::string get_or(const EnvLookup& env, const std::string& name, std::string fallback) {
  const auto text = env(name);
  return text && !text->empty() ? *text : fallback;
}

}  // namespace

std::string LaunchInfo::str() const {
  return format("rank {} of {} (local {} of {}) launched by {}", rank, world_size, local_rank,
                local_world_size, launcher);
}

std::string first_slurm_host(const std::string& nodelist) {
  // Hosts are separated by commas outside brackets; a bracket holds ranges of numeric suffixes.
  std::string first;
  size_t i = 0;
  while (i < nodelist.size() && nodelist[i] != ',' && nodelist[i] != '[') first += nodelist[i++];
  if (i < nodelist.size() && nodelist[i] == '[') {
    ++i;
    while (i < nodelist.size() && std::isdigit(static_cast<unsigned char>(nodelist[i]))) {
      first += nodelist[i++];
    }
  }
  STRAND_CHECK(!first.empty(), "launch: cannot read a host name from the Slurm node list '{}'",
               nodelist);
  return first;
}

LaunchInfo detect_launch(const EnvLookup& env) {
  LaunchInfo info;
  if (env("OMPI_COMM_WORLD_SIZE")) {
    info.launcher = "mpirun";
    info.world_size = parse_int(env, "OMPI_COMM_WORLD_SIZE", 1, true);
    info.rank = parse_int(env, "OMPI_COMM_WORLD_RANK", 0, true);
    info.local_rank = parse_int(env, "OMPI_COMM_WORLD_LOCAL_RANK", 0, true);
    info.local_world_size = parse_int(env, "OMPI_COMM_WORLD_LOCAL_SIZE", 1, false);
    // MPI carries the bootstrap; a rendezvous address is still honoured if given.
    info.master_addr = get_or(env, "MASTER_ADDR", "");
    info.master_port = parse_int(env, "MASTER_PORT", 0, false);
  } else if (env("WORLD_SIZE") || env("RANK")) {
    info.launcher = "env";
    info.world_size = parse_int(env, "WORLD_SIZE", 1, true);
    info.rank = parse_int(env, "RANK", 0, true);
    info.local_rank = parse_int(env, "LOCAL_RANK", 0, false);
    info.local_world_size = parse_int(env, "LOCAL_WORLD_SIZE", 1, false);
    if (info.world_size > 1) {
      const auto addr = env("MASTER_ADDR");
      STRAND_CHECK(addr && !addr->empty(),
                   "launch: RANK/WORLD_SIZE are set (world size {}) but MASTER_ADDR is not: rank "
                   "0's host is needed for the rendezvous",
                   info.world_size);
      info.master_addr = *addr;
      info.master_port = parse_int(env, "MASTER_PORT", 0, true);
    }
  } else if (env("SLURM_NTASKS") && env("SLURM_PROCID")) {
    info.launcher = "slurm";
    info.world_size = parse_int(env, "SLURM_NTASKS", 1, true);
    info.rank = parse_int(env, "SLURM_PROCID", 0, true);
    info.local_rank = parse_int(env, "SLURM_LOCALID", 0, false);
    // SLURM_TASKS_PER_NODE reads like "2(x3),1": the leading count is this step's first node's;
    // a lower bound (local rank + 1) is applied below when it is absent.
    if (const auto per_node = env("SLURM_TASKS_PER_NODE")) {
      int count = 0;
      std::from_chars(per_node->data(), per_node->data() + per_node->size(), count);
      info.local_world_size = std::max(1, count);
    }
    const auto nodelist =
        env("SLURM_STEP_NODELIST") ? env("SLURM_STEP_NODELIST") : env("SLURM_JOB_NODELIST");
    info.master_addr = get_or(env, "MASTER_ADDR", nodelist ? first_slurm_host(*nodelist) : "");
    info.master_port = parse_int(env, "MASTER_PORT", kDefaultMasterPort, false);
  }
  STRAND_CHECK(info.world_size >= 1, "launch ({}): world size must be at least 1, got {}",
               info.launcher, info.world_size);
  STRAND_CHECK(info.rank < info.world_size, "launch ({}): rank {} is not below the world size {}",
               info.launcher, info.rank, info.world_size);
  STRAND_CHECK(info.master_port < 65536, "launch ({}): MASTER_PORT {} is not a TCP port",
               info.launcher, info.master_port);
  if (info.local_world_size < info.local_rank + 1) info.local_world_size = info.local_rank + 1;
  return info;
}

LaunchInfo detect_launch() {
  return detect_launch([](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  });
}

void fail_job_under_recovery(int grace_seconds) {
  const char* recovery = std::getenv("OMPI_MCA_orte_enable_recovery");
  if (recovery == nullptr || std::string(recovery) != "1") return;
  if (std::getenv("OMPI_COMM_WORLD_RANK") == nullptr) return;
  const pid_t parent = getppid();
  std::ifstream comm("/proc/" + std::to_string(parent) + "/comm");
  std::string name;
  std::getline(comm, name);
  if (name != "mpirun" && name != "mpiexec" && name != "orterun" && name != "orted") return;
  std::this_thread::sleep_for(std::chrono::seconds(grace_seconds));
  ::kill(parent, SIGTERM);
}

}  // namespace strand::runtime
