// CUDA index kernels against the CPU kernels (index_test.cpp checks those against plain loops) on
// fresh random data with NaN-poisoned outputs, every element checked: casts between every pair
// of dtypes, fill, arange, index_select / index_add / gather / scatter_add in float, double and
// bf16; and out-of-range indices, which the device reports where the host next waits for it
// (cuda::raise_index_errors), not at the launch. Skips without a device.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/common/cuda_check.h"
#include "kernels/index/index.h"
#include "tests/kernels/kernel_test_support.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using namespace strand::testing;

TEST(IndexCuda, CastFillAndArangeMatchCpuByteForByte) {
  STRAND_REQUIRE_CUDA_DEVICE();
  const DType types[] = {DType::kF32, DType::kF64, DType::kBF16, DType::kI32,
                         DType::kI64, DType::kU8,  DType::kBool};
  // Small non-negative integers and halves: every dtype holds them or truncates them the same way.
  constexpr int64_t n = 1001;
  std::vector<double> values(n);
  for (int64_t i = 0; i < n; ++i) values[i] = static_cast<double>(i % 200) * 0.5;
  for (DType src : types) {
    // The source in its own dtype, made by the CPU cast from f64.
    std::vector<uint8_t> in(n * dtype_size(src));
    cpu::cast({}, n, DType::kF64, values.data(), src, in.data());
    DeviceBuffer<uint8_t> d_in(in);
    for (DType dst : types) {
      SCOPED_TRACE(std::string(dtype_name(src)) + " -> " + std::string(dtype_name(dst)));
      std::vector<uint8_t> want(n * dtype_size(dst));
      cpu::cast({}, n, src, in.data(), dst, want.data());
      DeviceBuffer<uint8_t> d_out(want.size());
      cuda::cast({}, n, src, d_in.get(), dst, d_out.get());
      EXPECT_EQ(d_out.download(), want);
    }
  }
  for (DType t : types) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    std::vector<uint8_t> want(n * dtype_size(t));
    DeviceBuffer<uint8_t> d_out(want.size());
    cpu::fill({}, n, t, want.data(), 3.0);
    cuda::fill({}, n, t, d_out.get(), 3.0);
    EXPECT_EQ(d_out.download(), want) << "fill";
    cpu::arange({}, n, t, want.data(), 1.0, 0.25);
    cuda::arange({}, n, t, d_out.get(), 1.0, 0.25);
    EXPECT_EQ(d_out.download(), want) << "arange";
  }
}

template <typename T>
class IndexCudaTest : public ::testing::Test {};
TYPED_TEST_SUITE(IndexCudaTest, KernelTypes);

TYPED_TEST(IndexCudaTest, IndexMovesMatchCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  using T = TypeParam;
  // The adds run as atomics in any order, each rounding to T.
  const double tol = 3 * kernel_tolerance<T>();
  struct Split {
    int64_t outer, dim, inner, count;
  };
  uint64_t seed = 1;
  for (const Split p :
       {Split{1, 5, 1, 3}, Split{3, 4, 1, 7}, Split{2, 7, 3, 9}, Split{5, 100, 33, 257}}) {
    SCOPED_TRACE(::testing::Message()
                 << p.outer << " x " << p.dim << " x " << p.inner << " count " << p.count);
    const auto src = random_vector<T>(p.outer * p.dim * p.inner, ++seed);
    const auto sel = random_indices(p.count, p.dim, ++seed);
    const int64_t n = p.outer * p.count * p.inner;
    const auto per_element = random_indices(n, p.dim, ++seed);
    const auto grad = random_vector<T>(n, ++seed);
    const auto dst0 = random_vector<T>(src.size(), ++seed);
    DeviceBuffer<T> d_src(src), d_grad(grad);
    DeviceBuffer<int64_t> d_sel(sel), d_per_element(per_element);

    std::vector<T> out(n), dst = dst0;
    cpu::index_select<T>({}, p.outer, p.dim, p.inner, src.data(), p.count, sel.data(), out.data());
    DeviceBuffer<T> d_out(n);
    cuda::index_select<T>({}, p.outer, p.dim, p.inner, d_src.get(), p.count, d_sel.get(),
                          d_out.get());
    EXPECT_TRUE(all_close(d_out.download(), to_double(out), 0, 0)) << "index_select";
    cpu::index_add<T>({}, p.outer, p.dim, p.inner, grad.data(), p.count, sel.data(), dst.data());
    DeviceBuffer<T> d_dst(dst0);
    cuda::index_add<T>({}, p.outer, p.dim, p.inner, d_grad.get(), p.count, d_sel.get(),
                       d_dst.get());
    EXPECT_TRUE(all_close(d_dst.download(), to_double(dst), tol, tol)) << "index_add";

    dst = dst0;
    cpu::gather<T>({}, p.outer, p.dim, p.inner, src.data(), p.count, per_element.data(),
                   out.data());
    d_out.poison();
    cuda::gather<T>({}, p.outer, p.dim, p.inner, d_src.get(), p.count, d_per_element.get(),
                    d_out.get());
    EXPECT_TRUE(all_close(d_out.download(), to_double(out), 0, 0)) << "gather";
    cpu::scatter_add<T>({}, p.outer, p.dim, p.inner, grad.data(), p.count, per_element.data(),
                        dst.data());
    d_dst.upload(dst0);
    cuda::scatter_add<T>({}, p.outer, p.dim, p.inner, d_grad.get(), p.count, d_per_element.get(),
                         d_dst.get());
    EXPECT_TRUE(all_close(d_dst.download(), to_double(dst), tol, tol)) << "scatter_add";
  }
  EXPECT_NO_THROW(cuda::raise_index_errors(0)) << "good indices leave no report";
}

TEST(IndexCuda, OutOfRangeIndicesAreReportedWhereTheHostWaits) {
  STRAND_REQUIRE_CUDA_DEVICE();
  cudaStream_t stream = nullptr;
  STRAND_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const Context ctx{.stream = stream, .device = 0};
  DeviceBuffer<float> src(std::vector<float>(12, 1.f)), out(12);
  DeviceBuffer<int64_t> bad(std::vector<int64_t>{0, 2, 4}), good(std::vector<int64_t>{0, 1, 3});
  // The launches return without waiting for the device.
  EXPECT_NO_THROW(cuda::gather<float>(ctx, 1, 4, 3, src.get(), 1, good.get(), out.get()));
  EXPECT_NO_THROW(cuda::index_select<float>(ctx, 1, 4, 3, src.get(), 3, bad.get(), out.get()));
  EXPECT_NO_THROW(cuda::scatter_add<float>(ctx, 1, 4, 3, src.get(), 1, bad.get(), out.get()));
  STRAND_CUDA_CHECK(cudaStreamSynchronize(stream));
  // The oldest bad launch is named, once; the good one reports nothing.
  STRAND_EXPECT_ERROR(cuda::raise_index_errors(0),
                      "index_select: index at position 2 is out of range [0, 4)");
  EXPECT_NO_THROW(cuda::raise_index_errors(0));
  // Many launches between synchronisations hold no growing state and still report.
  for (int i = 0; i < 2000; ++i)
    cuda::gather<float>(ctx, 1, 4, 3, src.get(), 1, good.get(), out.get());
  cuda::index_add<float>(ctx, 1, 4, 3, src.get(), 3, bad.get(), out.get());
  STRAND_CUDA_CHECK(cudaStreamSynchronize(stream));
  STRAND_EXPECT_ERROR(cuda::raise_index_errors(0),
                      "index_add: index at position 2 is out of range [0, 4)");
  STRAND_CUDA_CHECK(cudaStreamDestroy(stream));
}

}  // namespace
}  // namespace strand::kernels
