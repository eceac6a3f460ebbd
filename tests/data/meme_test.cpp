// MEME motif files: round trip, the shipped JASPAR file, lookups, and malformed input named by
// line.
#include "data/meme.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/data/temp_files.h"

namespace strand::data {
namespace {

using ::testing::HasSubstr;

const std::string kJaspar =
    std::string(STRAND_SOURCE_DIR) + "/data/motifs/JASPAR_CORE_vertebrates_nonredundant.meme";

std::string error_of(const std::string& text) {
  try {
    parse_meme(text, "m.meme");
  } catch (const Error& e) {
    return e.message();
  }
  return "no error";
}

const char* kHeader = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n";

TEST(Meme, RoundTripKeepsNamesMatricesAndBackground) {
  Motif a;
  a.name = "m1";
  a.alt_name = "FOO";
  a.nsites = 12;
  a.pwm = {{0.1, 0.2, 0.3, 0.4}, {1, 0, 0, 0}, {0.25, 0.25, 0.25, 0.25}};
  Motif b = motif_from_consensus("m2", "GATA");
  const std::array<double, 4> bg = {0.3, 0.2, 0.2, 0.3};
  testing::TempDir dir;
  write_meme(dir.file("x.meme"), {a, b}, bg);
  const MemeFile back = read_meme(dir.file("x.meme"));
  ASSERT_EQ(back.motifs.size(), 2u);
  EXPECT_EQ(back.motifs[0].name, "m1");
  EXPECT_EQ(back.motifs[0].alt_name, "FOO");
  EXPECT_EQ(back.motifs[0].nsites, 12);
  EXPECT_EQ(back.motifs[1].name, "m2");
  EXPECT_EQ(back.motifs[1].alt_name, "");
  for (size_t k = 0; k < 2; ++k) {
    const auto& want = k == 0 ? a.pwm : b.pwm;
    ASSERT_EQ(back.motifs[k].pwm.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i)
      for (int c = 0; c < 4; ++c) EXPECT_NEAR(back.motifs[k].pwm[i][c], want[i][c], 1e-6);
  }
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(back.background[c], bg[c], 1e-4);
}

TEST(Meme, ReadsWithoutWidthAndSkipsLogOddsAndText) {
  const std::string text = std::string("MEME version 5.5.0\n\nsome release notes\n") +
                           "ALPHABET= ACGT\nBackground letter frequencies (from x):\n"
                           "A 0.3 C 0.2\nG 0.2 T 0.3\n\n"
                           "MOTIF one\nlog-odds matrix: alength= 4 w= 2\n 1 2 3 4\n 1 2 3 4\n"
                           "letter-probability matrix: alength= 4\n 0.5 0.5 0 0\n 0 0 0.5 0.5\n"
                           "\nURL http://example.org\nMOTIF two alt\n"
                           "letter-probability matrix: alength=4 w=1 nsites=3\n 0 0 0 1\n";
  const MemeFile f = parse_meme(text, "m.meme");
  ASSERT_EQ(f.motifs.size(), 2u);
  EXPECT_EQ(f.motifs[0].length(), 2);
  EXPECT_DOUBLE_EQ(f.motifs[0].pwm[1][2], 0.5);
  EXPECT_EQ(f.motifs[1].alt_name, "alt");
  EXPECT_EQ(f.motifs[1].nsites, 3);
  EXPECT_DOUBLE_EQ(f.background[0], 0.3);
}

TEST(Meme, MalformedInputIsNamedByLine) {
  const std::string h = kHeader;
  const std::string mat = "letter-probability matrix: alength= 4 w= 2\n";
  EXPECT_THAT(error_of(""), HasSubstr("m.meme:1: empty file"));
  EXPECT_THAT(error_of("hello\n"), HasSubstr("m.meme:1: not a MEME motif file"));
  EXPECT_THAT(error_of(h), HasSubstr("no MOTIF"));
  EXPECT_THAT(error_of(h + "MOTIF a\n" + mat + "0.5 0.5 0 0\n0.5 0.5 0\n"),
              HasSubstr("m.meme:10: motif 'a': a matrix row needs 4 values"));
  EXPECT_THAT(error_of(h + "MOTIF a\n" + mat + "0.5 0.5 0 0\n0.5 0.5 x 0\n"),
              HasSubstr("m.meme:10: motif 'a': 'x' is not a probability"));
  EXPECT_THAT(error_of(h + "MOTIF a\n" + mat + "0.5 0.5 0 0\n0.5 0.7 0 0\n"),
              HasSubstr("m.meme:10: motif 'a': row 2 sums to 1.2"));
  EXPECT_THAT(error_of(h + "MOTIF a\n" + mat + "0.5 0.5 0 0\n\nMOTIF b\n"),
              HasSubstr("m.meme:8: motif 'a': w= 2 but 1 rows"));
  EXPECT_THAT(error_of(h + "MOTIF a\nMOTIF b\n" + mat + "1 0 0 0\n1 0 0 0\n"),
              HasSubstr("m.meme:7: motif 'a' has no letter-probability matrix"));
  EXPECT_THAT(error_of(h + "MOTIF a\n" + mat + "1 0 0 0\n1 0 0 0\nMOTIF a\n"),
              HasSubstr("m.meme:11: motif 'a' appears twice"));
  EXPECT_THAT(error_of("MEME version 4\nALPHABET= ACDEFGHIKLMNPQRSTVWY\n"),
              HasSubstr("m.meme:2: alphabet"));
  EXPECT_THAT(error_of(h + "MOTIF a\nletter-probability matrix: alength= 20 w= 1\n"),
              HasSubstr("m.meme:8: motif 'a': alength= 20"));
  EXPECT_THAT(error_of(h + "MOTIF a\n1 0 0 0\n"), HasSubstr("m.meme:8: matrix row outside"));
  EXPECT_THAT(error_of("MEME version 4\nBackground letter frequencies\nA 0.3 C x G 0.2 T 0.3\n"),
              HasSubstr("m.meme:3: background frequency 'x'"));
  testing::TempDir dir;
  EXPECT_THROW(read_meme(dir.file("missing.meme")), Error);
}

TEST(Meme, ShippedJasparFileLoadsAndFindsMotifs) {
  const MemeFile f = read_meme(kJaspar);
  EXPECT_EQ(f.motifs.size(), 1019u);
  const Motif& ctcf = find_motif(f.motifs, "MA0139.2", kJaspar);
  EXPECT_EQ(ctcf.alt_name, "CTCF");
  EXPECT_EQ(ctcf.length(), 15);
  EXPECT_EQ(find_motif(f.motifs, "gata1", kJaspar).name, "MA0035.5");
  EXPECT_EQ(find_motif(f.motifs, "SPI1", kJaspar).name, "MA0080.7");
  EXPECT_THAT([&] { find_motif(f.motifs, "CTCF", kJaspar); },
              ::testing::ThrowsMessage<Error>(HasSubstr("shared by 3 motifs")));
  EXPECT_THAT([&] { find_motif(f.motifs, "NOPE", kJaspar); },
              ::testing::ThrowsMessage<Error>(HasSubstr("no motif 'NOPE'")));
}

}  // namespace
}  // namespace strand::data
