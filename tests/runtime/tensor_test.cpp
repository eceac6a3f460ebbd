// Tensor: shapes, views, copies, casts, factories, printing and the errors for misuse.
#include "runtime/tensor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

using strand::testing::tensor_close;
using ::testing::HasSubstr;

Tensor iota(const Shape& shape) {
  return arange(0, static_cast<double>(shape_numel(shape))).reshape(shape);
}

TEST(Tensor, FactoriesFillValuesShapesAndStrides) {
  const Tensor z = zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.strides(), (Shape{3, 1}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_TRUE(tensor_close(z, {0, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(tensor_close(ones({2}), {1, 1}));
  EXPECT_TRUE(tensor_close(full({3}, 2.5, {.dtype = DType::kF64}), {2.5, 2.5, 2.5}));
  EXPECT_TRUE(tensor_close(arange(1, 2, 0.25), {1, 1.25, 1.5, 1.75}));
  EXPECT_EQ(arange(5, 0, 1).numel(), 0);
  const Tensor v = from_vector<int64_t>({4, 5, 6}, {3});
  EXPECT_EQ(v.dtype(), DType::kI64);
  EXPECT_EQ(v.to_vector<int64_t>(), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(zeros({}).numel(), 1);  // a 0-dim scalar
}

TEST(Tensor, AllDtypesRoundTripThroughCasts) {
  const Tensor f = from_vector<float>({0.0f, 1.5f, -2.0f, 3.0f}, {4});
  EXPECT_TRUE(tensor_close(f.to(DType::kF64), {0, 1.5, -2, 3}));
  EXPECT_TRUE(tensor_close(f.to(DType::kBF16), {0, 1.5, -2, 3}));
  EXPECT_TRUE(tensor_close(f.to(DType::kI32), {0, 1, -2, 3}));
  EXPECT_TRUE(tensor_close(f.to(DType::kI64), {0, 1, -2, 3}));
  EXPECT_TRUE(tensor_close(f.to(DType::kBool), {0, 1, 1, 1}));
  EXPECT_TRUE(tensor_close(from_vector<uint8_t>({0, 200, 255}, {3}), {0, 200, 255}));
  // bf16 keeps 8 significant bits: 1/3 rounds to 0.333984375.
  EXPECT_DOUBLE_EQ(full({1}, 1.0 / 3).to(DType::kBF16).item(), 0.333984375);
}

TEST(Tensor, ReshapeAndViewShareStorage) {
  Tensor t = iota({2, 6});
  Tensor v = t.view({3, 4});
  EXPECT_EQ(v.storage(), t.storage());
  EXPECT_TRUE(tensor_close(v.select(0, 2), {8, 9, 10, 11}));
  EXPECT_EQ(t.view({-1, 3}).shape(), (Shape{4, 3}));
  EXPECT_EQ(t.flatten().shape(), (Shape{12}));
  // A transposed tensor cannot be viewed flat, but reshape copies.
  const Tensor tt = t.transpose(0, 1);
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_THROW(tt.view({12}), Error);
  EXPECT_TRUE(tensor_close(tt.reshape({12}), {0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11}));
}

TEST(Tensor, PermuteSliceExpandSqueeze) {
  const Tensor t = iota({2, 3, 4});
  const Tensor p = t.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_TRUE(tensor_close(p.select(0, 1).contiguous(), {1, 5, 9, 13, 17, 21}));
  const Tensor s = t.slice(2, 1, 4, 2);  // columns 1 and 3
  EXPECT_EQ(s.shape(), (Shape{2, 3, 2}));
  EXPECT_TRUE(tensor_close(s.select(0, 0), {1, 3, 5, 7, 9, 11}));
  EXPECT_TRUE(tensor_close(t.slice(1, -1, 3).select(0, 1), {20, 21, 22, 23}));
  const Tensor e = from_vector<float>({1, 2}, {2, 1}).expand({2, 3});
  EXPECT_EQ(e.strides()[1], 0);
  EXPECT_TRUE(tensor_close(e, {1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(zeros({1, 3, 1}).squeeze(0).squeeze(-1).shape(), (Shape{3}));
  EXPECT_EQ(zeros({3}).unsqueeze(0).unsqueeze(2).shape(), (Shape{1, 3, 1}));
}

TEST(Tensor, CopyFillAndClone) {
  Tensor t = zeros({2, 3});
  t.slice(1, 1, 2).fill_(7);
  EXPECT_TRUE(tensor_close(t, {0, 7, 0, 0, 7, 0}));
  Tensor c = t.clone();
  c.fill_(1);
  EXPECT_TRUE(tensor_close(t, {0, 7, 0, 0, 7, 0}));
  t.copy_(from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}));  // converts f64 into f32
  EXPECT_TRUE(tensor_close(t, {1, 2, 3, 4, 5, 6}));
}

TEST(Tensor, PrintsValuesShapeDtypeAndDevice) {
  const std::string s = iota({2, 2}).to_string();
  EXPECT_THAT(s, HasSubstr("[[0.0000, 1.0000],"));
  EXPECT_THAT(s, HasSubstr("shape=[2, 2], dtype=f32, device=cpu"));
  EXPECT_THAT(arange(0, 100).to_string(), HasSubstr("..."));
  EXPECT_THAT(from_vector<int64_t>({3}, {1}).to_string(), HasSubstr("[3]"));
}

TEST(Tensor, MisuseGivesClearErrors) {
  EXPECT_THAT(
      [] {
        iota({2, 3}).view({4, 2});
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("shape [4, 2] is invalid for a tensor of 6")));
  EXPECT_THAT(
      [] {
        from_vector<float>({1, 2, 3}, {2, 2});
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("3 values for shape [2, 2]")));
  EXPECT_THAT([] { zeros({2}).size(3); },
              ::testing::ThrowsMessage<Error>(HasSubstr("dimension 3 is out of range")));
  EXPECT_THAT(
      [] {
        zeros({2, 3}).expand({4, 3});
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("cannot expand shape [2, 3] to [4, 3]")));
  EXPECT_THAT([] { zeros({2}).data<double>(); },
              ::testing::ThrowsMessage<Error>(HasSubstr("has dtype f32, not f64")));
  EXPECT_THAT([] { Tensor().shape(); },
              ::testing::ThrowsMessage<Error>(HasSubstr("undefined tensor")));
  EXPECT_THAT(
      [] {
        zeros({2, 2}).item();
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("has 4 elements, not 1")));
  EXPECT_THAT(
      [] {
        zeros({1, 1, 1, 1, 1, 1, 1, 1, 1});
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("exceed the limit of 8")));
  EXPECT_THAT([] { zeros({2}, {.dtype = DType::kI64}).set_requires_grad(true); },
              ::testing::ThrowsMessage<Error>(HasSubstr("only floating tensors can require grad")));
}

TEST(Tensor, DevicesParseAndCpuOnlyBuildsRefuseCuda) {
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_EQ(Device::parse("cuda:3"), Device::cuda(3));
  EXPECT_THAT([] { Device::parse("gpu0"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("unknown device 'gpu0'")));
  if (cuda_device_count() == 0) {
    EXPECT_THROW(zeros({2}, {.device = Device::cuda(0)}), Error);
  }
}

TEST(Tensor, RandomFactoriesAreReproducibleBySeed) {
  const Tensor a = rand({1000}, 7), b = rand({1000}, 7), c = rand({1000}, 8);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  EXPECT_NE(a.to_vector<float>(), c.to_vector<float>());
  const double m = mean(randn({20000}, 3)).item();
  EXPECT_NEAR(m, 0.0, 0.03);
  Generator gen(5);
  const Tensor first = rand({3}, gen), second = rand({3}, gen);
  EXPECT_NE(first.to_vector<float>(), second.to_vector<float>());  // the stream advances
  EXPECT_EQ(gen.offset(), 2u);                                     // one 4-number block each
}

TEST(Tensor, PoisonedAllocationsAreNaN) {
  set_poison_allocations(true);
  const Tensor t = empty({3});
  set_poison_allocations(false);
  for (float v : t.to_vector<float>()) EXPECT_TRUE(std::isnan(v));
}

}  // namespace
}  // namespace strand::runtime
