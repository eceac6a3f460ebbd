// TextReader over plain, gzip and bgzip files; tab splitting; strict number parsing.
#include "data/text_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/data/temp_files.h"

namespace strand::data {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using ::testing::ThrowsMessage;

std::vector<std::string> lines_of(const std::string& path) {
  TextReader r(path);
  std::vector<std::string> out;
  std::string_view line;
  while (r.next(line)) out.emplace_back(line);
  return out;
}

TEST(TextReader, SameLinesWhateverTheCompression) {
  TempDir dir;
  const std::string text = "a\tb\r\n\nlast without newline";
  const std::vector<std::string> want = {"a\tb", "", "last without newline"};
  EXPECT_EQ(lines_of(testing::write_text(dir.file("p.txt"), text)), want);
  EXPECT_EQ(lines_of(testing::write_gzip(dir.file("g.txt.gz"), text)), want);
  EXPECT_EQ(lines_of(testing::write_bgzip(dir.file("b.txt.gz"), text)), want);
  EXPECT_EQ(TextReader(dir.file("p.txt")).compression(), Compression::kNone);
  EXPECT_EQ(compression_name(Compression::kBgzip), "bgzip");
}

TEST(TextReader, MissingFileAndBinaryBytes) {
  TempDir dir;
  EXPECT_THAT([&] { TextReader r(dir.file("nope.txt")); },
              ThrowsMessage<Error>(HasSubstr("cannot open '" + dir.file("nope.txt") + "'")));
  const auto path = testing::write_text(dir.file("bin"), std::string("ok\nab\x03\n", 6));
  TextReader r(path);
  std::string_view line;
  ASSERT_TRUE(r.next(line));
  EXPECT_THAT([&] { r.next(line); },
              ThrowsMessage<Error>(HasSubstr("line 2: byte 0x03 at column 3 is not text")));
}

TEST(TextReader, SplitTabsKeepsEmptyFields) {
  std::vector<std::string_view> f;
  split_tabs("a\t\tb\t", f);
  EXPECT_EQ(f, (std::vector<std::string_view>{"a", "", "b", ""}));
  split_tabs("", f);
  EXPECT_EQ(f.size(), 1u);
}

TEST(TextReader, NumbersAreParsedStrictly) {
  EXPECT_DOUBLE_EQ(parse_number("-2.5e1", "label", "f", 3, "c"), -25.0);
  EXPECT_TRUE(is_number("1e-3"));
  EXPECT_FALSE(is_number("1.0x"));
  EXPECT_FALSE(is_number("nan"));
  EXPECT_FALSE(is_number(""));
  EXPECT_THAT(
      [] { parse_number("1,5", "label", "f.tsv", 3, "c"); },
      ThrowsMessage<Error>(HasSubstr("'f.tsv' line 3, column 'c': label '1,5' is not a number")));
  EXPECT_THAT([] { parse_number("", "label", "f.tsv", 3, "c"); },
              ThrowsMessage<Error>(HasSubstr("empty label")));
  EXPECT_EQ(parse_coordinate("1200", "start", "x.bed", 1), 1200);
  EXPECT_THAT([] { parse_coordinate("12.5", "end", "x.bed", 9); },
              ThrowsMessage<Error>(HasSubstr("line 9: end '12.5' is not a non-negative integer")));
}

}  // namespace
}  // namespace strand::data
