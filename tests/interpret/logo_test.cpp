// Logos: information content and the stacked letters' heights and colours in the SVG.
#include "interpret/logo.h"

#include <gtest/gtest.h>

#include <regex>

#include "core/error.h"

namespace strand::interpret {
namespace {

TEST(Logo, InformationContentInBits) {
  EXPECT_NEAR(information_content({1, 0, 0, 0}), 2.0, 1e-12);
  EXPECT_NEAR(information_content({0.25, 0.25, 0.25, 0.25}), 0.0, 1e-12);
  EXPECT_NEAR(information_content({0.5, 0.5, 0, 0}), 1.0, 1e-12);
}

TEST(Logo, LettersAreStackedByInformationContent) {
  // Column 1: all A (2 bits, one green letter 2 bits tall); column 2: uniform (nothing drawn);
  // column 3: half C half T (1 bit: blue and red letters half a bit each).
  const Pwm pwm = {{1, 0, 0, 0}, {0.25, 0.25, 0.25, 0.25}, {0, 0.5, 0, 0.5}};
  const std::string svg = logo_svg(pwm, "test <motif>");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("test &lt;motif&gt;"), std::string::npos);
  std::regex letter(
      "fill=\"(#[0-9a-f]+)\" fill-rule=\"evenodd\" transform=\"translate\\(([0-9.]+) "
      "([0-9.]+)\\) scale\\(([0-9.]+) ([0-9.]+)\\)");
  std::vector<std::pair<std::string, double>> letters;  // colour, height in bits
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), letter); it != std::sregex_iterator();
       ++it)
    letters.emplace_back((*it)[1], std::stod((*it)[5]) * 100 / 60);  // 60 px per bit
  ASSERT_EQ(letters.size(), 3u);
  EXPECT_EQ(letters[0].first, "#109648");  // A, green
  EXPECT_NEAR(letters[0].second, 2.0, 1e-3);
  EXPECT_EQ(letters[1].first, "#255c99");  // C, blue
  EXPECT_NEAR(letters[1].second, 0.5, 1e-3);
  EXPECT_EQ(letters[2].first, "#d62839");  // T, red
  EXPECT_NEAR(letters[2].second, 0.5, 1e-3);
  EXPECT_THROW(logo_svg({}, "empty"), Error);
}

}  // namespace
}  // namespace strand::interpret
