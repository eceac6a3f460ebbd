#include "report/plots.h"

#include <plplot.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string_view>

#include "core/error.h"

namespace strand::report {
namespace {

// PLplot keeps its state in globals: one plot at a time.
std::mutex plplot_mutex;

constexpr int kWidth = 560, kHeight = 400;
// cmap0: 0 background, 1 axes and text, 2.. series colours (Tableau-like), 10.. the same at 25%.
constexpr int kSeriesColours = 6;
constexpr int kRgb[kSeriesColours][3] = {{31, 119, 180}, {255, 127, 14},  {44, 160, 44},
                                         {214, 39, 40},  {148, 103, 189}, {127, 127, 127}};
int colour(size_t i) { return 2 + static_cast<int>(i % kSeriesColours); }
int band_colour(size_t i) { return 10 + static_cast<int>(i % kSeriesColours); }

// PLplot writes every character of text as a reference ("&#x35;"): printable ASCII goes back
// to plain characters (a third of the size, and the text can be searched), markup ones stay.
std::string readable_text(const std::string& svg) {
  std::string out;
  out.reserve(svg.size());
  for (size_t i = 0; i < svg.size(); ++i) {
    if (svg.compare(i, 3, "&#x") == 0) {
      const size_t end = svg.find(';', i);
      if (end != std::string::npos && end - i <= 7) {
        const long code = std::strtol(svg.c_str() + i + 3, nullptr, 16);
        if (code >= 0x20 && code < 0x7f &&
            std::string_view("<>&\"'").find(static_cast<char>(code)) == std::string_view::npos) {
          out += static_cast<char>(code);
          i = end;
          continue;
        }
      }
    }
    out += svg[i];
  }
  return out;
}

// Opens a PLplot stream writing SVG to a temporary file; finish() closes it and returns the
// <svg> element without the XML prolog.
class SvgCanvas {
 public:
  SvgCanvas() : lock_(plplot_mutex) {
    char name[] = "/tmp/strand-plot-XXXXXX";
    const int fd = mkstemp(name);
    STRAND_CHECK(fd >= 0, "cannot create a temporary file for a plot");
    ::close(fd);
    path_ = name;
    PLINT stream = 0;
    plmkstrm(&stream);
    plsdev("svg");
    plsfnam(path_.c_str());
    plspage(0, 0, kWidth, kHeight, 0, 0);
    plscmap0n(16);
    plscol0(0, 255, 255, 255);
    plscol0(1, 0, 0, 0);
    for (int i = 0; i < kSeriesColours; ++i) {
      plscol0(2 + i, kRgb[i][0], kRgb[i][1], kRgb[i][2]);
      plscol0a(10 + i, kRgb[i][0], kRgb[i][1], kRgb[i][2], 0.25);
    }
    plinit();
    plschr(0, 1.15);
  }
  ~SvgCanvas() {
    if (open_) plend1();
    std::remove(path_.c_str());
  }
  std::string finish() {
    plend1();
    open_ = false;
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    std::string svg = text.str();
    const size_t start = svg.find("<svg");
    STRAND_CHECK(start != std::string::npos, "PLplot wrote no SVG to '{}'", path_);
    svg = readable_text(svg.substr(start));
    // PLplot sizes the page in points, which HTML checkers reject: the viewBox keeps the aspect
    // ratio and the page's CSS sets the size.
    for (const char* attr : {"width=", "height="}) {
      const size_t at = svg.find(attr);
      const size_t end = at == std::string::npos ? at : svg.find('"', svg.find('"', at) + 1);
      if (at != std::string::npos && end < svg.find('>')) svg.erase(at, end + 1 - at);
    }
    return svg;
  }

 private:
  std::lock_guard<std::mutex> lock_;
  std::string path_;
  bool open_ = true;
};

void frame(double x0, double x1, double y0, double y1, const std::string& x_label,
           const std::string& y_label, const std::string& title) {
  pladv(0);
  plvsta();
  plwind(x0, x1, y0, y1);
  plcol0(1);
  plwidth(1);
  plbox("bcnst", 0, 0, "bcnstv", 0, 0);
  pllab(x_label.c_str(), y_label.c_str(), title.c_str());
}

void range_of(const std::vector<Series>& series, double& x0, double& x1, double& y0, double& y1) {
  x0 = y0 = INFINITY;
  x1 = y1 = -INFINITY;
  for (const Series& s : series) {
    for (double v : s.x) x0 = std::min(x0, v), x1 = std::max(x1, v);
    for (const auto* ys : {&s.y, &s.lo, &s.hi})
      for (double v : *ys)
        if (std::isfinite(v)) y0 = std::min(y0, v), y1 = std::max(y1, v);
  }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1;
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
  const double pad = std::max(1e-12, 0.05 * (y1 - y0));
  y0 -= pad, y1 += pad;
  if (y1 - y0 < 1e-9) y0 -= 0.5, y1 += 0.5;
}

void legend(const std::vector<std::string>& labels, const std::vector<int>& colours,
            const std::vector<int>& styles, const std::vector<int>& kinds, bool bottom_right) {
  if (labels.empty()) return;
  const PLINT n = static_cast<PLINT>(labels.size());
  std::vector<PLINT> opts(kinds.begin(), kinds.end()), text_colours(n, 1), box_colours(n, 0),
      patterns(n, 0), line_colours(colours.begin(), colours.end()),
      line_styles(styles.begin(), styles.end()), symbol_colours(colours.begin(), colours.end()),
      symbol_numbers(n, 1);
  std::vector<PLFLT> box_scales(n, 0), box_widths(n, 0), line_widths(n, 2), symbol_scales(n, 0.8);
  std::vector<const char*> text, symbols(n, "#(727)");
  for (const auto& l : labels) text.push_back(l.c_str());
  PLFLT w = 0, h = 0;
  plcol0(1);
  pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
           PL_POSITION_INSIDE | PL_POSITION_RIGHT |
               (bottom_right ? PL_POSITION_BOTTOM : PL_POSITION_TOP),
           0.02, 0.02, 0.08, 0, 1, 1, 0, 0, n, opts.data(), 1.0, 0.8, 1.8, 0, text_colours.data(),
           text.data(), box_colours.data(), patterns.data(), box_scales.data(), box_widths.data(),
           line_colours.data(), line_styles.data(), line_widths.data(), symbol_colours.data(),
           symbol_scales.data(), symbol_numbers.data(), symbols.data());
}

}  // namespace

std::string line_plot(const LinePlot& plot) {
  SvgCanvas canvas;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (!plot.fixed_unit_square) range_of(plot.series, x0, x1, y0, y1);
  frame(x0, x1, y0, y1, plot.x_label, plot.y_label, plot.title);
  std::vector<std::string> labels;
  std::vector<int> colours, styles, kinds;
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const Series& s = plot.series[i];
    STRAND_CHECK(s.x.size() == s.y.size(), "plot '{}': series '{}' has {} x and {} y values",
                 plot.title, s.label, s.x.size(), s.y.size());
    const auto n = static_cast<PLINT>(s.x.size());
    if (!s.lo.empty() && s.lo.size() == s.x.size() && s.hi.size() == s.x.size()) {
      std::vector<PLFLT> px(s.x), py(s.hi);  // the band: along hi, back along lo
      px.insert(px.end(), s.x.rbegin(), s.x.rend());
      py.insert(py.end(), s.lo.rbegin(), s.lo.rend());
      plcol0(band_colour(i));
      plfill(static_cast<PLINT>(px.size()), px.data(), py.data());
    }
    plcol0(colour(i));
    plwidth(2);
    if (s.style == Series::Style::kPoints) {
      plssym(0, 1.3);
      plpoin(n, s.x.data(), s.y.data(), 4);  // open circles
    } else {
      pllsty(s.style == Series::Style::kDashed ? 2 : 1);
      plline(n, s.x.data(), s.y.data());
      pllsty(1);
    }
    if (!s.label.empty()) {
      labels.push_back(s.label);
      colours.push_back(colour(i));
      styles.push_back(s.style == Series::Style::kDashed ? 2 : 1);
      kinds.push_back(s.style == Series::Style::kPoints ? PL_LEGEND_SYMBOL : PL_LEGEND_LINE);
    }
  }
  legend(labels, colours, styles, kinds, plot.legend_bottom_right);
  return canvas.finish();
}

std::string histogram(const std::string& title, const std::string& x_label,
                      const std::vector<double>& values, int bins, double marker,
                      const std::string& marker_label) {
  STRAND_CHECK(bins > 0, "histogram '{}': {} bins", title, bins);
  double lo = marker, hi = marker;
  for (double v : values) lo = std::min(lo, v), hi = std::max(hi, v);
  if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
  const double width = (hi - lo) / bins;
  std::vector<double> counts(static_cast<size_t>(bins), 0);
  for (double v : values)
    counts[std::min<size_t>(static_cast<size_t>((v - lo) / width), bins - 1)] += 1;
  const double top = std::max(1.0, *std::max_element(counts.begin(), counts.end())) * 1.15;
  SvgCanvas canvas;
  frame(lo - width, hi + width, 0, top, x_label, "runs", title);
  for (int b = 0; b < bins; ++b) {
    const double x0 = lo + b * width, x1 = x0 + width, c = counts[b];
    PLFLT bx[4] = {x0, x0, x1, x1}, by[4] = {0, c, c, 0};
    plcol0(colour(0));
    plfill(4, bx, by);
    plcol0(1);
    plline(4, bx, by);
  }
  PLFLT mx[2] = {marker, marker}, my[2] = {0, top};
  plcol0(colour(3));
  plwidth(2);
  plline(2, mx, my);
  legend({"shuffled-label runs", marker_label}, {colour(0), colour(3)}, {1, 1},
         {PL_LEGEND_COLOR_BOX, PL_LEGEND_LINE}, false);
  return canvas.finish();
}

std::string heatmap(const std::string& title, const std::string& x_label,
                    const std::string& y_label, const std::vector<std::string>& labels,
                    const std::vector<std::vector<double>>& counts) {
  const size_t k = labels.size();
  STRAND_CHECK(k > 0 && counts.size() == k, "heatmap '{}': {} labels, {} rows", title, k,
               counts.size());
  double peak = 1;
  for (const auto& row : counts) {
    STRAND_CHECK(row.size() == k, "heatmap '{}': a row of {} cells, expected {}", title, row.size(),
                 k);
    for (double c : row) peak = std::max(peak, c);
  }
  SvgCanvas canvas;
  pladv(0);
  plvpor(0.24, 0.92, 0.16, 0.88);  // room on the left for class names and the axis label
  plwind(0, static_cast<double>(k), 0, static_cast<double>(k));
  PLFLT pos[2] = {0, 1};
  PLFLT r[2] = {1, 31 / 255.0}, g[2] = {1, 119 / 255.0}, b[2] = {1, 180 / 255.0};
  plscmap1l(1, 2, pos, r, g, b, nullptr);
  for (size_t i = 0; i < k; ++i) {    // true class, top row first
    for (size_t j = 0; j < k; ++j) {  // predicted class
      const double x0 = static_cast<double>(j), y0 = static_cast<double>(k - 1 - i);
      PLFLT bx[4] = {x0, x0, x0 + 1, x0 + 1}, by[4] = {y0, y0 + 1, y0 + 1, y0};
      plcol1(counts[i][j] / peak);
      plfill(4, bx, by);
      plcol0(counts[i][j] / peak > 0.6 ? 0 : 1);
      char text[32];
      std::snprintf(text, sizeof text, "%.0f", counts[i][j]);
      plptex(x0 + 0.5, y0 + 0.45, 1, 0, 0.5, text);
    }
  }
  plcol0(1);
  plbox("bc", 0, 0, "bc", 0, 0);
  for (size_t i = 0; i < k; ++i) {
    const double at = (static_cast<double>(i) + 0.5) / static_cast<double>(k);
    plmtex("b", 1.5, at, 0.5, labels[i].c_str());
    plmtex("lv", 1.0, 1.0 - at, 1.0, labels[i].c_str());
  }
  plmtex("b", 3.2, 0.5, 0.5, x_label.c_str());
  plmtex("l", 9.0, 0.5, 0.5, y_label.c_str());
  plmtex("t", 2.0, 0.5, 0.5, title.c_str());
  return canvas.finish();
}

}  // namespace strand::report
