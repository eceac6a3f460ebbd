// Helpers every test uses: skipping GPU tests without a device, seeded random data, and
// element-by-element comparison with tolerances that say which element failed and why.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace strand::testing {

// Number of CUDA devices usable by this process (0 in a CPU-only build or without a driver).
int cuda_device_count();

// Skips the current test cleanly when no CUDA device is present.
#define STRAND_REQUIRE_CUDA_DEVICE()                    \
  do {                                                  \
    if (::strand::testing::cuda_device_count() == 0)    \
      GTEST_SKIP() << "no CUDA device on this machine"; \
  } while (0)

template <typename T>
std::vector<T> random_vector(size_t n, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> out(n);
  for (auto& v : out) v = static_cast<T>(dist(gen));
  return out;
}

// Checks |actual - expected| <= atol + rtol * |expected| for every element; NaN never passes.
// Reports the count of failures and the first few, with their indices.
template <typename A, typename E>
::testing::AssertionResult all_close(const std::vector<A>& actual, const std::vector<E>& expected,
                                     double rtol, double atol) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure()
           << "size mismatch: actual " << actual.size() << " vs expected " << expected.size();
  }
  size_t bad = 0;
  std::string first;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = static_cast<double>(actual[i]);
    const double e = static_cast<double>(expected[i]);
    const bool ok =
        std::isfinite(a) == std::isfinite(e) &&
        (!std::isfinite(e) ? (std::isnan(a) == std::isnan(e) && (std::isnan(e) || a == e))
                           : std::abs(a - e) <= atol + rtol * std::abs(e));
    if (!ok) {
      if (bad < 5) {
        first += "\n  [" + std::to_string(i) + "] actual " + std::to_string(a) + " expected " +
                 std::to_string(e);
      }
      ++bad;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << actual.size() << " elements differ (rtol " << rtol << ", atol " << atol
         << "):" << first;
}

}  // namespace strand::testing
