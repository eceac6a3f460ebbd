// The custom CUDA implicit-GEMM conv1d, checked without a GPU: its host emulation runs the
// kernel's own gathers, shared-tile placement, split-K ranges, mma operand reads (executed per the
// PTX fragment layouts) and epilogue coordinates, and must match the CPU reference everywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/conv1d/conv1d.h"
#include "tests/kernels/conv1d_test_shapes.h"
#include "tests/support/test_support.h"

#if STRAND_WITH_CUDA
#include "kernels/conv1d/conv1d_cuda_impl.h"
#endif

namespace strand::kernels {
namespace {

using strand::testing::abs_max;
using strand::testing::all_close;
using strand::testing::random_vector;

TEST(Conv1dImplicitGemmEmulation, MatchesTheReferenceOverTheSweep) {
#if !STRAND_WITH_CUDA
  GTEST_SKIP() << "built without CUDA: the custom kernel is not compiled";
#else
  auto shapes = strand::testing::conv1d_sweep_shapes();
  shapes.push_back({8, 288, 288, 64, 3, 1, 4, 4, 4, 1});  // several tiles in M, N and K
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const double tol = 1e-5;
  bool saw_split_k = false;
  uint64_t seed = 500;
  for (const Conv1dShape& s : shapes) {
    SCOPED_TRACE(s.to_string());
    const auto x = random_vector<float>(s.x_numel(), ++seed);
    const auto w = random_vector<float>(s.w_numel(), ++seed);
    const auto b = random_vector<float>(s.out_channels, ++seed);
    const auto dy = random_vector<float>(s.y_numel(), ++seed);
    const auto dw0 = random_vector<float>(s.w_numel(), ++seed);

    std::vector<float> y_ref(s.y_numel()), dx_ref(s.x_numel()), dw_ref = dw0;
    cpu::conv1d_forward<float>({}, s, x.data(), w.data(), b.data(), y_ref.data(),
                               Conv1dCpuAlgo::kReference);
    cpu::conv1d_backward_data<float>({}, s, dy.data(), w.data(), dx_ref.data(),
                                     Conv1dCpuAlgo::kReference);
    cpu::conv1d_backward_weight<float>({}, s, x.data(), dy.data(), dw_ref.data(), true,
                                       Conv1dCpuAlgo::kReference);

    // Both operand layouts: TF32 m16n8k8 and BF16 m16n8k16 fragments (fp32 values either way).
    for (bool bf16 : {false, true}) {
      SCOPED_TRACE(bf16 ? "bf16 fragments" : "tf32 fragments");
      std::vector<float> y(s.y_numel(), nan), dx(s.x_numel(), nan);
      cuda::detail::igemm_emulate_forward(s, x.data(), w.data(), b.data(), y.data(), bf16);
      EXPECT_TRUE(all_close(y, y_ref, tol, tol * abs_max(y_ref))) << "forward";
      cuda::detail::igemm_emulate_backward_data(s, dy.data(), w.data(), dx.data(), bf16);
      EXPECT_TRUE(all_close(dx, dx_ref, tol, tol * abs_max(dx_ref))) << "backward_data";
      // One SM: no split; 132 SMs (H100/H200): the reduction is split across blocks.
      for (int sms : {1, 132}) {
        std::vector<float> dw = dw0;
        cuda::detail::igemm_emulate_backward_weight(s, x.data(), dy.data(), dw.data(), true, sms,
                                                    bf16);
        EXPECT_TRUE(all_close(dw, dw_ref, tol, tol * abs_max(dw_ref)))
            << "backward_weight, " << sms << " SMs";
        saw_split_k = saw_split_k || cuda::detail::igemm_weight_splits(s, sms) > 1;
      }
    }
  }
  EXPECT_TRUE(saw_split_k) << "no shape exercised the split-K path";
#endif
}

}  // namespace
}  // namespace strand::kernels
