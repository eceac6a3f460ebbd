// Split names: the one spelling of each split, parsed strictly.
#include "data/split_name.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"

namespace strand::data {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(Split, NamesRoundTrip) {
  for (Split s : {Split::kTrain, Split::kValid, Split::kTest}) {
    EXPECT_EQ(parse_split(split_name(s), "here"), s);
  }
}

TEST(Split, OtherSpellingsAreErrorsSayingWhere) {
  for (const char* bad : {"validation", "TEST", "dev", "", " train"}) {
    EXPECT_THAT(
        [&] { parse_split(bad, "'l.tsv' line 4, column 'split'"); },
        ThrowsMessage<Error>(HasSubstr("'l.tsv' line 4, column 'split': split '" +
                                       std::string(bad) + "' is not one of train, valid, test")));
  }
}

}  // namespace
}  // namespace strand::data
