// Datasets from FASTA + labels (indexed, gzip), BED + reference, and in-memory records.
#include "data/dataset.h"

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
using testing::write_gzip;
using testing::write_text;

const char* kFasta = ">chr1:0-8\nACGTACGT\n>chr2:5-13\nTTTTGGGG\n>chr8:1-9\nNNACgtac\n";
const char* kLabels = "name\tt1\tt2\nchr8:1-9\t1\t0\nchr1:0-8\t0\t1\nchr2:5-13\t1\t1\n";

std::string read_text(const Dataset& d, int64_t i) {
  std::vector<uint8_t> codes(d.length());
  d.read(i, codes.data(), nullptr);
  return decode_bases(codes.data(), d.length());
}

TEST(Dataset, FromIndexedFastaInLabelOrder) {
  TempDir dir;
  const auto d = Dataset::from_fasta(write_text(dir.file("s.fa"), kFasta),
                                     write_text(dir.file("l.tsv"), kLabels));
  ASSERT_EQ(d.size(), 3);
  EXPECT_EQ(d.length(), 8);
  EXPECT_EQ(d.num_outputs(), 2);
  EXPECT_EQ(d.kind(), LabelKind::kMultiLabel);
  EXPECT_EQ(d.name(0), "chr8:1-9");
  EXPECT_EQ(d.chromosome(0), "chr8");
  EXPECT_EQ(read_text(d, 0), "NNACGTAC");
  EXPECT_EQ(read_text(d, 2), "TTTTGGGG");
  float labels[2];
  d.read(1, nullptr, labels);
  EXPECT_EQ(labels[0], 0.0f);
  EXPECT_EQ(labels[1], 1.0f);
}

TEST(Dataset, FromPlainGzipLoadsCodes) {
  TempDir dir;
  const auto d = Dataset::from_fasta(write_gzip(dir.file("s.fa.gz"), kFasta),
                                     write_text(dir.file("l.tsv"), kLabels));
  EXPECT_EQ(read_text(d, 0), "NNACGTAC");
  EXPECT_EQ(read_text(d, 1), "ACGTACGT");
}

TEST(Dataset, RaggedLengthsRejectedOrPadded) {
  TempDir dir;
  const auto fa = write_text(dir.file("s.fa"), ">a\nACGTACGT\n>b\nACG\n>c\nTTTTTTTT\n");
  const auto lab = write_text(dir.file("l.tsv"), "name\tt\na\t1\nb\t0\nc\t1\n");
  EXPECT_THAT([&] { Dataset::from_fasta(fa, lab); },
              ThrowsMessage<Error>(HasSubstr("sequences have different lengths (8 bp: 2 record(s) "
                                             "(e.g. 'a'), 3 bp: 1 record(s) (e.g. 'b'))")));
  const auto d = Dataset::from_fasta(fa, lab, {LabelKind::kAuto, LengthPolicy::kPadToMax});
  EXPECT_EQ(read_text(d, 1), "ACGNNNNN");
}

TEST(Dataset, LabelsAndSequencesMustMatch) {
  TempDir dir;
  const auto fa = write_text(dir.file("s.fa"), kFasta);
  EXPECT_THAT(
      [&] { Dataset::from_fasta(fa, write_text(dir.file("a.tsv"), "name\tt\nchr1:0-8\t1\n")); },
      ThrowsMessage<Error>(HasSubstr("2 sequence(s) in '" + fa + "' have no label")));
  EXPECT_THAT(
      [&] {
        Dataset::from_fasta(fa,
                            write_text(dir.file("b.tsv"), std::string(kLabels) + "ghost\t1\t1\n"));
      },
      ThrowsMessage<Error>(HasSubstr("has labels for 1 name(s) not in '" + fa + "': 'ghost'")));
}

TEST(Dataset, FromBedWindowsAndTargets) {
  TempDir dir;
  const auto ref = write_text(dir.file("g.fa"), ">chr1\nAAAACCCCGGGGTTTT\n>chr2\nACGTACGTAC\n");
  const auto bed = write_text(dir.file("p.bed"), "chr1\t4\t8\t1\t0\nchr2\t0\t2\t0\t1\n");
  const auto d = Dataset::from_bed(bed, ref, 6);
  ASSERT_EQ(d.size(), 2);
  EXPECT_EQ(d.kind(), LabelKind::kMultiLabel);
  EXPECT_EQ(d.name(0), "chr1:4-8");
  EXPECT_EQ(d.chromosome(1), "chr2");
  EXPECT_EQ(read_text(d, 0), "ACCCCG");  // centre 6: [3, 9)
  EXPECT_EQ(read_text(d, 1), "NNACGT");  // centre 1: [-2, 4)
  EXPECT_EQ(d.labels(1)[1], 1.0f);
  EXPECT_THAT([&] { Dataset::from_bed(write_text(dir.file("x.bed"), "chr3\t0\t2\n"), ref, 4); },
              ThrowsMessage<Error>(HasSubstr("not in the reference")));
}

TEST(Dataset, FromRecordsMatchesFile) {
  TempDir dir;
  const auto labels = read_labels(write_text(dir.file("l.tsv"), kLabels));
  const auto d = Dataset::from_records(read_fasta(write_text(dir.file("s.fa"), kFasta)), labels);
  EXPECT_EQ(read_text(d, 0), "NNACGTAC");
  EXPECT_THAT(
      [&] {
        Dataset::from_records({{"chr1:0-8", "ACGTACGT"}}, labels);
      },
      ThrowsMessage<Error>(HasSubstr("has labels for 2 name(s) not in")));
}

TEST(Dataset, BadBaseInIndexedFastaSurfacesOnRead) {
  TempDir dir;
  const auto fa = write_text(dir.file("s.fa"), ">a\nACGT\n>b\nACGT\n");
  const auto lab = write_text(dir.file("l.tsv"), "name\tt\na\t1\nb\t0\n");
  { IndexedFasta index(fa); }
  write_text(fa, ">a\nACGT\n>b\nAC!T\n");  // same layout, index still valid
  std::filesystem::last_write_time(fa, std::filesystem::last_write_time(fa + ".fai"));
  const auto d = Dataset::from_fasta(fa, lab);
  EXPECT_THAT([&] { read_text(d, 1); },
              ThrowsMessage<Error>(HasSubstr("record 'b' position 2: '!'")));
}

}  // namespace
}  // namespace strand::data
