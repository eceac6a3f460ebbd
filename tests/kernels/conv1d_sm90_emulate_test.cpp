// The Hopper (TMA + wgmma) conv1d kernel checked without a GPU: its host emulation runs the
// kernel's index maps from conv1d_sm90_plan.h (internal layouts, TMA boxes with zero fill, tap
// shifts, tiles, pipeline stage/phase order, epilogue pooling and batch-norm sums) and must match
// the CPU reference for all three passes, bf16 and tf32 tiling; plus the plan's own rules.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <vector>

#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_cuda_impl.h"
#include "kernels/conv1d/conv1d_sm90_plan.h"
#include "tests/kernels/conv1d_test_shapes.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

namespace sm90 = cuda::detail::sm90;
using strand::testing::abs_max;
using strand::testing::all_close;
using strand::testing::random_vector;

// Small shapes that still cross every boundary: asymmetric padding, dilation, several channel
// tiles (bf16 64, tf32 32), two output-channel tiles, several position tiles, more K steps than
// stages, channel counts that need padding to 16 bytes, rows of L_in or L_out that are not a
// multiple of 16 bytes (the weight gradient reads pitched copies).
std::vector<Conv1dShape> shapes() {
  return {
      {2, 20, 24, 152, 8, 1, 3, 4, 1, 1},  // DeepSEA-like k8, "same"
      {2, 36, 40, 72, 3, 1, 4, 4, 4, 1},   // dilated k3 d4
      {1, 70, 130, 40, 3, 1, 1, 1, 1, 1},  // two M tiles, two or three channel tiles
      {1, 12, 8, 296, 11, 1, 5, 5, 1, 1},  // Basset-like k11, three position tiles
      {2, 6, 10, 64, 7, 1, 0, 0, 1, 1},    // no padding (L_out = 58)
      {2, 10, 12, 61, 5, 1, 2, 2, 1, 1},   // L_in = L_out = 61
  };
}

const float kNan = std::numeric_limits<float>::quiet_NaN();

TEST(Conv1dSm90Emulation, ForwardWithEveryEpilogueMatchesTheReference) {
  uint64_t seed = 900;
  for (const Conv1dShape& s : shapes()) {
    SCOPED_TRACE(s.to_string());
    const auto x = random_vector<float>(s.x_numel(), ++seed);
    const auto w = random_vector<float>(s.w_numel(), ++seed);
    const auto b = random_vector<float>(s.out_channels, ++seed);
    std::vector<float> conv(s.y_numel());
    cpu::conv1d_forward<float>({}, s, x.data(), w.data(), b.data(), conv.data(),
                               Conv1dCpuAlgo::kReference);
    for (int eb : {2, 4}) {
      for (const Conv1dEpilogue& shape_epi : {Conv1dEpilogue{}, Conv1dEpilogue{true, 4},
                                              Conv1dEpilogue{true, 3}, Conv1dEpilogue{false, 2}}) {
        SCOPED_TRACE(::testing::Message() << "elem bytes " << eb << ", relu " << shape_epi.relu
                                          << ", pool " << shape_epi.pool);
        const int64_t lp = s.out_length() / shape_epi.pool;
        std::vector<float> sum_ref(s.out_channels, 0.f), sq_ref(s.out_channels, 0.f);
        std::vector<float> sum(s.out_channels, 0.f), sq(s.out_channels, 0.f);
        std::vector<float> y_ref(s.batch * s.out_channels * lp), y(y_ref.size(), kNan);
        Conv1dEpilogue ref = shape_epi, got = shape_epi;
        ref.bn_sum = sum_ref.data();
        ref.bn_sumsq = sq_ref.data();
        got.bn_sum = sum.data();
        got.bn_sumsq = sq.data();
        cpu::conv1d_epilogue<float>({}, s, conv.data(), y_ref.data(), ref);
        cuda::detail::sm90_emulate_forward(s, x.data(), w.data(), b.data(), y.data(), got, eb);
        EXPECT_TRUE(all_close(y, y_ref, 1e-5, 1e-5 * abs_max(y_ref)));
        EXPECT_TRUE(all_close(sum, sum_ref, 1e-4, 1e-4 * abs_max(sum_ref))) << "bn sum";
        EXPECT_TRUE(all_close(sq, sq_ref, 1e-4, 1e-4 * abs_max(sq_ref))) << "bn sum of squares";
      }
    }
  }
}

TEST(Conv1dSm90Emulation, BackwardDataAndWeightMatchTheReference) {
  uint64_t seed = 1900;
  for (const Conv1dShape& s : shapes()) {
    SCOPED_TRACE(s.to_string());
    const auto x = random_vector<float>(s.x_numel(), ++seed);
    const auto w = random_vector<float>(s.w_numel(), ++seed);
    const auto dy = random_vector<float>(s.y_numel(), ++seed);
    std::vector<float> dx_ref(s.x_numel()), dw_ref(s.w_numel());
    cpu::conv1d_backward_data<float>({}, s, dy.data(), w.data(), dx_ref.data(),
                                     Conv1dCpuAlgo::kReference);
    cpu::conv1d_backward_weight<float>({}, s, x.data(), dy.data(), dw_ref.data(), false,
                                       Conv1dCpuAlgo::kReference);
    for (int eb : {2, 4}) {
      SCOPED_TRACE(::testing::Message() << "elem bytes " << eb);
      std::vector<float> dx(s.x_numel(), kNan);
      cuda::detail::sm90_emulate_backward_data(s, dy.data(), w.data(), dx.data(), eb);
      EXPECT_TRUE(all_close(dx, dx_ref, 1e-5, 1e-5 * abs_max(dx_ref))) << "backward data";
      // One SM: one split per tap; 132 SMs: the reduction split across blocks.
      for (int sms : {1, 132}) {
        std::vector<float> dw(s.w_numel(), kNan);
        cuda::detail::sm90_emulate_backward_weight(s, x.data(), dy.data(), dw.data(), eb, sms);
        EXPECT_TRUE(all_close(dw, dw_ref, 1e-5, 1e-5 * abs_max(dw_ref)))
            << "backward weight, " << sms << " SMs";
      }
    }
  }
}

TEST(Conv1dSm90Plan, BoxesShiftByTapAndPaddingAndStagesCycle) {
  // DeepSEA 320 -> 480, k8, "same" padding 3/4, bf16.
  const sm90::Geom g = sm90::forward_geom(480, 320, 1000, 1000, 64, 8, 1, -3, 4, 2);
  EXPECT_EQ(g.kc, 320);
  EXPECT_EQ(g.tk, 64);
  EXPECT_EQ(g.l_step, 128);  // a multiple of the pool window
  EXPECT_EQ(g.k_tiles, 8 * 5);
  const sm90::Grid grid = sm90::grid_of(g);
  EXPECT_EQ(grid.x, 8);
  EXPECT_EQ(grid.y, 4);
  EXPECT_EQ(grid.z, 64);
  sm90::Box a, b;
  sm90::k_step_boxes(g, 0, 1, 5, 0, &a, &b);  // tap 0, channels 0..63: reads position -3
  EXPECT_EQ(a.c0, 0);
  EXPECT_EQ(a.c1, 128);
  EXPECT_EQ(a.c2, 0);
  EXPECT_EQ(b.c0, 0);
  EXPECT_EQ(b.c1, -3);
  EXPECT_EQ(b.c2, 5);
  sm90::k_step_boxes(g, 7, 0, 0, 5 * 7 + 4, &a, &b);  // tap 7, channels 256..319, last tile
  EXPECT_EQ(a.c0, 256);
  EXPECT_EQ(a.c2, 7);
  EXPECT_EQ(b.c1, 7 * 128 - 3 + 7);  // past L_in - 128: the copy engine fills zeros
  // Pool 3: blocks step 126 positions so no window straddles two blocks.
  EXPECT_EQ(sm90::forward_geom(8, 8, 300, 300, 1, 3, 1, -1, 3, 4).l_step, 126);
  // Stage order: 4 stages, phases alternate per round; the producer's first round passes.
  EXPECT_EQ(sm90::stage_of(5), 1);
  EXPECT_EQ(sm90::full_parity(5), 1);
  EXPECT_EQ(sm90::empty_parity(1), 1);
  // Channel counts that are not a multiple of 16 bytes are padded (Basset's 300 in bf16).
  EXPECT_EQ(sm90::padded_channels(300, 2), 304);
  EXPECT_EQ(sm90::padded_channels(300, 4), 300);
  // Weight gradient: splits keep every split non-empty and fill about two waves.
  const sm90::Geom wg = sm90::weight_grad_geom(960, 480, 256, 256, 64, 8, 1, -3, 2, 132);
  EXPECT_EQ(wg.k_tiles, 64 * 4);
  EXPECT_EQ(wg.lin_pitch, 256);
  const sm90::Geom odd = sm90::weight_grad_geom(8, 8, 61, 59, 1, 3, 1, 0, 2, 132);
  EXPECT_EQ(odd.lout_pitch, 64);
  EXPECT_EQ(sm90::map_a(odd).dims[0], 59);  // the real length: the pitch's padding is never read
  EXPECT_EQ(sm90::map_a(odd).strides_bytes[0], 128);
  EXPECT_GE(wg.splits, 1);
  EXPECT_LT((wg.splits - 1) * wg.k_per_split, wg.k_tiles);
}

TEST(Conv1dSm90Plan, EligibilityNamesWhatItCannotRun) {
  using ::testing::HasSubstr;
  const Conv1dShape deepsea = with_same_padding({64, 320, 480, 1000, 8});
  for (auto pass : {Conv1dPass::kForward, Conv1dPass::kBackwardData, Conv1dPass::kBackwardWeight}) {
    EXPECT_EQ(conv1d_sm90_unsupported_reason(pass, deepsea, Conv1dPrecision::kBf16), nullptr);
    EXPECT_EQ(conv1d_sm90_unsupported_reason(pass, deepsea, Conv1dPrecision::kTf32), nullptr);
  }
  EXPECT_THAT(conv1d_sm90_unsupported_reason(Conv1dPass::kForward, deepsea, Conv1dPrecision::kFp32),
              HasSubstr("tf32 and bf16 only"));
  Conv1dShape strided = deepsea;
  strided.stride = 2;
  EXPECT_THAT(conv1d_sm90_unsupported_reason(Conv1dPass::kForward, strided, Conv1dPrecision::kBf16),
              HasSubstr("stride 1"));
  Conv1dShape grouped{4, 16, 16, 1001, 3, 1, 1, 1};
  EXPECT_EQ(
      conv1d_sm90_unsupported_reason(Conv1dPass::kBackwardWeight, grouped, Conv1dPrecision::kBf16),
      nullptr);  // odd lengths: pitched copies
  grouped.groups = 4;
  EXPECT_THAT(conv1d_sm90_unsupported_reason(Conv1dPass::kForward, grouped, Conv1dPrecision::kBf16),
              HasSubstr("groups = 1"));
  const Conv1dShape wide_pad{1, 8, 8, 64, 3, 1, 3, 3};
  EXPECT_THAT(
      conv1d_sm90_unsupported_reason(Conv1dPass::kBackwardData, wide_pad, Conv1dPrecision::kTf32),
      HasSubstr("pad_left <= dilation*(K-1)"));
}

}  // namespace
}  // namespace strand::kernels
