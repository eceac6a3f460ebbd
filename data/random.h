// The small, platform-independent randomness the data layer needs (seeded shuffles, split draws,
// simulation): splitmix64, whose stream is fixed by its seed on every compiler and library.
#pragma once

#include <cstdint>

namespace strand::data {

// One splitmix64 mixing step: a well-spread 64-bit hash of x.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A splitmix64 generator.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    const uint64_t x = state_;
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(x);  // the standard splitmix64 stream: mix of the advanced state
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n), n > 0 (modulo bias below 2^-40 for the sizes used here).
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
  bool chance(double p) { return uniform() < p; }

 private:
  uint64_t state_;
};

}  // namespace strand::data
