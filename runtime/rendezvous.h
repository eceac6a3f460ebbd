// The TCP rendezvous that bootstraps a job when no MPI carries it (Slurm without PMIx, env
// launchers): rank 0 listens on master_addr:master_port, every other rank connects and sends a
// small payload, rank 0 answers everyone with all payloads. It moves a few bytes once (the NCCL
// unique id, configuration digests); collectives themselves go through NCCL or MPI.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "runtime/launch.h"

namespace strand::runtime {

// Every rank passes its payload and gets all payloads in rank order. Ranks may start in any order
// (the others retry until rank 0 listens). Raises a strand::Error when it cannot finish within
// the timeout, naming the address and, on rank 0, the ranks never heard from; also when a rank
// reports another world size or a rank arrives twice (two jobs on one port).
std::vector<std::string> rendezvous_all_gather(const LaunchInfo& launch, const std::string& payload,
                                               std::chrono::milliseconds timeout);

// After a collective timed out: the ranks still alive meet again at the rendezvous address for at
// most `window` and learn who did not come. Returns the missing ranks, or {0} on a rank that
// cannot reach rank 0 (it cannot tell about the others). Never raises.
std::vector<int> rendezvous_missing_ranks(const LaunchInfo& launch,
                                          std::chrono::milliseconds window);

}  // namespace strand::runtime
