// Shared by the kernel-level tests: widening results to double for the plain-loop references, the
// tolerance a CPU kernel is held to per element type, and the bad-input check.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "core/bfloat16.h"
#include "core/error.h"

namespace strand::testing {

// The element types every kernel family instantiates, for typed tests.
using KernelTypes = ::testing::Types<float, double, BFloat16>;

// n indices drawn uniformly from [0, dim).
inline std::vector<int64_t> random_indices(size_t n, int64_t dim, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<int64_t> out(n);
  for (auto& v : out) v = static_cast<int64_t>(gen() % static_cast<uint64_t>(dim));
  return out;
}

template <typename T>
std::vector<double> to_double(const std::vector<T>& v) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<double>(v[i]);
  return out;
}

// Relative (and, near zero, absolute) tolerance of a kernel result in T against a double
// reference on the same inputs, and of a CUDA result against the CPU kernel's: a few roundings
// of T, the design's fp32 ~1e-5 and bf16 ~1e-2 (one bf16 step is 2^-8..2^-7 relative).
template <typename T>
constexpr double kernel_tolerance() {
  if constexpr (std::is_same_v<T, double>) return 1e-12;
  if constexpr (std::is_same_v<T, BFloat16>) return 1e-2;
  return 1e-5;
}

// Runs fn and expects a strand::Error whose message contains `text`.
#define STRAND_EXPECT_ERROR(statement, text) \
  EXPECT_THAT([&] { statement; },            \
              ::testing::ThrowsMessage<::strand::Error>(::testing::HasSubstr(text)))

}  // namespace strand::testing
