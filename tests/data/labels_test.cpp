// Labels TSV: kinds inferred and forced, split column, coverage against FASTA names, bad input.
#include "data/labels.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "tests/data/temp_files.h"

namespace strand::data {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using ::testing::ThrowsMessage;
using testing::write_gzip;
using testing::write_text;

TEST(Labels, BinaryInferred) {
  TempDir dir;
  const auto t = read_labels(write_text(dir.file("l.tsv"), "name\tbound\na\t1\nb\t0\nc\t1\n"));
  EXPECT_EQ(t.kind, LabelKind::kBinary);
  EXPECT_EQ(t.names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(t.columns, (std::vector<std::string>{"bound"}));
  EXPECT_EQ(t.values, (std::vector<float>{1, 0, 1}));
  EXPECT_FALSE(t.has_split());
  EXPECT_EQ(t.find("b"), 1);
  EXPECT_EQ(t.find("zz"), -1);
}

TEST(Labels, MultiLabelWithSplitColumnAnywhere) {
  TempDir dir;
  const auto t = read_labels(
      write_gzip(dir.file("l.tsv.gz"),
                 "split\tname\tctcf\tgata\ntrain\ta\t1\t0\ntest\tb\t0\t0\nvalid\tc\t1\t1\n"));
  EXPECT_EQ(t.kind, LabelKind::kMultiLabel);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"ctcf", "gata"}));
  EXPECT_EQ(t.values, (std::vector<float>{1, 0, 0, 0, 1, 1}));
  EXPECT_EQ(t.splits, (std::vector<Split>{Split::kTrain, Split::kTest, Split::kValid}));
  EXPECT_EQ(t.row(2)[1], 1.0f);
}

TEST(Labels, RegressionInferredAndMultiClassFromNames) {
  TempDir dir;
  const auto r =
      read_labels(write_text(dir.file("r.tsv"), "name\texpr\tacc\na\t2.5\t0\nb\t-1e-3\t1\n"));
  EXPECT_EQ(r.kind, LabelKind::kRegression);
  EXPECT_FLOAT_EQ(r.values[2], -1e-3f);
  const auto m =
      read_labels(write_text(dir.file("m.tsv"), "name\tcell\na\tliver\nb\theart\nc\tliver\n"));
  EXPECT_EQ(m.kind, LabelKind::kMultiClass);
  EXPECT_EQ(m.classes, (std::vector<std::string>{"heart", "liver"}));
  EXPECT_EQ(m.values, (std::vector<float>{1, 0, 1}));
}

TEST(Labels, ForcedKinds) {
  TempDir dir;
  const auto path = write_text(dir.file("l.tsv"), "name\tc\na\t2\nb\t10\nc\t0\n");
  EXPECT_EQ(read_labels(path).kind, LabelKind::kRegression);
  const auto m = read_labels(path, LabelKind::kMultiClass);
  EXPECT_EQ(m.classes, (std::vector<std::string>{"0", "2", "10"}));  // numeric order
  EXPECT_EQ(m.values, (std::vector<float>{1, 2, 0}));
  const auto bin = write_text(dir.file("b.tsv"), "name\tc\na\t1\nb\t0\n");
  EXPECT_EQ(read_labels(bin, LabelKind::kRegression).kind, LabelKind::kRegression);
  EXPECT_THAT(
      [&] { read_labels(path, LabelKind::kBinary); },
      ThrowsMessage<Error>(HasSubstr("line 2, column 'c': binary labels must be 0 or 1, got '2'")));
  EXPECT_EQ(parse_label_kind("multi-label"), LabelKind::kMultiLabel);
  EXPECT_THAT([] { parse_label_kind("ordinal"); },
              ThrowsMessage<Error>(HasSubstr("label kind 'ordinal' is not one of")));
}

TEST(Labels, NonNumericLabelNamesFileLineColumn) {
  TempDir dir;
  const auto path = write_text(dir.file("l.tsv"), "name\tt1\tt2\na\t1\t0\nb\t0\tyes\n");
  EXPECT_THAT(
      [&] { read_labels(path); },
      ThrowsMessage<Error>(HasSubstr("l.tsv' line 3, column 't2': label 'yes' is not a number")));
}

TEST(Labels, MissingBinaryAndMultiLabelValuesAreNaN) {
  TempDir dir;
  for (const std::string v : {"NaN", "nan", "NA", "", "n/a"}) {
    const auto path = write_text(dir.file("l.tsv"), "name\tt\tu\na\t1\t0\nb\t" + v + "\t1\n");
    const LabelTable t = read_labels(path);
    EXPECT_EQ(t.kind, LabelKind::kMultiLabel) << v;
    EXPECT_EQ(t.values[0], 1.0f);
    EXPECT_TRUE(std::isnan(t.values[2])) << v;
    EXPECT_EQ(t.values[3], 1.0f);
  }
  const auto one = write_text(dir.file("b.tsv"), "name\tt\na\t1\nb\tNA\nc\t0\n");
  const LabelTable b = read_labels(one, LabelKind::kBinary);
  EXPECT_EQ(b.kind, LabelKind::kBinary);
  EXPECT_TRUE(std::isnan(b.values[1]));
}

TEST(Labels, MissingMultiClassOrRegressionLabelsRejected) {
  TempDir dir;
  const auto reg = write_text(dir.file("r.tsv"), "name\tt\na\t1.5\nb\tNA\n");
  EXPECT_THAT([&] { read_labels(reg); },
              ThrowsMessage<Error>(HasSubstr(
                  "line 3, column 't': label 'NA' is missing or NaN; missing labels are allowed "
                  "only for binary and multi-label tasks (the loss and metrics skip them), and "
                  "these labels are regression")));
  const auto cls = write_text(dir.file("c.tsv"), "name\tt\na\tliver\nb\t\n");
  EXPECT_THAT([&] { read_labels(cls); },
              ThrowsMessage<Error>(HasSubstr("line 3, column 't': label '' is missing or NaN")));
  const auto inf = write_text(dir.file("i.tsv"), "name\tt\tu\na\t1\tinf\n");
  EXPECT_THAT([&] { read_labels(inf); },
              ThrowsMessage<Error>(HasSubstr(
                  "line 2, column 'u': label 'inf' is not a number but the other labels are")));
  EXPECT_THAT([&] { read_labels(inf, LabelKind::kRegression); },
              ThrowsMessage<Error>(HasSubstr("line 2, column 'u': label 'inf' is not finite")));
}

TEST(Labels, BadSplitValue) {
  TempDir dir;
  const auto path =
      write_text(dir.file("l.tsv"), "name\tt\tsplit\na\t1\ttrain\nb\t0\tvalidation\n");
  EXPECT_THAT([&] { read_labels(path); },
              ThrowsMessage<Error>(HasSubstr(
                  "line 3, column 'split': split 'validation' is not one of train, valid, test")));
}

TEST(Labels, HeaderProblems) {
  TempDir dir;
  EXPECT_THAT([&] { read_labels(write_text(dir.file("a"), "id\tt\na\t1\n")); },
              ThrowsMessage<Error>(HasSubstr("header has no 'name' column")));
  EXPECT_THAT([&] { read_labels(write_text(dir.file("b"), "name\tsplit\na\ttrain\n")); },
              ThrowsMessage<Error>(HasSubstr("no label column besides name and split")));
  EXPECT_THAT([&] { read_labels(write_text(dir.file("c"), "name\tt\tt\na\t1\t1\n")); },
              ThrowsMessage<Error>(HasSubstr("column 't' appears twice")));
  EXPECT_THAT([&] { read_labels(write_text(dir.file("d"), "")); },
              ThrowsMessage<Error>(HasSubstr("is empty")));
  EXPECT_THAT([&] { read_labels(write_text(dir.file("e"), "name\tt\n")); },
              ThrowsMessage<Error>(HasSubstr("has a header but no rows")));
}

TEST(Labels, RowProblems) {
  TempDir dir;
  EXPECT_THAT(
      [&] { read_labels(write_text(dir.file("a"), "name\tt\na\t1\nb\t0\t1\n")); },
      ThrowsMessage<Error>(HasSubstr("line 3: 3 tab-separated fields where the header has 2")));
  EXPECT_THAT([&] { read_labels(write_text(dir.file("b"), "name\tt\na\t1\nb\t0\na\t1\n")); },
              ThrowsMessage<Error>(HasSubstr("line 4: name 'a' appears twice (first at line 2)")));
  EXPECT_THAT([&] { read_labels(write_text(dir.file("c"), "name\tt\nx\tliver\n")); },
              ThrowsMessage<Error>(HasSubstr("at least two classes")));
  EXPECT_THAT(
      [&] { read_labels(write_text(dir.file("d"), "name\tt\tu\nx\t1\t0\n"), LabelKind::kBinary); },
      ThrowsMessage<Error>(HasSubstr("binary labels take one column, got 2")));
}

TEST(Labels, CoverageSaysHowManyAndNamesTheFirstFew) {
  TempDir dir;
  std::string text = "name\tt\n";
  for (int i = 0; i < 8; ++i) text += "s" + std::to_string(i) + "\t1\n";
  const auto t = read_labels(write_text(dir.file("l.tsv"), text));
  EXPECT_NO_THROW(
      check_label_coverage(t, {"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"}, "x.fa"));
  EXPECT_THAT(
      [&] {
        check_label_coverage(t, {"s0", "s1"}, "x.fa");
      },
      ThrowsMessage<Error>(HasSubstr(
          "has labels for 6 name(s) not in 'x.fa': 's2', 's3', 's4', 's5', 's6' and 1 more")));
  std::vector<std::string> seqs = {"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "u1", "u2"};
  EXPECT_THAT([&] { check_label_coverage(t, seqs, "x.fa"); },
              ThrowsMessage<Error>(HasSubstr("2 sequence(s) in 'x.fa' have no label in")));
}

}  // namespace
}  // namespace strand::data
