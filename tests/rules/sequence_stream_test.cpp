// Streamed sequences: FASTA files numbered across files, a FASTA read in label order by name (with
// the coverage errors of a loaded file), stream_source giving load_source's rows and splits, and
// the data checks on a stream equal to the same checks on the sequences in memory.
#include "rules/sequence_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "core/checked.h"
#include "core/error.h"
#include "rules/alignment.h"
#include "rules/inspect.h"
#include "rules/io.h"
#include "tests/data/temp_files.h"

namespace strand::rules {
namespace {

using strand::data::testing::TempDir;
using strand::data::testing::write_text;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::map<int64_t, std::string> rows_of(const SequenceStream& s) {
  std::map<int64_t, std::string> out;
  s.for_each([&](int64_t row, std::string_view seq) {
    EXPECT_TRUE(out.emplace(row, seq).second) << "row " << row << " twice";
  });
  return out;
}

TEST(SequenceStream, FastaFilesNumberRowsAcrossFiles) {
  TempDir dir;
  const FastaFiles files({write_text(dir.file("a.fa"), ">x\nAC\nGT\n>y\nTT\n"),
                          write_text(dir.file("b.fa"), ">z\nGGG\n")});
  EXPECT_EQ(files.size(), 3);
  EXPECT_EQ(files.names(), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(files.file_of(), (std::vector<int>{0, 0, 1}));
  EXPECT_EQ(rows_of(files), (std::map<int64_t, std::string>{{0, "ACGT"}, {1, "TT"}, {2, "GGG"}}));
}

TEST(SequenceStream, LabelledFastaReadsRowsByNameAndChecksCoverage) {
  TempDir dir;
  const auto fa = write_text(dir.file("s.fa"), ">b\nCC\n>a\nAA\n");
  const LabelledFasta ok(fa,
                         data::read_labels(write_text(dir.file("l.tsv"), "name\tt\na\t1\nb\t0\n")));
  EXPECT_EQ(rows_of(ok), (std::map<int64_t, std::string>{{0, "AA"}, {1, "CC"}}));
  const LabelledFasta missing(
      fa, data::read_labels(write_text(dir.file("m.tsv"), "name\tt\na\t1\nb\t0\nc\t1\n")));
  EXPECT_THAT([&] { rows_of(missing); },
              ThrowsMessage<Error>(HasSubstr("has labels for 1 name(s) not in")));
  const LabelledFasta extra(fa,
                            data::read_labels(write_text(dir.file("e.tsv"), "name\tt\na\t1\n")));
  EXPECT_THAT([&] { rows_of(extra); },
              ThrowsMessage<Error>(HasSubstr("1 sequence(s) in '" + fa + "' have no label")));
}

// check data's inspection and alignment diagnosis on the stream of a FASTA + labels source equal
// the same on load_source's rows in memory, under a memory limit below the FASTA's size.
TEST(SequenceStream, ChecksOnTheStreamEqualTheChecksInMemory) {
  TempDir dir;
  std::mt19937_64 rng(5);
  std::string fasta, labels = "name\tt\tsplit\n";
  std::vector<std::string> seqs;
  for (int i = 0; i < 600; ++i) {
    std::string s(200, 'A');
    for (auto& c : s) c = "ACGT"[rng() % 4];
    if (i % 2) s.replace(90, 8, "GATTACAG");  // an aligned motif in the positives
    if (i % 50 == 7) s = seqs[i - 5];         // duplicates
    seqs.push_back(s);
  }
  for (int i = 599; i >= 0; --i) fasta += ">r" + std::to_string(i) + "\n" + seqs[i] + "\n";
  for (int i = 0; i < 600; ++i)
    labels += "r" + std::to_string(i) + "\t" + std::to_string(i % 2) + "\t" +
              (i < 400   ? "train"
               : i < 500 ? "valid"
                         : "test") +
              "\n";
  data::DataSource src;
  src.fasta = write_text(dir.file("s.fa"), fasta);
  src.labels = write_text(dir.file("l.tsv"), labels);
  const InspectInput memory = inspect_input(load_source(src, true));
  const auto expected = inspect_data(memory, InspectOptions{});
  AlignmentOptions quick;
  quick.tree_rounds = 10;
  const auto expected_alignment = diagnose_alignment(memory, quick);
  EXPECT_EQ(expected["duplicates_within_split"]["exact"].get<int>(), 12);
  EXPECT_NE(expected_alignment["verdict"], "not applicable");

  auto streamed = stream_source(src, true);
  EXPECT_TRUE(streamed.rows.seqs.empty());
  EXPECT_EQ(streamed.rows.split, memory.split);
  const InspectInput in = inspect_input(std::move(streamed.rows));
  set_memory_limit(2 << 20, "--max-memory");  // 1.2 MB of sketches
  const auto j = inspect_data(in, *streamed.seqs, InspectOptions{});
  set_memory_limit(0, "");  // the alignment check holds the rows it fits: 1.5 MB of features
  const auto alignment = diagnose_alignment(in, *streamed.seqs, 200, quick);
  EXPECT_EQ(j, expected);
  EXPECT_EQ(alignment, expected_alignment);
}

}  // namespace
}  // namespace strand::rules
