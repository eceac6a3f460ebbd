// NCCL communicator for CUDA tensors (comm.h).
#include "runtime/comm_backends.h"

namespace strand::runtime {

std::shared_ptr<Communicator> make_nccl_communicator(const LaunchInfo& launch, Device device,
                                                     CommOptions) {
  STRAND_FAIL("comm: the NCCL communicator for {} on {} is not built yet on this branch",
              launch.str(), device);
}

}  // namespace strand::runtime
