// Internal to runtime/comm*: the backend factories make_communicator dispatches to, and checks
// they share. Not part of the public API (include runtime/comm.h).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "runtime/comm.h"

namespace strand::runtime {

// MPI over CPU tensors; initialises MPI when the program has not.
std::shared_ptr<Communicator> make_mpi_communicator(const LaunchInfo& launch, CommOptions options);
// NCCL over CUDA tensors, bootstrapped over MPI when it runs, else the TCP rendezvous.
std::shared_ptr<Communicator> make_nccl_communicator(const LaunchInfo& launch, Device device,
                                                     CommOptions options);

// True between MPI_Init and MPI_Finalize (always false in a build without MPI).
bool mpi_running();

// Rank 0's bytes (size bytes) delivered to every rank of MPI_COMM_WORLD, bounded by the timeout;
// initialises MPI when needed. The NCCL unique id travels this way under mpirun.
std::string mpi_broadcast_bytes(const LaunchInfo& launch, const std::string& bytes, size_t size,
                                const CommOptions& options);

// Finds out which ranks no longer answer, for error messages after a timeout. Created by every
// rank at set-up (a collective); ask() is called by the ranks that timed out, at about the same
// time, and returns "lost rank 2 (no answer within 3 s)" or says that every rank answers.
class LivenessProbe {
 public:
  virtual ~LivenessProbe() = default;
  virtual std::string ask() = 0;
};
// "lost rank 2 (no answer within 3 s)", or, when nobody is missing, that the ranks disagree.
std::string lost_ranks_message(const std::vector<int>& lost, std::chrono::milliseconds window);
// Over a private duplicate of MPI_COMM_WORLD (MPI initialised when needed).
std::unique_ptr<LivenessProbe> make_mpi_liveness_probe(const LaunchInfo& launch,
                                                       const CommOptions& options);

// Over the TCP rendezvous address (MASTER_ADDR:MASTER_PORT), for NCCL bootstrapped without MPI.
std::unique_ptr<LivenessProbe> make_rendezvous_liveness_probe(const LaunchInfo& launch,
                                                              const CommOptions& options);

// After a failure outside an MPI communicator (NCCL under mpirun): the process must not call
// MPI_Finalize at exit, which would wait for the lost rank.
void mpi_mark_failed();

// Raises when op cannot reduce dtype (what names the collective).
void check_reduce_dtype(DType dtype, ReduceOp op, const char* what);

// Applies STRAND_COMM_TIMEOUT_S to the options.
CommOptions options_from_env(CommOptions options);

}  // namespace strand::runtime
