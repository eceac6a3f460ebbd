// Data-parallel random draws: which rows of the global batch this thread's tensors hold, so that
// ops drawing one random number per element of a batch-first tensor (dropout) draw what one
// process at the global batch would and keep this rank's rows. N ranks then train exactly as one
// process at N times the batch, dropout included.
#pragma once

#include <cstdint>

namespace strand::runtime {

// Rows [first, first + rows) of a global batch of `global` rows; global 0 means no share (the
// whole batch is here).
struct BatchShare {
  int64_t first = 0, rows = 0, global = 0;
};

const BatchShare& batch_share();  // this thread's

// Sets this thread's share for a scope (a training step) and restores the previous one.
class BatchShareGuard {
 public:
  explicit BatchShareGuard(const BatchShare& share);
  ~BatchShareGuard();
  BatchShareGuard(const BatchShareGuard&) = delete;
  BatchShareGuard& operator=(const BatchShareGuard&) = delete;

 private:
  BatchShare previous_;
};

}  // namespace strand::runtime
