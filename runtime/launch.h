// Who launched this process and where it sits in the job: rank, world size and local rank read
// from mpirun (OpenMPI), Slurm (srun) or generic RANK/WORLD_SIZE variables, plus the rendezvous
// address used when no MPI carries the bootstrap. A process started by hand is rank 0 of 1.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace strand::runtime {

struct LaunchInfo {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;        // index among the ranks on this host: picks the GPU
  int local_world_size = 1;  // ranks on this host
  // "none" (one process, no launcher), "mpirun", "slurm" or "env" (RANK/WORLD_SIZE variables).
  std::string launcher = "none";
  // TCP rendezvous (rank 0 listens there) for launchers without MPI: MASTER_ADDR/MASTER_PORT,
  // under Slurm defaulting to the first host of the step and port 29500.
  std::string master_addr;
  int master_port = 0;

  bool distributed() const { return world_size > 1; }
  // One line for logs and errors: "rank 1 of 4 (local 1 of 2) launched by mpirun".
  std::string str() const;
};

// Reads a variable; std::nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// From this process's environment. Precedence: OpenMPI's OMPI_COMM_WORLD_* (mpirun), then
// explicit RANK/WORLD_SIZE (env launchers such as torchrun), then SLURM_PROCID/SLURM_NTASKS.
// A malformed or inconsistent value is a strand::Error naming the variable.
LaunchInfo detect_launch();
LaunchInfo detect_launch(const EnvLookup& env);

// Called by a process that is about to exit non-zero. OpenMPI's `mpirun --enable-recovery` (4.1)
// exits 0 whatever its ranks return, so a job whose survivors all failed would look successful;
// under it (OMPI_MCA_orte_enable_recovery=1) this waits `grace_seconds`, so the other survivors'
// messages get out, then sends SIGTERM to the rank's launcher process (mpirun, or orted on other
// hosts), which ends the job with a non-zero status. Elsewhere it does nothing.
void fail_job_under_recovery(int grace_seconds = 3);

// The first host of a Slurm node list: "node[03-05,9],gpu1" -> "node03".
std::string first_slurm_host(const std::string& nodelist);

}  // namespace strand::runtime
