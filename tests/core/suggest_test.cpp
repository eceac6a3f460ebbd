// "Did you mean": edit distance, the closest valid name, and the tie-break for abbreviations.
#include "core/suggest.h"

#include <gtest/gtest.h>

namespace strand {
namespace {

TEST(Suggest, EditDistanceCountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("lr", ""), 2u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("epochs", "epoch"), 1u);
}

TEST(Suggest, ClosestNameAndItsTieBreak) {
  EXPECT_EQ(closest_name("epoch", {"lr", "epochs", "seed"}), "epochs");
  EXPECT_EQ(closest_name("x", {}), "");
  EXPECT_EQ(did_you_mean("x", {}), "");
  // Both are 4 edits from --rc-avg; it abbreviates --rc-average, not --rnn-algo.
  ASSERT_EQ(edit_distance("--rc-avg", "--rnn-algo"), edit_distance("--rc-avg", "--rc-average"));
  EXPECT_EQ(closest_name("--rc-avg", {"--rnn-algo", "--rc-average"}), "--rc-average");
  EXPECT_EQ(closest_name("--rc-avg", {"--rc-average", "--rnn-algo"}), "--rc-average");
  // Otherwise the first of equals.
  EXPECT_EQ(closest_name("ab", {"ax", "xb"}), "ax");
  EXPECT_EQ(did_you_mean("--rc-avg", {"--rnn-algo", "--rc-average"}),
            " (did you mean '--rc-average'?)");
}

}  // namespace
}  // namespace strand
