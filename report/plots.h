// The report's plots as standalone SVG, drawn by PLplot's SVG driver (real axes, ticks, labels
// and legends from a maintained plotting library; static SVG needs no script and opens from an
// e-mail attachment). Each function returns the <svg> element, ready to inline in HTML.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace strand::report {

struct Series {
  std::string label;           // legend entry; empty: not in the legend
  std::vector<double> x, y;    // the line
  std::vector<double> lo, hi;  // optional band around it (same x), drawn translucent
  enum class Style { kLine, kDashed, kPoints } style = Style::kLine;
};

// A series without a band (a curve, a reference line, points).
inline Series line(std::string label, std::vector<double> x, std::vector<double> y,
                   Series::Style style = Series::Style::kLine) {
  Series s;
  s.label = std::move(label);
  s.x = std::move(x);
  s.y = std::move(y);
  s.style = style;
  return s;
}

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<Series> series;        // colours in order: blue, orange, green, red, purple, grey
  bool fixed_unit_square = false;    // both axes 0..1 (ROC, PR, reliability); else fitted to data
  bool legend_bottom_right = false;  // else top right
};

std::string line_plot(const LinePlot& plot);

// A histogram of values (bins equal-width over their range and the marker) with a vertical line
// at `marker` labelled marker_label, e.g. a permutation null and the real score.
std::string histogram(const std::string& title, const std::string& x_label,
                      const std::vector<double>& values, int bins, double marker,
                      const std::string& marker_label);

// A matrix of counts as shaded cells with the count written in each, e.g. a confusion matrix
// (rows: true class, columns: predicted).
std::string heatmap(const std::string& title, const std::string& x_label,
                    const std::string& y_label, const std::vector<std::string>& labels,
                    const std::vector<std::vector<double>>& counts);

}  // namespace strand::report
