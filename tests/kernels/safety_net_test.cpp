// The safety net's decision (kernels/common/safety_net.h) with injected runners, no GPU: a mismatch
// disables the custom kernel for that case with exactly one warning line naming the kernel, pass,
// shape and error; agreement keeps it; NaN or an error disables the whole kernel; the verdict is
// remembered, so each case runs once.
#include "kernels/common/safety_net.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "core/error.h"

namespace strand::kernels {
namespace {

using ::testing::HasSubstr;

struct Fixture {
  std::vector<std::string> lines;
  SafetyNet net{[this](const std::string& line) { lines.push_back(line); }};
  int custom_runs = 0, reference_runs = 0;
  SafetyNet::Runner reference() {
    return [this] {
      ++reference_runs;
      return std::vector<float>{1.f, -2.f, 4.f};
    };
  }
  SafetyNet::Runner custom(std::vector<float> out) {
    return [this, out] {
      ++custom_runs;
      return out;
    };
  }
};

SafetyCase case_of(const std::string& shape = "N=2 C_in=8 C_out=8 L=32 K=3") {
  return {"conv1d custom kernel", "backward_weight", shape, "tf32", 0, 1e-2};
}

TEST(SafetyNet, MatchKeepsTheKernelAndRunsOncePerCase) {
  Fixture f;
  EXPECT_TRUE(f.net.keeps(case_of(), f.custom({1.f, -2.f, 4.01f}), f.reference()));
  EXPECT_TRUE(f.net.keeps(case_of(), f.custom({9.f, 9.f, 9.f}), f.reference()));  // remembered
  EXPECT_EQ(f.custom_runs, 1);
  EXPECT_EQ(f.reference_runs, 1);
  EXPECT_TRUE(f.lines.empty());
}

TEST(SafetyNet, MismatchDisablesThatCaseWithOneWarningLine) {
  Fixture f;
  EXPECT_FALSE(f.net.keeps(case_of(), f.custom({1.f, -2.f, 5.f}), f.reference()));
  EXPECT_FALSE(f.net.keeps(case_of(), f.custom({1.f, -2.f, 4.f}), f.reference()));  // remembered
  ASSERT_EQ(f.lines.size(), 1u);
  const std::string& line = f.lines[0];
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_THAT(line, HasSubstr("conv1d custom kernel"));
  EXPECT_THAT(line, HasSubstr("backward_weight"));
  EXPECT_THAT(line, HasSubstr("N=2 C_in=8 C_out=8 L=32 K=3"));
  EXPECT_THAT(line, HasSubstr("tf32"));
  EXPECT_THAT(line, HasSubstr("max error 0.25"));  // |5 - 4| / 4
  EXPECT_THAT(line, HasSubstr("for this shape"));
  // Another shape is still checked, and may keep the kernel.
  EXPECT_FALSE(f.net.kernel_disabled("conv1d custom kernel"));
  EXPECT_TRUE(f.net.keeps(case_of("other"), f.custom({1.f, -2.f, 4.f}), f.reference()));
  EXPECT_EQ(f.lines.size(), 1u);
}

TEST(SafetyNet, NanDisablesTheWholeKernel) {
  Fixture f;
  EXPECT_FALSE(f.net.keeps(case_of(), f.custom({1.f, std::nanf(""), 4.f}), f.reference()));
  ASSERT_EQ(f.lines.size(), 1u);
  EXPECT_THAT(f.lines[0], HasSubstr("NaN"));
  EXPECT_THAT(f.lines[0], HasSubstr("for every shape"));
  EXPECT_TRUE(f.net.kernel_disabled("conv1d custom kernel"));
  // Every later case is refused without running anything.
  EXPECT_FALSE(f.net.keeps(case_of("other"), f.custom({1.f, -2.f, 4.f}), f.reference()));
  EXPECT_EQ(f.custom_runs, 1);
  EXPECT_EQ(f.lines.size(), 1u);
}

TEST(SafetyNet, AnErrorInTheCustomKernelDisablesItOnOneLine) {
  Fixture f;
  const SafetyNet::Runner fails = []() -> std::vector<float> {
    throw std::runtime_error("illegal\naddress");
  };
  EXPECT_FALSE(f.net.keeps(case_of(), fails, f.reference()));
  ASSERT_EQ(f.lines.size(), 1u);
  EXPECT_THAT(f.lines[0], HasSubstr("illegal address"));
  EXPECT_TRUE(f.net.kernel_disabled("conv1d custom kernel"));
}

TEST(SafetyNet, NoLibraryMeansNothingToCheck) {
  Fixture f;
  const SafetyNet::Runner refuses = []() -> std::vector<float> {
    throw Error("cuDNN does not support it", "test");
  };
  EXPECT_TRUE(f.net.keeps(case_of(), f.custom({7.f}), refuses));
  EXPECT_EQ(f.custom_runs, 0);
  EXPECT_TRUE(f.lines.empty());
}

TEST(SafetyNet, ComparisonAndTolerance) {
  const SafetyComparison c = compare_outputs({1.f, 2.f}, {1.f, 2.5f});
  EXPECT_TRUE(c.custom_finite);
  EXPECT_DOUBLE_EQ(c.max_abs_error, 0.5);
  EXPECT_DOUBLE_EQ(c.relative_error(), 0.2);
  EXPECT_FALSE(compare_outputs({INFINITY}, {1.f}).custom_finite);
  EXPECT_THROW(compare_outputs({1.f}, {1.f, 2.f}), Error);
  // A mismatch just past the tolerance is caught, one just inside is not.
  Fixture f;
  SafetyCase tight = case_of();
  tight.tolerance = 0.1;
  EXPECT_TRUE(f.net.keeps(tight, f.custom({1.f, -2.f, 4.39f}), f.reference()));
  tight.shape = "b";
  EXPECT_FALSE(f.net.keeps(tight, f.custom({1.f, -2.f, 4.41f}), f.reference()));
}

}  // namespace
}  // namespace strand::kernels
