// MPI communicator for CPU tensors (comm.h).
#include "runtime/comm_backends.h"

namespace strand::runtime {

std::shared_ptr<Communicator> make_mpi_communicator(const LaunchInfo& launch, CommOptions) {
  STRAND_FAIL("comm: the MPI communicator for {} is not built yet on this branch", launch.str());
}

std::shared_ptr<Communicator> make_nccl_communicator(const LaunchInfo& launch, Device device,
                                                     CommOptions) {
  STRAND_FAIL("comm: the NCCL communicator for {} on {} is not built yet on this branch",
              launch.str(), device);
}

}  // namespace strand::runtime
