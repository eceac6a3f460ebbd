// CPU index kernels against plain loops: casts between every pair of dtypes, fill and arange,
// index_select / index_add (repeated indices accumulate) and gather / scatter_add along the
// middle of [outer, dim, inner], in float, double and bf16, edge shapes (outer or inner 1, an
// empty index), and out-of-range indices raising strand::Error with the position.
#include "kernels/index/index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "tests/kernels/kernel_test_support.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

// Values every dtype holds exactly (bool: zero or not).
const std::vector<double> kCastValues{0, 1, -3, 7, 100, -128, 2.5, -0.75};

// What casting x to D must give: C++'s own conversion (truncation toward zero for integers,
// nonzero -> true for bool).
template <typename D>
D expected_cast(double x) {
  if constexpr (std::is_same_v<D, bool>) {
    return x != 0;
  } else {
    return static_cast<D>(x);
  }
}

// The values of kCastValues a U holds exactly (u8: non-negative integers, bool: 0 and 1).
template <typename U>
bool holds(double v) {
  if (std::is_same_v<U, bool>) return v == 0 || v == 1;
  if (std::is_integral_v<U> && v != static_cast<double>(static_cast<int64_t>(v))) return false;
  return !std::is_unsigned_v<U> || v >= 0;
}

TEST(IndexCast, EveryPairOfDtypes) {
  const DType types[] = {DType::kF32, DType::kF64, DType::kBF16, DType::kI32,
                         DType::kI64, DType::kU8,  DType::kBool};
  for (DType src : types) {
    for (DType dst : types) {
      SCOPED_TRACE(std::string(dtype_name(src)) + " -> " + std::string(dtype_name(dst)));
      dispatch_all(src, [&](auto src_tag) {
        using S = decltype(src_tag);
        dispatch_all(dst, [&](auto dst_tag) {
          using D = decltype(dst_tag);
          // Negative values into an unsigned type are undefined in C++: not part of the contract.
          std::vector<double> values;
          for (double v : kCastValues) {
            if (holds<S>(v) && (!std::is_unsigned_v<D> || std::is_same_v<D, bool> || v > -1))
              values.push_back(v);
          }
          // Through bytes, since std::vector<bool> has no data().
          std::vector<uint8_t> in(values.size() * sizeof(S)), out(values.size() * sizeof(D));
          for (size_t i = 0; i < values.size(); ++i) {
            const S v = static_cast<S>(values[i]);
            std::memcpy(in.data() + i * sizeof(S), &v, sizeof(S));
          }
          cpu::cast({}, static_cast<int64_t>(values.size()), src, in.data(), dst, out.data());
          for (size_t i = 0; i < values.size(); ++i) {
            D got;
            std::memcpy(&got, out.data() + i * sizeof(D), sizeof(D));
            EXPECT_EQ(static_cast<double>(got), static_cast<double>(expected_cast<D>(values[i])))
                << "value " << values[i];
          }
        });
      });
    }
  }
}

TEST(IndexFill, FillAndArangeInEveryDtype) {
  for (DType t : {DType::kF32, DType::kF64, DType::kBF16, DType::kI32, DType::kI64, DType::kU8,
                  DType::kBool}) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    dispatch_all(t, [&](auto tag) {
      using T = decltype(tag);
      constexpr int64_t n = 37;
      std::vector<uint8_t> buf(n * sizeof(T));
      cpu::fill({}, n, t, buf.data(), 3.0);
      for (int64_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, buf.data() + i * sizeof(T), sizeof(T));
        EXPECT_EQ(static_cast<double>(v), static_cast<double>(expected_cast<T>(3.0))) << i;
      }
      cpu::arange({}, n, t, buf.data(), 2.0, 0.5);
      for (int64_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, buf.data() + i * sizeof(T), sizeof(T));
        EXPECT_EQ(static_cast<double>(v), static_cast<double>(expected_cast<T>(2.0 + 0.5 * i)))
            << i;
      }
    });
  }
  cpu::fill({}, 0, DType::kF32, nullptr, 1.0);  // nothing to write
}

template <typename T>
class IndexTest : public ::testing::Test {};
TYPED_TEST_SUITE(IndexTest, KernelTypes);

struct Split {
  int64_t outer, dim, inner, count;
};
const Split kSplits[] = {{1, 5, 1, 3}, {3, 4, 1, 7}, {1, 6, 5, 2}, {2, 7, 3, 9}, {4, 3, 2, 0}};

TYPED_TEST(IndexTest, IndexSelectAndIndexAdd) {
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  uint64_t seed = 7;
  for (const Split& p : kSplits) {
    SCOPED_TRACE(::testing::Message()
                 << p.outer << " x " << p.dim << " x " << p.inner << " count " << p.count);
    const auto src = random_vector<T>(p.outer * p.dim * p.inner, ++seed);
    // Repeats: index_add must accumulate them, not overwrite.
    const auto index = random_indices(p.count, p.dim, ++seed);
    std::vector<T> out(p.outer * p.count * p.inner, T(NAN));
    cpu::index_select<T>({}, p.outer, p.dim, p.inner, src.data(), p.count, index.data(),
                         out.data());
    std::vector<double> expected(out.size());
    for (int64_t o = 0; o < p.outer; ++o)
      for (int64_t j = 0; j < p.count; ++j)
        for (int64_t i = 0; i < p.inner; ++i)
          expected[(o * p.count + j) * p.inner + i] =
              static_cast<double>(src[(o * p.dim + index[j]) * p.inner + i]);
    EXPECT_TRUE(all_close(out, expected, 0, 0)) << "index_select";

    const auto grad = random_vector<T>(out.size(), ++seed);
    auto dst = random_vector<T>(src.size(), ++seed);
    std::vector<double> sums = to_double(dst);
    for (int64_t o = 0; o < p.outer; ++o)
      for (int64_t j = 0; j < p.count; ++j)
        for (int64_t i = 0; i < p.inner; ++i)
          sums[(o * p.dim + index[j]) * p.inner + i] +=
              static_cast<double>(grad[(o * p.count + j) * p.inner + i]);
    cpu::index_add<T>({}, p.outer, p.dim, p.inner, grad.data(), p.count, index.data(), dst.data());
    // A repeated index rounds to T once per addition.
    EXPECT_TRUE(all_close(dst, sums, tol, 3 * tol)) << "index_add";
  }
}

TYPED_TEST(IndexTest, GatherAndScatterAdd) {
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  uint64_t seed = 70;
  for (const Split& p : kSplits) {
    SCOPED_TRACE(::testing::Message()
                 << p.outer << " x " << p.dim << " x " << p.inner << " count " << p.count);
    const auto src = random_vector<T>(p.outer * p.dim * p.inner, ++seed);
    const int64_t n = p.outer * p.count * p.inner;
    const auto index = random_indices(n, p.dim, ++seed);
    std::vector<T> out(n, T(NAN));
    cpu::gather<T>({}, p.outer, p.dim, p.inner, src.data(), p.count, index.data(), out.data());
    std::vector<double> expected(n);
    for (int64_t o = 0; o < p.outer; ++o)
      for (int64_t j = 0; j < p.count; ++j)
        for (int64_t i = 0; i < p.inner; ++i) {
          const int64_t q = (o * p.count + j) * p.inner + i;
          expected[q] = static_cast<double>(src[(o * p.dim + index[q]) * p.inner + i]);
        }
    EXPECT_TRUE(all_close(out, expected, 0, 0)) << "gather";

    const auto grad = random_vector<T>(n, ++seed);
    auto dst = random_vector<T>(src.size(), ++seed);
    std::vector<double> sums = to_double(dst);
    for (int64_t o = 0; o < p.outer; ++o)
      for (int64_t j = 0; j < p.count; ++j)
        for (int64_t i = 0; i < p.inner; ++i) {
          const int64_t q = (o * p.count + j) * p.inner + i;
          sums[(o * p.dim + index[q]) * p.inner + i] += static_cast<double>(grad[q]);
        }
    cpu::scatter_add<T>({}, p.outer, p.dim, p.inner, grad.data(), p.count, index.data(),
                        dst.data());
    EXPECT_TRUE(all_close(dst, sums, tol, 3 * tol)) << "scatter_add";
  }
}

TEST(IndexErrors, OutOfRangeIndicesNameTheirPosition) {
  std::vector<float> src(12, 1.f), out(12, 0.f);
  const std::vector<int64_t> too_big{0, 2, 4}, negative{1, -1, 0};
  // [outer 1, dim 4, inner 3]: index 4 at position 2 is out of range.
  STRAND_EXPECT_ERROR(
      cpu::index_select<float>({}, 1, 4, 3, src.data(), 3, too_big.data(), out.data()),
      "index 4 at position 2 is out of range [0, 4)");
  STRAND_EXPECT_ERROR(
      cpu::index_add<float>({}, 1, 4, 3, src.data(), 3, negative.data(), out.data()),
      "index -1 at position 1 is out of range [0, 4)");
  // gather's index has the output's shape [1, 1, 3]; the position is the flat one.
  STRAND_EXPECT_ERROR(cpu::gather<float>({}, 1, 4, 3, src.data(), 1, too_big.data(), out.data()),
                      "index 4 at position 2 is out of range [0, 4)");
  STRAND_EXPECT_ERROR(
      cpu::scatter_add<float>({}, 1, 4, 3, src.data(), 1, negative.data(), out.data()),
      "index -1 at position 1 is out of range [0, 4)");
  // Nothing was written before the check failed.
  EXPECT_EQ(out, std::vector<float>(12, 0.f));
}

// The report path of the CUDA index kernels, driven from the host: each check's "device flag
// copy" is a host word and its completion a bool the test flips, as the copy and its event would.
struct FakeCheck {
  uint64_t position = kNoBadIndex;
  bool landed = false;
  int released = 0;
  IndexErrorLog::Check check(const char* op, int64_t dim, int device) {
    return {.op = op,
            .dim = dim,
            .device = device,
            .position = &position,
            .done = [this] { return landed; },
            .release = [this] { ++released; }};
  }
};

TEST(IndexErrorLog, RaisesTheOldestCompletedBadCheckOnceAndKeepsThoseInFlight) {
  IndexErrorLog log;
  FakeCheck good, bad_late, bad_first, in_flight, other_device;
  log.add(good.check("gather", 7, 0));
  log.add(bad_first.check("index_select", 3, 0));
  log.add(bad_late.check("scatter_add", 9, 0));
  log.add(in_flight.check("gather", 5, 0));
  log.add(other_device.check("index_add", 4, 1));
  EXPECT_EQ(log.pending(), 5u);

  // Nothing has landed: nothing to raise, nothing released.
  EXPECT_NO_THROW(log.raise_completed(0));
  EXPECT_EQ(log.pending(), 5u);

  good.landed = bad_first.landed = bad_late.landed = other_device.landed = true;
  bad_first.position = 2;
  bad_late.position = 8;
  other_device.position = 0;
  in_flight.position = 1;  // written, but its copy has not landed: not read yet
  STRAND_EXPECT_ERROR(log.raise_completed(0),
                      "index_select: index at position 2 is out of range [0, 3)");
  // Every completed check of device 0 was read and released; only the oldest bad one raised.
  EXPECT_EQ(good.released + bad_first.released + bad_late.released, 3);
  EXPECT_EQ(in_flight.released + other_device.released, 0);
  EXPECT_EQ(log.pending(), 2u);
  EXPECT_NO_THROW(log.raise_completed(0)) << "scatter_add's report went with the first";

  // Another device's report waits for that device's synchronisation.
  STRAND_EXPECT_ERROR(log.raise_completed(1),
                      "index_add: index at position 0 is out of range [0, 4)");
  in_flight.landed = true;
  STRAND_EXPECT_ERROR(log.raise_completed(0), "gather: index at position 1 is out of range [0, 5)");
  EXPECT_EQ(log.pending(), 0u);
}

TEST(IndexErrorLog, ManyChecksBetweenSynchronisationsReleaseTheGoodOnes) {
  // A program that launches thousands of checks without waiting holds only the few in flight and
  // the bad ones.
  IndexErrorLog log;
  std::vector<FakeCheck> checks(1000);
  for (size_t i = 0; i < checks.size(); ++i) {
    if (i == 10) checks[i].position = 4;
    checks[i].landed = i < 900;
    log.add(checks[i].check("gather", 3, 0));
  }
  EXPECT_LT(log.pending(), 400u);
  EXPECT_EQ(checks[10].released, 0) << "the bad report is kept until it is raised";
  STRAND_EXPECT_ERROR(log.raise_completed(0), "gather: index at position 4 is out of range [0, 3)");
  for (size_t i = 0; i < checks.size(); ++i) EXPECT_EQ(checks[i].released, i < 900 ? 1 : 0) << i;
}

}  // namespace
}  // namespace strand::kernels
