// This thread's share of the global batch (batch_share.h).
#include "runtime/batch_share.h"

#include "core/error.h"

namespace strand::runtime {
namespace {

thread_local BatchShare current;

}  // namespace

const BatchShare& batch_share() { return current; }

BatchShareGuard::BatchShareGuard(const BatchShare& share) : previous_(current) {
  STRAND_CHECK(share.global == 0 || (share.first >= 0 && share.rows >= 0 &&
                                     share.first + share.rows <= share.global),
               "batch share: rows [{}, {}) do not lie in a global batch of {}", share.first,
               share.first + share.rows, share.global);
  current = share;
}

BatchShareGuard::~BatchShareGuard() { current = previous_; }

}  // namespace strand::runtime
