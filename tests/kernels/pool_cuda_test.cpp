// CUDA 1D pooling against the CPU kernels (pool_test.cpp checks those against the definitions)
// on fresh random data with NaN-poisoned outputs, every element checked, in float, double and
// bf16: max (values and argmax positions exactly, NaN windows included) and average pooling,
// forward and backward, over kernel 1, padding, gaps, overlaps and one row; bad shapes raise
// errors before any launch. Skips without a device.
#include <gtest/gtest.h>

#include <limits>
#include <vector>

#include "kernels/pool/pool.h"
#include "tests/kernels/kernel_test_support.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

template <typename T>
class PoolCudaTest : public ::testing::Test {};
TYPED_TEST_SUITE(PoolCudaTest, KernelTypes);

TYPED_TEST(PoolCudaTest, MaxAndAveragePoolingMatchCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  using T = TypeParam;
  const double tol = kernel_tolerance<T>();
  uint64_t seed = 1;
  for (const Pool1dShape s : {Pool1dShape{1, 1, 1, 1, 0}, Pool1dShape{3, 31, 5, 3, 2},
                              Pool1dShape{2, 23, 2, 5, 0}, Pool1dShape{6, 101, 4, 3, 2},
                              Pool1dShape{64, 1000, 13, 13, 6}, Pool1dShape{1, 13, 13, 4, 6}}) {
    SCOPED_TRACE(::testing::Message()
                 << "rows " << s.rows << " length " << s.length << " kernel " << s.kernel
                 << " stride " << s.stride << " padding " << s.padding);
    const int64_t out_numel = s.rows * s.out_length();
    auto x = random_vector<T>(s.rows * s.length, ++seed);
    // A NaN in the first row: its windows must report the first NaN on both devices.
    if (s.length > 3) x[2] = T(std::numeric_limits<float>::quiet_NaN());
    const auto dy = random_vector<T>(out_numel, ++seed);
    std::vector<T> y(out_numel), dx(x.size()), avg(out_numel), davg(x.size());
    std::vector<int64_t> index(out_numel);
    cpu::max_pool1d<T>({}, s, x.data(), y.data(), index.data());
    cpu::max_pool1d_backward<T>({}, s, dy.data(), index.data(), dx.data());
    cpu::avg_pool1d<T>({}, s, x.data(), avg.data());
    cpu::avg_pool1d_backward<T>({}, s, dy.data(), davg.data());

    DeviceBuffer<T> d_x(x), d_dy(dy), d_y(out_numel), d_dx(x.size()), d_avg(out_numel),
        d_davg(x.size());
    DeviceBuffer<int64_t> d_index(out_numel);
    cuda::max_pool1d<T>({}, s, d_x.get(), d_y.get(), d_index.get());
    EXPECT_TRUE(all_close(d_y.download(), to_double(y), 0, 0)) << "max values";
    EXPECT_EQ(d_index.download(), index) << "argmax positions";
    cuda::max_pool1d_backward<T>({}, s, d_dy.get(), d_index.get(), d_dx.get());
    EXPECT_TRUE(all_close(d_dx.download(), to_double(dx), tol, tol)) << "max backward";
    cuda::avg_pool1d<T>({}, s, d_x.get(), d_avg.get());
    cuda::avg_pool1d_backward<T>({}, s, d_dy.get(), d_davg.get());
    EXPECT_TRUE(all_close(d_avg.download(), to_double(avg), tol, tol)) << "average";
    EXPECT_TRUE(all_close(d_davg.download(), to_double(davg), tol, tol)) << "average backward";
  }
}

TEST(PoolCuda, BadShapesRaiseErrorsBeforeAnyLaunch) {
  // The shape check runs on the host, so this needs no device.
  STRAND_EXPECT_ERROR(cuda::max_pool1d<float>({}, {1, 8, 3, 1, 2}, nullptr, nullptr, nullptr),
                      "pool1d: padding 2 must be at most half the kernel size 3");
  STRAND_EXPECT_ERROR(cuda::avg_pool1d<float>({}, {1, 5, 8, 1, 1}, nullptr, nullptr),
                      "pool1d: kernel 8 is longer than the padded input (5 + 2 x 1)");
}

}  // namespace
}  // namespace strand::kernels
