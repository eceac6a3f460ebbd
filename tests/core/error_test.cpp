// strand::Error and STRAND_CHECK: messages carry the formatted values and the place of failure.
#include "core/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace strand {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(Error, FormatReplacesPlaceholdersInOrder) {
  EXPECT_EQ(format("a {} b {} c", 1, "two"), "a 1 b two c");
  EXPECT_EQ(format("shape {}", std::vector<int64_t>{2, 3}), "shape [2, 3]");
  EXPECT_EQ(format("no placeholders"), "no placeholders");
  EXPECT_EQ(format("{} and {}", true, 2.5), "true and 2.5");
}

TEST(Error, CheckRaisesWithMessageAndWhere) {
  try {
    STRAND_CHECK(1 + 1 == 3, "arithmetic is broken: {} != {}", 2, 3);
    FAIL() << "STRAND_CHECK did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "arithmetic is broken: 2 != 3");
    // The location is the project-relative path, whatever folder the checkout is in.
    EXPECT_THAT(e.where(), StartsWith("tests/core/error_test.cpp:"));
    EXPECT_THAT(e.what(), HasSubstr("arithmetic is broken"));
  }
}

// A message quoting user input (a config key, a sequence name) stays one line: control
// characters become escapes, tabs stay.
TEST(Error, MessagesAreOneLineWhateverTheyQuote) {
  try {
    STRAND_CHECK(false, "unknown key '{}'", std::string("\noch\r\x01\tx"));
    FAIL() << "STRAND_CHECK did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "unknown key '\\noch\\r\\x01\tx'");
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
  EXPECT_EQ(Error("plain message", "here").message(), "plain message");
}

TEST(Error, CheckPassesSilently) { EXPECT_NO_THROW(STRAND_CHECK(true, "never {}", 1)); }

}  // namespace
}  // namespace strand
