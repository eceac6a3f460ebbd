// Initialisers (see init.h).
#include "layers/init.h"

#include <cmath>

#include "core/error.h"
#include "runtime/rng.h"

namespace strand::layers {

runtime::Tensor uniform_init(const runtime::Shape& shape, double bound) {
  return runtime::rand(shape, runtime::default_generator(), {}, -bound, bound);
}

runtime::Tensor fan_in_init(const runtime::Shape& shape, int64_t fan_in) {
  STRAND_CHECK(fan_in > 0, "initialisation needs a positive fan-in, got {}", fan_in);
  return uniform_init(shape, 1.0 / std::sqrt(static_cast<double>(fan_in)));
}

}  // namespace strand::layers
