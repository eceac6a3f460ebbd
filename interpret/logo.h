// Sequence logos as hand-written SVG: per column the four letters stacked, each as tall as its
// probability times the column's information content (bits, 2 - entropy), the largest on top;
// A green, C blue, G orange, T red.
#pragma once

#include <string>

#include "interpret/motif_compare.h"

namespace strand::interpret {

// Information content in bits of one column of probabilities.
double information_content(const std::array<double, 4>& column);

// A standalone SVG document: the logo with a 0-2 bit axis and the title above it.
std::string logo_svg(const Pwm& pwm, const std::string& title);

}  // namespace strand::interpret
