// Random and mutated DNA for the rules tests: sequences with known relationships to plant.
#pragma once

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace strand::rules::testing {

inline std::string random_dna(std::mt19937_64& rng, size_t n) {
  std::string s(n, 'A');
  for (auto& c : s) c = "ACGT"[rng() % 4];
  return s;
}

// Exactly `count` substitutions at distinct positions: identity is exactly 1 - count / length.
inline std::string substitute(std::mt19937_64& rng, std::string s, size_t count) {
  std::vector<size_t> pos(s.size());
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = i;
  std::shuffle(pos.begin(), pos.end(), rng);
  for (size_t i = 0; i < count; ++i) {
    const char old = s[pos[i]];
    char c = old;
    while (c == old) c = "ACGT"[rng() % 4];
    s[pos[i]] = c;
  }
  return s;
}

}  // namespace strand::rules::testing
