// The shifted-view GEMM conv1d path against the CPU reference in float64 (and float32): forward,
// backward-data, backward-weight (overwrite and accumulate), on shapes that take the path:
// same/valid/asymmetric padding, dilation, and batches over several chunks.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_cpu_fast.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using strand::testing::all_close;
using strand::testing::random_vector;

// N, C_in, C_out, L_in, K, stride, pad_left, pad_right, dilation, groups
const Conv1dShape kShapes[] = {
    {3, 64, 20, 60, 5, 1, 2, 2, 1, 1},    // same padding
    {2, 70, 9, 90, 4, 1, 0, 0, 2, 1},     // valid, dilation 2
    {70, 64, 8, 33, 3, 1, 1, 2, 1, 1},    // asymmetric padding, two chunks
    {9, 96, 12, 300, 11, 1, 5, 5, 1, 1},  // Basset's second layer in small, two chunks
    {5, 65, 7, 250, 8, 1, 3, 4, 3, 1},    // even kernel, dilation 3, asymmetric
};

template <typename T>
void check_shape(const Conv1dShape& s, double tol) {
  ASSERT_TRUE(cpu::fast::shifted_gemm_applies(s)) << s.to_string();
  const std::vector<T> x = random_vector<T>(s.x_numel(), 1);
  const std::vector<T> w = random_vector<T>(s.w_numel(), 2);
  const std::vector<T> bias = random_vector<T>(s.out_channels, 3);
  const std::vector<T> dy = random_vector<T>(s.y_numel(), 4);
  const std::vector<T> dw0 = random_vector<T>(s.w_numel(), 5);
  constexpr Conv1dCpuAlgo kRef = Conv1dCpuAlgo::kReference, kFast = Conv1dCpuAlgo::kFast;
  std::vector<T> y_ref(s.y_numel(), T(-7)), y(s.y_numel(), T(-7));
  cpu::conv1d_forward<T>({}, s, x.data(), w.data(), bias.data(), y_ref.data(), kRef);
  cpu::conv1d_forward<T>({}, s, x.data(), w.data(), bias.data(), y.data(), kFast);
  EXPECT_TRUE(all_close(y, y_ref, tol, tol)) << "forward " << s.to_string();
  std::vector<T> dx_ref(s.x_numel(), T(-7)), dx(s.x_numel(), T(-7));
  cpu::conv1d_backward_data<T>({}, s, dy.data(), w.data(), dx_ref.data(), kRef);
  cpu::conv1d_backward_data<T>({}, s, dy.data(), w.data(), dx.data(), kFast);
  EXPECT_TRUE(all_close(dx, dx_ref, tol, tol)) << "backward data " << s.to_string();
  for (const bool accumulate : {false, true}) {
    std::vector<T> dw_ref = dw0, dw = dw0;
    cpu::conv1d_backward_weight<T>({}, s, x.data(), dy.data(), dw_ref.data(), accumulate, kRef);
    cpu::conv1d_backward_weight<T>({}, s, x.data(), dy.data(), dw.data(), accumulate, kFast);
    EXPECT_TRUE(all_close(dw, dw_ref, tol, tol))
        << "backward weight, accumulate " << accumulate << " " << s.to_string();
  }
}

TEST(Conv1dShiftedGemm, MatchesTheReferenceInFloat64) {
  for (const Conv1dShape& s : kShapes) check_shape<double>(s, 1e-10);
}

TEST(Conv1dShiftedGemm, MatchesTheReferenceInFloat32) {
  for (const Conv1dShape& s : kShapes) check_shape<float>(s, 2e-4);
}

TEST(Conv1dShiftedGemm, TakenOnlyWhereItPays) {
  EXPECT_TRUE(cpu::fast::shifted_gemm_applies({64, 300, 200, 200, 11, 1, 5, 5, 1, 1}));
  EXPECT_FALSE(cpu::fast::shifted_gemm_applies({64, 4, 300, 600, 19, 1, 9, 9, 1, 1}));    // 4 in
  EXPECT_FALSE(cpu::fast::shifted_gemm_applies({64, 200, 200, 50, 7, 1, 3, 3, 1, 1}));    // waste
  EXPECT_FALSE(cpu::fast::shifted_gemm_applies({64, 300, 200, 200, 11, 2, 5, 5, 1, 1}));  // stride
  EXPECT_FALSE(cpu::fast::shifted_gemm_applies({64, 300, 200, 200, 11, 1, 5, 5, 1, 2}));  // groups
  EXPECT_FALSE(cpu::fast::shifted_gemm_applies({64, 320, 480, 248, 8, 1, 0, 0, 1, 1}));   // 480 out
}

}  // namespace
}  // namespace strand::kernels
