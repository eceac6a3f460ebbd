// Internal to runtime/comm*: the backend factories make_communicator dispatches to, and checks
// they share. Not part of the public API (include runtime/comm.h).
#pragma once

#include <memory>
#include <string>

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

// Raises when op cannot reduce dtype (what names the collective).
void check_reduce_dtype(DType dtype, ReduceOp op, const char* what);

// Applies STRAND_COMM_TIMEOUT_S to the options.
CommOptions options_from_env(CommOptions options);

}  // namespace strand::runtime
