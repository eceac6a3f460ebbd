// Checked size arithmetic and the memory estimate checked before large allocations.
#include "core/checked.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace strand {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(Checked, OverflowIsAnErrorNamingTheOperands) {
  EXPECT_EQ(checked_mul(int64_t{1} << 31, int64_t{1} << 31, "x"), int64_t{1} << 62);
  EXPECT_THAT([] { checked_mul(int64_t{1} << 40, int64_t{1} << 40, "tensor 'w'"); },
              ThrowsMessage<Error>(HasSubstr("tensor 'w': 1099511627776 x 1099511627776")));
  EXPECT_THAT([] { checked_add(std::numeric_limits<int64_t>::max(), 1, "span"); },
              ThrowsMessage<Error>(HasSubstr("does not fit in 64 bits")));
}

TEST(Checked, MemoryEstimateBeyondTheMachineFailsNamingIt) {
  EXPECT_GT(available_memory_bytes(), 0u);
  EXPECT_NO_THROW(check_memory(1 << 20, "a small buffer"));
  EXPECT_THAT([] { check_memory(uint64_t{1} << 62, "simulating 1e12 sequences"); },
              ThrowsMessage<Error>(HasSubstr(
                  "simulating 1e12 sequences needs about 4.0 EiB of memory, more than the")));
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
}

}  // namespace
}  // namespace strand
