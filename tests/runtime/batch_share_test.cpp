// BatchShare: dropout on a rank's rows of a global batch draws exactly the mask one process draws
// for those rows of the whole batch (aligned or not to Philox blocks), and the generator advances
// alike; bad shares are errors.
#include "runtime/batch_share.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/ops.h"
#include "runtime/rng.h"

namespace strand::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(BatchShare, DropoutOnSharesEqualsDropoutOnTheGlobalBatch) {
  // 7 rows of 5 x 3 elements: rows start at elements 0, 15, 30, ... (not Philox-block aligned).
  const Tensor x = ones({7, 5, 3});
  Generator one(21);
  one.set_state(21, 8);
  const auto whole = dropout(x, 0.5, true, one).to_vector<float>();
  // Shares 3, 2, 2 rows and an empty one, as a last batch over four ranks.
  std::vector<float> joined;
  int64_t first = 0;
  for (int64_t rows : {3, 2, 2, 0}) {
    Generator gen(21);
    gen.set_state(21, 8);
    const BatchShareGuard guard({.first = first, .rows = rows, .global = 7});
    if (rows > 0) {
      const auto part = dropout(x.slice(0, first, first + rows), 0.5, true, gen).to_vector<float>();
      joined.insert(joined.end(), part.begin(), part.end());
      EXPECT_EQ(gen.offset(), one.offset());
    }
    first += rows;
  }
  EXPECT_EQ(joined, whole);
  int zeros_seen = 0;
  for (float v : whole) zeros_seen += v == 0;
  EXPECT_GT(zeros_seen, 20);  // a real mask, not all ones
  EXPECT_LT(zeros_seen, 85);
  EXPECT_EQ(batch_share().global, 0);  // restored after the guards
}

TEST(BatchShare, TensorsWithOtherLeadingSizesDrawAsUsual) {
  const BatchShareGuard guard({.first = 2, .rows = 2, .global = 6});
  Generator a(5), b(5);
  const Tensor x = ones({3, 8});  // not 2 rows: not the batch
  EXPECT_EQ(dropout(x, 0.3, true, a).to_vector<float>(), [&] {
    const BatchShareGuard none({});
    return dropout(x, 0.3, true, b).to_vector<float>();
  }());
}

TEST(BatchShare, BadShare) {
  EXPECT_THAT([] { BatchShareGuard g({.first = 3, .rows = 4, .global = 6}); },
              ThrowsMessage<Error>(HasSubstr("rows [3, 7) do not lie in a global batch of 6")));
}

}  // namespace
}  // namespace strand::runtime
