// Edit distance and closest-name suggestions (see suggest.h).
#include "core/suggest.h"

#include <algorithm>

namespace strand {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

namespace {

// Whether every character of a appears in b in order ("rc-avg" in "rc-average").
bool abbreviates(std::string_view a, std::string_view b) {
  size_t j = 0;
  for (char c : b)
    if (j < a.size() && a[j] == c) ++j;
  return j == a.size();
}

}  // namespace

std::string closest_name(std::string_view given, const std::vector<std::string>& valid) {
  std::string best;
  size_t best_distance = 0;
  bool best_abbreviated = false;
  for (const auto& name : valid) {
    const size_t d = edit_distance(given, name);
    const bool abbreviated = abbreviates(given, name);
    // Equally close: a name that `given` abbreviates wins.
    if (best.empty() || d < best_distance ||
        (d == best_distance && abbreviated && !best_abbreviated)) {
      best = name;
      best_distance = d;
      best_abbreviated = abbreviated;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view given, const std::vector<std::string>& valid) {
  const std::string best = closest_name(given, valid);
  return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

}  // namespace strand
