// FASTA through htslib: plain, gzip, bgzip; indexing; windows with padding; every bad input.
#include "data/fasta.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.h"
#include "data/encoding.h"
#include "tests/data/temp_files.h"

namespace strand::data {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using ::testing::ThrowsMessage;
using testing::write_bgzip;
using testing::write_gzip;
using testing::write_text;

const char* kFasta =
    ">chr1 first chromosome\nACGTACGTAC\nGTacgtNNAC\nGT\n"
    ">chr2\nTTTTGGGGCC\nCCAA\n"
    ">chr8:100-110\nRYACGTACGT\n";

void expect_records(const std::vector<FastaRecord>& r) {
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].name, "chr1");
  EXPECT_EQ(r[0].sequence, "ACGTACGTACGTacgtNNACGT");
  EXPECT_EQ(r[1].name, "chr2");
  EXPECT_EQ(r[1].sequence, "TTTTGGGGCCCCAA");
  EXPECT_EQ(r[2].name, "chr8:100-110");
}

TEST(Fasta, ReadsPlainGzipAndBgzipAlike) {
  TempDir dir;
  expect_records(read_fasta(write_text(dir.file("a.fa"), kFasta)));
  expect_records(read_fasta(write_gzip(dir.file("a.fa.gz"), kFasta)));
  expect_records(read_fasta(write_bgzip(dir.file("b.fa.gz"), kFasta)));
  EXPECT_EQ(FastaReader(dir.file("a.fa.gz")).compression(), Compression::kGzip);
  EXPECT_EQ(FastaReader(dir.file("b.fa.gz")).compression(), Compression::kBgzip);
}

TEST(Fasta, CrLfAndBlankLinesAccepted) {
  TempDir dir;
  auto r = read_fasta(write_text(dir.file("a.fa"), "\n>s1\r\nACGT\r\n\r\nGG\r\n>s2\r\nT\r\n"));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].sequence, "ACGTGG");
  EXPECT_EQ(r[1].sequence, "T");
}

TEST(Fasta, IndexedRandomAccessPlainAndBgzip) {
  TempDir dir;
  for (const std::string& path :
       {write_text(dir.file("a.fa"), kFasta), write_bgzip(dir.file("b.fa.gz"), kFasta)}) {
    ASSERT_FALSE(std::filesystem::exists(path + ".fai"));
    IndexedFasta fa(path);
    EXPECT_TRUE(std::filesystem::exists(path + ".fai")) << path;
    EXPECT_EQ(fa.names(), (std::vector<std::string>{"chr1", "chr2", "chr8:100-110"}));
    EXPECT_EQ(fa.lengths(), (std::vector<int64_t>{22, 14, 10}));
    EXPECT_EQ(fa.fetch("chr1", 9, 16), "CGTacgt");
    EXPECT_EQ(fa.fetch("chr8:100-110", 0, 3), "RYA");
    std::vector<uint8_t> codes(6);
    fa.fetch_codes("chr1", 12, 18, codes.data());
    EXPECT_EQ(decode_bases(codes.data(), 6), "ACGTNN");
    // A second handle reads the same bytes.
    IndexedFasta again = fa.reopen();
    EXPECT_EQ(again.fetch("chr2", 4, 12), "GGGGCCCC");
  }
}

TEST(Fasta, WindowsPadWithUnknownPastEitherEnd) {
  TempDir dir;
  IndexedFasta fa(write_text(dir.file("a.fa"), kFasta));
  std::vector<uint8_t> w(8);
  fa.fetch_window("chr2", -3, 5, w.data());
  EXPECT_EQ(decode_bases(w.data(), 8), "NNNTTTTG");
  fa.fetch_window("chr2", 10, 18, w.data());
  EXPECT_EQ(decode_bases(w.data(), 8), "CCAANNNN");
  fa.fetch_window("chr2", 20, 28, w.data());
  EXPECT_EQ(decode_bases(w.data(), 8), "NNNNNNNN");
  std::vector<uint8_t> wide(20);
  fa.fetch_window("chr2", -3, 17, wide.data());
  EXPECT_EQ(decode_bases(wide.data(), 20), "NNNTTTTGGGGCCCCAANNN");
}

TEST(Fasta, FetchOutsideRecordAndUnknownRecordAreErrors) {
  TempDir dir;
  IndexedFasta fa(write_text(dir.file("a.fa"), kFasta));
  EXPECT_THAT(
      [&] { fa.fetch("chr2", 10, 15); },
      ThrowsMessage<Error>(HasSubstr("range [10, 15) is outside record 'chr2' of length 14")));
  EXPECT_THAT([&] { fa.fetch("chrX", 0, 1); },
              ThrowsMessage<Error>(HasSubstr("has no record named 'chrX'")));
}

TEST(Fasta, PlainGzipCannotBeIndexed) {
  TempDir dir;
  const auto path = write_gzip(dir.file("a.fa.gz"), kFasta);
  EXPECT_THAT([&] { IndexedFasta fa(path); },
              ThrowsMessage<Error>(HasSubstr("plain gzip, which htslib cannot index")));
}

TEST(Fasta, MissingIndexInReadOnlyDirectoryIsAClearError) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  TempDir dir;
  std::filesystem::create_directory(dir.file("ro"));
  const auto path = write_text(dir.file("ro/a.fa"), kFasta);
  chmod(dir.file("ro").c_str(), 0555);
  EXPECT_THAT([&] { IndexedFasta fa(path); }, ThrowsMessage<Error>(HasSubstr("is not writable")));
  chmod(dir.file("ro").c_str(), 0755);
}

TEST(Fasta, RequireExistingIndexWithoutOneIsAnError) {
  TempDir dir;
  const auto path = write_text(dir.file("a.fa"), kFasta);
  EXPECT_THAT([&] { IndexedFasta fa(path, IndexCreation::kRequireExisting); },
              ThrowsMessage<Error>(HasSubstr("has no index")));
}

TEST(Fasta, StaleIndexIsRebuilt) {
  TempDir dir;
  const auto path = write_text(dir.file("a.fa"), kFasta);
  { IndexedFasta fa(path); }
  write_text(path, ">only\nACGTACGT\n");
  // Make the FASTA strictly newer than its index.
  const auto t = std::filesystem::last_write_time(path + ".fai");
  std::filesystem::last_write_time(path, t + std::chrono::seconds(5));
  IndexedFasta fa(path);
  EXPECT_EQ(fa.names(), (std::vector<std::string>{"only"}));
}

TEST(Fasta, IndexOfAReplacedFastaIsDetectedWhateverTheTimestamps) {
  TempDir dir;
  const auto path = write_text(dir.file("a.fa"), kFasta);
  { IndexedFasta fa(path); }
  const auto index_time = std::filesystem::last_write_time(path + ".fai");
  // Replaced by an older file, and by one rewritten in the same instant: the index's records no
  // longer sit where it says (the sampled check), so it is rebuilt.
  for (const char* text : {">only\nACGTACGT\n", ">chr1 x\nACGTACGTAC\nGTACGTACGT\n>z\nAC\n"}) {
    write_text(path, text);
    std::filesystem::last_write_time(path, index_time - std::chrono::seconds(100));
    IndexedFasta fa(path);
    EXPECT_EQ(fa.names()[0], text[1] == 'o' ? "only" : "chr1");
    EXPECT_EQ(fa.length(fa.names()[0]), text[1] == 'o' ? 8 : 20);
  }
  // Same layout, only older: kept (the check costs no rebuild).
  const auto before = std::filesystem::last_write_time(path + ".fai");
  std::filesystem::last_write_time(path, before - std::chrono::seconds(100));
  { IndexedFasta fa(path); }
  EXPECT_EQ(std::filesystem::last_write_time(path + ".fai"), before);
  // Refused clearly where it may not be rebuilt.
  write_text(path, ">only\nACGTACGT\n");
  std::filesystem::last_write_time(path, before - std::chrono::seconds(100));
  EXPECT_THAT([&] { IndexedFasta fa(path, IndexCreation::kRequireExisting); },
              ThrowsMessage<Error>(HasSubstr("an out-of-date index (it describes")));
}

TEST(Fasta, IndexOfAReplacedBgzipFastaIsDetectedThroughItsGzi) {
  TempDir dir;
  const auto path = write_bgzip(dir.file("a.fa.gz"), kFasta);
  { IndexedFasta fa(path); }
  const auto index_time = std::filesystem::last_write_time(path + ".fai");
  // An older file of another layout behind the same .fai and .gzi: the sampled check reads at
  // uncompressed offsets through the .gzi and finds the records moved.
  write_bgzip(path, ">chr1 x\nACGTACGTAC\nGTACGTACGT\n>z\nAC\n");
  std::filesystem::last_write_time(path, index_time - std::chrono::seconds(100));
  EXPECT_THAT([&] { IndexedFasta fa(path, IndexCreation::kRequireExisting); },
              ThrowsMessage<Error>(HasSubstr("an out-of-date index (")));
  {
    IndexedFasta fa(path);  // rebuilt
    EXPECT_EQ(fa.names(), (std::vector<std::string>{"chr1", "z"}));
    EXPECT_EQ(fa.fetch("z", 0, 2), "AC");
  }
  // Same layout, only older: kept.
  const auto before = std::filesystem::last_write_time(path + ".fai");
  std::filesystem::last_write_time(path, before - std::chrono::seconds(100));
  { IndexedFasta fa(path, IndexCreation::kRequireExisting); }
  EXPECT_EQ(std::filesystem::last_write_time(path + ".fai"), before);
  // A truncated copy (same records, last one shortened) is caught by the length check.
  write_bgzip(path, ">chr1 x\nACGTACGTAC\nGTACGTACGT\n>z\nA\n");
  std::filesystem::last_write_time(path, before - std::chrono::seconds(100));
  EXPECT_THAT([&] { IndexedFasta fa(path, IndexCreation::kRequireExisting); },
              ThrowsMessage<Error>(HasSubstr("out-of-date index (it describes")));
}

TEST(Fasta, NotFastaNoHeader) {
  TempDir dir;
  const auto path = write_text(dir.file("a.fa"), "ACGT\n>s\nACGT\n");
  EXPECT_THAT([&] { read_fasta(path); },
              ThrowsMessage<Error>(HasSubstr("is not FASTA: line 1 starts with 'ACGT'")));
  EXPECT_THAT([&] { IndexedFasta fa(path); }, ThrowsMessage<Error>(HasSubstr("is not FASTA")));
}

TEST(Fasta, NotFastaBinaryJunk) {
  TempDir dir;
  std::string junk = ">s\nAC";
  junk += std::string("\x00\x01\x02\xff\x7f", 5);
  const auto path = write_text(dir.file("junk.fa"), junk);
  EXPECT_THAT([&] { read_fasta(path); }, ThrowsMessage<Error>(HasSubstr("is not text")));
  const auto bin = write_text(dir.file("bin.fa"), std::string("\x89PNG\r\n\x1a\n\x00\x00", 10));
  EXPECT_THAT([&] { read_fasta(bin); }, ThrowsMessage<Error>(HasSubstr("line 1")));
}

TEST(Fasta, EmptyFileAndEmptySequence) {
  TempDir dir;
  EXPECT_THAT([&] { read_fasta(write_text(dir.file("e.fa"), "")); },
              ThrowsMessage<Error>(HasSubstr("holds no FASTA records")));
  const auto path = write_text(dir.file("a.fa"), ">s1\nACGT\n>s2\n>s3\nGG\n");
  EXPECT_THAT([&] { read_fasta(path); },
              ThrowsMessage<Error>(HasSubstr("line 3: record 's2' has an empty sequence")));
  EXPECT_THAT([&] { IndexedFasta fa(path); },
              ThrowsMessage<Error>(HasSubstr("record 's2' has an empty sequence")));
  const auto last = write_text(dir.file("b.fa"), ">s1\nACGT\n>s2\n");
  EXPECT_THAT([&] { read_fasta(last); },
              ThrowsMessage<Error>(HasSubstr("record 's2' has an empty sequence")));
}

TEST(Fasta, DuplicateNames) {
  TempDir dir;
  const auto path = write_text(dir.file("a.fa"), ">s1\nACGT\n>s2\nAA\n>s1 again\nGG\n");
  EXPECT_THAT([&] { read_fasta(path); },
              ThrowsMessage<Error>(HasSubstr("line 5: duplicate record name 's1' (first seen at "
                                             "line 1)")));
  EXPECT_THAT([&] { IndexedFasta fa(path); },
              ThrowsMessage<Error>(HasSubstr("duplicate record name 's1'")));
}

TEST(Fasta, NonIupacCharacterNamesLineRecordAndPosition) {
  TempDir dir;
  const auto path = write_text(dir.file("a.fa"), ">s1\nACGT\nACZT\n");
  EXPECT_THAT([&] { read_fasta(path); },
              ThrowsMessage<Error>(HasSubstr("line 3: record 's1' position 6: 'Z'")));
}

TEST(Fasta, RaggedLineWidthCannotBeIndexed) {
  TempDir dir;
  const auto path = write_text(dir.file("a.fa"), ">s1\nACGT\nAC\nACGT\n");
  EXPECT_EQ(read_fasta(path)[0].sequence, "ACGTACACGT");
  EXPECT_THAT([&] { IndexedFasta fa(path); },
              ThrowsMessage<Error>(HasSubstr("every line but the last must have the same length")));
}

TEST(Fasta, WriteFastaRoundTripsAndIndexes) {
  TempDir dir;
  std::vector<FastaRecord> recs = {{"a", std::string(130, 'A')}, {"b", "ACGTN"}};
  write_fasta(dir.file("w.fa"), recs, 50);
  const auto back = read_fasta(dir.file("w.fa"));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].sequence, recs[0].sequence);
  IndexedFasta fa(dir.file("w.fa"));
  EXPECT_EQ(fa.fetch("a", 48, 52), "AAAA");
}

}  // namespace
}  // namespace strand::data
