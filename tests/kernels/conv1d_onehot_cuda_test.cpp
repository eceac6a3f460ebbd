// CUDA one-hot conv fused with ReLU and max pooling (fp32, bf16, and fp32 weights with a bf16
// store) against the float64 dense reference on fresh random inputs with NaN-poisoned outputs,
// and the weight gradient on shapes with several sample groups and a two-pass kernel. The plain
// forward and weight gradient sweep is in conv1d_cuda_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "kernels/conv1d/conv1d_onehot_pool.h"
#include "tests/kernels/conv1d_test_shapes.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using strand::testing::abs_max;
using strand::testing::all_close;
using strand::testing::DeviceBuffer;
using strand::testing::random_bases;
using strand::testing::random_vector;
using strand::testing::test_context;

template <typename T>
std::vector<double> widen(const std::vector<T>& v) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<double>(v[i]);
  return out;
}

template <typename T, typename Y>
void check_pool(const Conv1dShape& s, const OnehotPool& pool, uint64_t seed) {
  SCOPED_TRACE(s.to_string() + " pool " + std::to_string(pool.size) + "/" +
               std::to_string(pool.stride) + (sizeof(T) == 2 ? " bf16" : " f32") +
               (sizeof(Y) == 2 ? " store bf16" : ""));
  const double tol = sizeof(Y) == 2 ? 1e-2 : 1e-5;
  const auto codes = random_bases(s.batch * s.in_length, seed, true);
  const auto w = random_vector<T>(s.w_numel(), seed + 1);
  const auto b = random_vector<T>(s.out_channels, seed + 2);
  const auto wd = widen(w), bd = widen(b);
  std::vector<double> x(s.x_numel()), y(s.y_numel());
  cpu::bases_to_onehot<double>(s, BaseEncoding::kCodes, codes.data(), x.data());
  cpu::conv1d_forward<double>({}, s, x.data(), wd.data(), bd.data(), y.data(),
                              Conv1dCpuAlgo::kReference);
  const int64_t l_out = s.out_length(), pooled = (l_out - pool.size) / pool.stride + 1;
  std::vector<double> expected(s.batch * s.out_channels * pooled);
  for (int64_t r = 0; r < s.batch * s.out_channels; ++r)
    for (int64_t j = 0; j < pooled; ++j) {
      double best = 0;
      for (int64_t q = 0; q < pool.size; ++q)
        best = std::max(best, y[r * l_out + j * pool.stride + q]);
      expected[r * pooled + j] = best;
    }
  DeviceBuffer<uint8_t> bases_d(codes);
  DeviceBuffer<T> w_d(w), b_d(b);
  DeviceBuffer<Y> out_d(expected.size());  // NaN-poisoned
  cuda::conv1d_onehot_relu_maxpool<T, Y>(test_context(), s, pool, BaseEncoding::kCodes,
                                         bases_d.get(), w_d.get(), b_d.get(), out_d.get());
  EXPECT_TRUE(all_close(out_d.download(), expected, tol, tol * abs_max(expected)));
}

TEST(Conv1dOnehotCuda, FusedReluMaxPoolEqualsTheReference) {
  STRAND_REQUIRE_CUDA_DEVICE();
  auto shapes = strand::testing::conv1d_onehot_sweep_shapes();
  shapes.push_back({16, 4, 320, 1000, 8, 1, 0, 0, 1, 1});                    // DeepSEA layer 1
  shapes.push_back(with_same_padding({8, 4, 300, 600, 19, 1, 0, 0, 1, 1}));  // Basset layer 1
  uint64_t seed = 5000;
  for (const Conv1dShape& s : shapes) {
    const int64_t l_out = s.out_length();
    for (OnehotPool pool : {OnehotPool{4, 4}, OnehotPool{3, 3}, OnehotPool{5, 2}, OnehotPool{1, 1},
                            OnehotPool{l_out, 1}}) {
      if (pool.size > l_out) continue;
      check_pool<float, float>(s, pool, seed += 10);
      check_pool<float, BFloat16>(s, pool, seed += 10);
      check_pool<BFloat16, BFloat16>(s, pool, seed += 10);
    }
  }
}

TEST(Conv1dOnehotCuda, WeightGradientOverSampleGroupsAndTapPasses) {
  STRAND_REQUIRE_CUDA_DEVICE();
  uint64_t seed = 6000;
  for (const Conv1dShape& s : {Conv1dShape{19, 4, 37, 1100, 8, 1, 0, 0, 1, 1},
                               Conv1dShape{3, 4, 5, 400, 300, 1, 0, 0, 1, 1}}) {
    SCOPED_TRACE(s.to_string());
    const auto codes = random_bases(s.batch * s.in_length, ++seed, true);
    const auto dy = random_vector<float>(s.y_numel(), ++seed);
    std::vector<double> x(s.x_numel()), dw_ref(s.w_numel());
    cpu::bases_to_onehot<double>(s, BaseEncoding::kCodes, codes.data(), x.data());
    const auto dyd = widen(dy);
    cpu::conv1d_backward_weight<double>({}, s, x.data(), dyd.data(), dw_ref.data(), false,
                                        Conv1dCpuAlgo::kReference);
    DeviceBuffer<uint8_t> bases_d(codes);
    DeviceBuffer<float> dy_d(dy), dw_d(s.w_numel());
    cuda::conv1d_onehot_backward_weight<float>(test_context(), s, BaseEncoding::kCodes,
                                               bases_d.get(), dy_d.get(), dw_d.get(), false);
    EXPECT_TRUE(all_close(dw_d.download(), dw_ref, 1e-5, 1e-5 * abs_max(dw_ref)));
  }
}

}  // namespace
}  // namespace strand::kernels
