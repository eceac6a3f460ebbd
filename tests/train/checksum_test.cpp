// file_crc32 against the CRC-32 check value and on missing files.
#include "train/checksum.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/data/temp_files.h"

namespace strand::train {
namespace {

TEST(FileCrc32, MatchesTheStandardCheckValue) {
  data::testing::TempDir dir;
  // The CRC-32 (IEEE) check value of "123456789" is 0xcbf43926.
  EXPECT_EQ(file_crc32(data::testing::write_text(dir.file("a.txt"), "123456789")), "cbf43926");
  EXPECT_EQ(file_crc32(data::testing::write_text(dir.file("e.txt"), "")), "00000000");
}

TEST(FileCrc32, MissingFileIsAnError) {
  EXPECT_THAT([] { file_crc32("/nonexistent/strand/x.fa"); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("/nonexistent/strand/x.fa")));
}

}  // namespace
}  // namespace strand::train
