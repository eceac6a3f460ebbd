// Which devices may run collective kernels (NCCL) beside strand's own, so kernels that need the
// whole GPU can step aside. The cooperative persistent RNN kernels put one block on every SM and
// meet at grid-wide barriers: an NCCL kernel already holding SMs while it waits for a peer rank can
// keep some of those blocks from ever starting, and then both wait forever (the peer waits on its
// own persistent kernel the same way). While a communicator lives on a device, RNNs there take the
// per-step GEMM path instead.
#pragma once

#include <cstdint>

namespace strand::kernels {

// Counts itself on `device` while it lives (one per NCCL communicator).
class ConcurrentCollectives {
 public:
  explicit ConcurrentCollectives(int device);
  ~ConcurrentCollectives();
  ConcurrentCollectives(const ConcurrentCollectives&) = delete;
  ConcurrentCollectives& operator=(const ConcurrentCollectives&) = delete;

 private:
  int device_;
};

// How many live communicators use `device`.
int concurrent_collectives(int device);

// Whether an RNN of this hidden size may take the persistent path: latency-bound sizes only (above
// 512 the per-step GEMM has enough work per step to fill the GPU), and never beside collectives.
bool rnn_persistent_allowed(int64_t hidden_size, int concurrent_collectives);

}  // namespace strand::kernels
