// "Did you mean": the closest valid name to a misspelt one (Levenshtein distance), shared by every
// place that rejects an unknown key, flag, layer or option with a suggestion.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace strand {

// Insertions, deletions and substitutions turning a into b.
size_t edit_distance(std::string_view a, std::string_view b);

// The valid name closest to `given`; among equals, one that `given` abbreviates (its characters
// in order), else the first. Empty when `valid` is empty.
std::string closest_name(std::string_view given, const std::vector<std::string>& valid);

// " (did you mean 'x'?)" naming the closest valid name, or "" when `valid` is empty.
std::string did_you_mean(std::string_view given, const std::vector<std::string>& valid);

}  // namespace strand
