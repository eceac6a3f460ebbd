// Run-directory files: scores and labels round-trip exactly; mismatched or NaN scores, unknown or
// missing names are errors that say what is wrong; labelled sequences join FASTA and labels.
#include "rules/io.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "tests/data/temp_files.h"

namespace strand::rules {
namespace {

using strand::data::testing::TempDir;
using strand::data::testing::write_text;
using ::testing::HasSubstr;

TEST(Io, ScoresRoundTripExactlyInAnyOrder) {
  TempDir dir;
  const std::vector<std::string> names = {"a", "b"}, cols = {"x", "y"};
  const std::vector<double> v = {0.1, 1.0 / 3.0, 1e-300, 0.7};
  write_scores(dir.file("s.tsv"), names, cols, v);
  EXPECT_EQ(read_scores(dir.file("s.tsv"), names, cols), v);
  // Reordered names and columns come back in the order asked for.
  EXPECT_EQ(read_scores(dir.file("s.tsv"), {"b", "a"}, {"y", "x"}),
            (std::vector<double>{0.7, 1e-300, 1.0 / 3.0, 0.1}));
}

TEST(Io, BadScoresSayWhatIsWrong) {
  TempDir dir;
  auto expect_error = [&](const std::string& text, const std::string& what) {
    write_text(dir.file("s.tsv"), text);
    try {
      read_scores(dir.file("s.tsv"), {"a", "b"}, {"x"});
      FAIL() << text;
    } catch (const Error& e) {
      EXPECT_THAT(e.message(), HasSubstr(what));
    }
  };
  expect_error("name\tz\na\t0.1\nb\t0.2\n", "missing ['x'], unexpected ['z']");
  expect_error("name\tx\na\tnan\nb\t0.2\n", "NaN");
  expect_error("name\tx\na\t0.1\n", "lack 1 labelled name(s): 'b'");
  expect_error("name\tx\na\t0.1\nb\t0.2\nc\t0.3\n", "1 name(s) without labels: 'c'");
  expect_error("name\tx\na\t0.1\na\t0.2\n", "name 'a' appears twice");
  expect_error("id\tx\n", "first column must be 'name'");
}

TEST(Io, LabelsRoundTripThroughDataReader) {
  TempDir dir;
  write_labels(dir.file("l.tsv"), {"a", "b", "c"}, TaskKind::kMultiClass, {"site"},
               {"donor", "other"}, {1, 0, 1});
  const auto t = data::read_labels(dir.file("l.tsv"));
  EXPECT_EQ(t.kind, data::LabelKind::kMultiClass);
  EXPECT_EQ(t.classes, (std::vector<std::string>{"donor", "other"}));
  EXPECT_FLOAT_EQ(t.values[0], 1.0f);
}

TEST(Io, LoadLabelledJoinsByNameAndKeepsSplits) {
  TempDir dir;
  write_text(dir.file("s.fa"), ">b\nACGT\n>a\nGGCC\n");
  write_text(dir.file("l.tsv"), "name\tt\tsplit\na\t1\ttrain\nb\t0\ttest\n");
  const auto all = load_labelled(dir.file("s.fa"), dir.file("l.tsv"));
  EXPECT_EQ(all.names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(all.seqs, (std::vector<std::string>{"GGCC", "ACGT"}));
  EXPECT_EQ(all.split, (std::vector<int>{0, 2}));
  EXPECT_EQ(split_rows(all, 2).seqs, (std::vector<std::string>{"ACGT"}));
  write_text(dir.file("l2.tsv"), "name\tt\na\t1\n");
  try {
    load_labelled(dir.file("s.fa"), dir.file("l2.tsv"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("have no label"));
  }
}

TEST(Io, LoadSourceAssignsTheTrainersSplits) {
  TempDir dir;
  std::string fasta, labels = "name\tt\n";
  for (int i = 0; i < 40; ++i) {
    const std::string name = std::string("r").append(std::to_string(i));
    fasta += ">" + name + "\nACGTACGTAC\n";
    labels += name + "\t" + std::to_string(i % 2) + "\n";
  }
  data::DataSource src;
  src.fasta = write_text(dir.file("s.fa"), fasta);
  src.labels = write_text(dir.file("l.tsv"), labels);
  EXPECT_TRUE(load_source(src, true).split.empty());  // auto without a split column
  src.split_method = "random";
  src.test_fraction = 0.25;
  const auto all = load_source(src, false);
  ASSERT_EQ(all.split.size(), 40u);
  EXPECT_EQ(std::count(all.split.begin(), all.split.end(), 2), 10);
  EXPECT_EQ(load_source(src, false).split, all.split);  // seeded
  EXPECT_TRUE(all.chroms.empty());                      // FASTA records have no chromosomes
  src.split_method = "column";
  try {
    load_source(src, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("has no split column"));
  }
  src.split_method = "halves";
  try {
    load_source(src, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("split method 'halves' is not one of"));
  }
}

TEST(Io, LoadSourceReadsBedWindowsWithChromosomeSplits) {
  TempDir dir;
  std::string ref;
  for (const char* chrom : {"chr1", "chr2", "chr8"}) {
    ref += ">" + std::string(chrom) + "\n";
    for (int i = 0; i < 10; ++i) ref += "ACGTTGCAAC";
    ref += "\n";
  }
  data::DataSource src;
  src.genome = write_text(dir.file("ref.fa"), ref);
  src.bed = write_text(dir.file("p.bed"),
                       "chr1\t10\t30\t1\nchr2\t40\t60\t0\nchr8\t0\t20\t1\nchr1\t50\t70\t0\n");
  src.window = 20;
  src.split_method = "chromosome";
  src.test_chroms = {"chr8"};
  src.valid_chroms = {"chr2"};
  const auto all = load_source(src, false);
  EXPECT_EQ(all.split, (std::vector<int>{0, 1, 2, 0}));
  EXPECT_EQ(all.seqs[2], "ACGTTGCAACACGTTGCAAC");
  EXPECT_EQ(all.labels, (std::vector<double>{1, 0, 1, 0}));
  // Genome windows carry their chromosomes (cross-validation keeps each in one fold).
  EXPECT_EQ(all.chroms, (std::vector<std::string>{"chr1", "chr2", "chr8", "chr1"}));
}

}  // namespace
}  // namespace strand::rules
