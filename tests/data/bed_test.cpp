// BED reading, centred windows with N padding at chromosome ends, and checks against the reference.
#include "data/bed.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data/encoding.h"
#include "core/error.h"
#include "tests/data/temp_files.h"

namespace strand::data {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using ::testing::ThrowsMessage;
using testing::write_text;

TEST(Bed, ReadsTargetsWithHeaderAndNameColumn) {
  TempDir dir;
  const auto bed = read_bed(write_text(dir.file("a.bed"),
                                       "#chrom\tstart\tend\tname\tctcf\tgata\n"
                                       "track name=x\n"
                                       "chr1\t10\t20\tpeak1\t1\t0\n"
                                       "chr2\t0\t5\tpeak2\t0\t0.5\n"));
  ASSERT_EQ(bed.size(), 2);
  EXPECT_EQ(bed.target_names, (std::vector<std::string>{"ctcf", "gata"}));
  EXPECT_EQ(bed.targets, (std::vector<float>{1, 0, 0, 0.5f}));
  EXPECT_EQ(bed.intervals[1].name, "peak2");
  EXPECT_EQ(bed.intervals[1].line, 4);
  const auto plain = read_bed(write_text(dir.file("b.bed"), "chr1\t10\t20\t1\nchr1\t30\t40\t0\n"));
  EXPECT_EQ(plain.target_names, (std::vector<std::string>{"target_1"}));
  EXPECT_TRUE(plain.intervals[0].name.empty());
  const auto bare = read_bed(write_text(dir.file("c.bed"), "chr1\t10\t20\n"));
  EXPECT_EQ(bare.num_targets(), 0);
}

TEST(Bed, CentredWindows) {
  BedInterval iv{"chr1", 100, 201, "", 1};  // centre 150
  const Window w = centred_window(iv, 10);
  EXPECT_EQ(w.begin, 145);
  EXPECT_EQ(w.end, 155);
  const Window odd = centred_window(iv, 7);
  EXPECT_EQ(odd.end - odd.begin, 7);
  EXPECT_EQ(odd.begin, 147);
  EXPECT_THAT([&] { centred_window(iv, 0); }, ThrowsMessage<Error>(HasSubstr("must be positive")));
}

TEST(Bed, WindowsAtChromosomeEndsArePaddedWithN) {
  TempDir dir;
  IndexedFasta fa(write_text(dir.file("g.fa"), ">chr1\nACGTACGTAC\n"));
  const auto w = centred_window({"chr1", 0, 2, "", 1}, 8);  // centre 1: [-3, 5)
  std::vector<uint8_t> codes(8);
  fa.fetch_window("chr1", w.begin, w.end, codes.data());
  EXPECT_EQ(decode_bases(codes.data(), 8), "NNNACGTA");
}

TEST(Bed, IntervalPastChromosomeEnd) {
  TempDir dir;
  IndexedFasta fa(write_text(dir.file("g.fa"), ">chr1\nACGTACGTAC\n>chr2\nAC\n"));
  const auto bed = read_bed(write_text(dir.file("a.bed"), "chr1\t0\t5\nchr1\t8\t12\n"));
  EXPECT_THAT([&] { check_against_reference(bed, fa); },
              ThrowsMessage<Error>(
                  HasSubstr("line 2: interval chr1:8-12 ends past the end of chr1 (length 10")));
}

TEST(Bed, UnknownChromosomes) {
  TempDir dir;
  IndexedFasta fa(write_text(dir.file("g.fa"), ">chr1\nACGTACGTAC\n"));
  const auto bed = read_bed(write_text(
      dir.file("a.bed"), "chr1\t0\t5\nchrUn\t0\t5\nchr1\t1\t2\nchrM\t0\t1\nchrUn\t2\t3\n"));
  EXPECT_THAT(
      [&] { check_against_reference(bed, fa); },
      ThrowsMessage<Error>(HasSubstr("3 interval(s) on chromosome(s) not in the reference '" +
                                     dir.file("g.fa") + "' (first at line 2): 'chrUn', 'chrM'")));
}

TEST(Bed, MalformedLines) {
  TempDir dir;
  EXPECT_THAT([&] { read_bed(write_text(dir.file("a"), "chr1 0 5\n")); },
              ThrowsMessage<Error>(HasSubstr("(columns separated by spaces?)")));
  EXPECT_THAT([&] { read_bed(write_text(dir.file("b"), "chr1\t-4\t5\n")); },
              ThrowsMessage<Error>(HasSubstr("line 1: start '-4' is not a non-negative integer")));
  EXPECT_THAT([&] { read_bed(write_text(dir.file("c"), "chr1\t5\t5\n")); },
              ThrowsMessage<Error>(HasSubstr("is empty or reversed")));
  EXPECT_THAT([&] { read_bed(write_text(dir.file("d"), "chr1\t1\t5\t1\nchr1\t1\t5\n")); },
              ThrowsMessage<Error>(HasSubstr("line 2: 3 columns where the first interval has 4")));
  EXPECT_THAT([&] { read_bed(write_text(dir.file("e"), "chr1\t1\t5\t1\nchr1\t1\t5\tnan\n")); },
              ThrowsMessage<Error>(HasSubstr("line 2, column 'target_1': target is NaN")));
  EXPECT_THAT([&] { read_bed(write_text(dir.file("f"), "#only a comment\n")); },
              ThrowsMessage<Error>(HasSubstr("holds no BED intervals")));
}

}  // namespace
}  // namespace strand::data
