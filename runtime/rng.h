// The random number generator: a Philox 4x32-10 stream (kernels/random/philox.h) identified by
// (seed, offset). Each draw takes the next block of counters, so a run is reproducible from its
// seed, and CPU and CUDA draws of the same state are identical.
#pragma once

#include <cstdint>

#include "kernels/random/philox.h"

namespace strand::runtime {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : state_{seed, 0} {}
  uint64_t seed() const { return state_.seed; }
  uint64_t offset() const { return state_.offset; }
  // Reserves counters for n numbers and returns the state to draw them from.
  kernels::PhiloxState next(uint64_t n) {
    const kernels::PhiloxState s = state_;
    state_.offset += kernels::philox_blocks(n);
    return s;
  }
  // Checkpoints save and restore these two numbers.
  void set_state(uint64_t seed, uint64_t offset) { state_ = {seed, offset}; }

 private:
  kernels::PhiloxState state_;
};

// The process-wide generator used where none is given.
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace strand::runtime
