#include "report/plots.h"

#include <gtest/gtest.h>

#include <regex>

#include "core/error.h"

namespace strand::report {
namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
  return n;
}

TEST(Plots, LinePlotIsOneSvgWithAxesLabelsLegendAndBand) {
  LinePlot p{"ROC: ctcf", "false positive rate", "true positive rate", {}, true, true};
  Series curve = line("model", {0, 0.5, 1}, {0, 0.8, 1});
  curve.lo = {0, 0.7, 1};
  curve.hi = {0, 0.9, 1};
  p.series.push_back(curve);
  p.series.push_back(line("chance", {0, 1}, {0, 1}, Series::Style::kDashed));
  const std::string svg = line_plot(p);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u) << "no XML prolog: the SVG is inlined in HTML";
  EXPECT_EQ(count(svg, "<svg"), 1u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(svg.substr(0, svg.find('>')).find("pt\""), std::string::npos) << "no sizes in points";
  for (const char* text :
       {"ROC: ctcf", "false positive rate", "true positive rate", "model", "chance", "0.5"})
    EXPECT_NE(svg.find(text), std::string::npos) << text;
  EXPECT_NE(svg.find("fill-opacity=\"0.25"), std::string::npos) << "the band is translucent";
}

TEST(Plots, HistogramMarksTheRealScore) {
  const std::string svg =
      histogram("Label-permutation test", "auroc", {0.48, 0.5, 0.52, 0.55}, 4, 0.9, "the real run");
  for (const char* text : {"Label-permutation test", "auroc", "runs", "the real run"})
    EXPECT_NE(svg.find(text), std::string::npos) << text;
}

TEST(Plots, HeatmapWritesEveryCountAndLabel) {
  const std::string svg =
      heatmap("Confusion matrix", "predicted class", "true class",
              {"enhancer", "promoter", "other"}, {{50, 3, 2}, {4, 41, 7}, {1, 6, 88}});
  for (const char* text : {">50<", ">41<", ">88<", ">7<", "enhancer", "promoter", "other",
                           "predicted class", "true class"})
    EXPECT_NE(svg.find(text), std::string::npos) << text;
  EXPECT_THROW(heatmap("x", "a", "b", {"a", "b"}, {{1, 2}}), Error);
  EXPECT_THROW(heatmap("x", "a", "b", {"a", "b"}, {{1, 2}, {3}}), Error);
}

TEST(Plots, MismatchedSeriesAreAnError) {
  LinePlot p{"t", "x", "y", {line("s", {0, 1}, {0})}, false, false};
  EXPECT_THROW(line_plot(p), Error);
}

}  // namespace
}  // namespace strand::report
