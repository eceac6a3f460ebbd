// Logo drawing: letter outlines as paths in a unit box, scaled into place.
#include "interpret/logo.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace strand::interpret {
namespace {

// Letter outlines in a 100 x 100 box (y down), filled with the even-odd rule.
constexpr const char* kGlyph[4] = {
    // A: two legs and a bar, with the triangle above the bar cut out.
    "M0 100 L38 0 L62 0 L100 100 L78 100 L69 75 L31 75 L22 100 Z M38 57 L62 57 L50 24 Z",
    // C: an open ring.
    "M96 30 A48 50 0 1 0 96 70 L76 62 A28 32 0 1 1 76 38 Z",
    // G: the C with its lower jaw closed by a bar.
    "M96 30 A48 50 0 1 0 98 60 L98 50 L56 50 L56 66 L76 66 A28 32 0 1 1 76 38 Z",
    // T: a bar and a stem.
    "M0 0 L100 0 L100 18 L60 18 L60 100 L40 100 L40 18 L0 18 Z",
};
constexpr const char* kColour[4] = {"#109648", "#255c99", "#f7b32b", "#d62839"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

}  // namespace

double information_content(const std::array<double, 4>& column) {
  double h = 0;
  for (double p : column)
    if (p > 0) h -= p * std::log2(p);
  return std::max(0.0, 2.0 - h);
}

std::string logo_svg(const Pwm& pwm, const std::string& title) {
  STRAND_CHECK(!pwm.empty(), "logo '{}': the matrix has no columns", title);
  constexpr double kCol = 24, kBit = 60, kLeft = 34, kTop = 24, kBottom = 20;
  const double width = kLeft + kCol * static_cast<double>(pwm.size()) + 8;
  const double height = kTop + 2 * kBit + kBottom;
  const double base_y = kTop + 2 * kBit;
  std::string svg;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n",
                width, height, width, height);
  svg += buf;
  svg += "<title>" + escape(title) + "</title>\n";
  std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"14\" font-size=\"12\">%s</text>\n", kLeft,
                escape(title).c_str());
  svg += buf;
  // The bits axis.
  std::snprintf(buf, sizeof buf,
                "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n",
                kLeft - 4, kTop, kLeft - 4, base_y);
  svg += buf;
  for (int bits = 0; bits <= 2; ++bits) {
    const double y = base_y - bits * kBit;
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%.0f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%d</text>\n",
                  kLeft - 7, y + 3.5, bits);
    svg += buf;
  }
  std::snprintf(buf, sizeof buf,
                "<text x=\"10\" y=\"%.0f\" font-size=\"10\" transform=\"rotate(-90 10 %.0f)\" "
                "text-anchor=\"middle\">bits</text>\n",
                kTop + kBit, kTop + kBit);
  svg += buf;
  for (size_t j = 0; j < pwm.size(); ++j) {
    const double ic = information_content(pwm[j]);
    std::array<int, 4> order = {0, 1, 2, 3};
    std::sort(order.begin(), order.end(), [&](int a, int b) { return pwm[j][a] < pwm[j][b]; });
    double y = base_y;
    const double x = kLeft + kCol * static_cast<double>(j);
    for (int b : order) {  // smallest at the bottom, largest on top
      const double h = pwm[j][b] * ic * kBit;
      if (h < 0.05) continue;
      y -= h;
      std::snprintf(buf, sizeof buf,
                    "<path d=\"%s\" fill=\"%s\" fill-rule=\"evenodd\" "
                    "transform=\"translate(%.2f %.3f) scale(%.4f %.5f)\"/>\n",
                    kGlyph[b], kColour[b], x + 1, y, (kCol - 2) / 100, h / 100);
      svg += buf;
    }
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%.1f\" y=\"%.0f\" font-size=\"9\" text-anchor=\"middle\">%zu</text>\n",
                  x + kCol / 2, base_y + 13, j + 1);
    svg += buf;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace strand::interpret
