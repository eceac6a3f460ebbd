// Reverse complements of codes and one-hot DNA, and the averaging wrapper: strand symmetry
// (a sequence and its reverse complement score the same; a reverse-complement palindrome scores
// as the plain model does), gradients by finite differences, clear errors.
#include "layers/reverse_complement.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/models.h"
#include "layers/reshape.h"
#include "layers/sequential.h"
#include "runtime/gradcheck.h"
#include "runtime/ops.h"
#include "runtime/rng.h"

namespace strand::layers {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

Tensor codes_of(const std::vector<std::string>& seqs) {
  const std::string letters = "ACGTN";
  std::vector<uint8_t> codes;
  for (const auto& s : seqs)
    for (char c : s) codes.push_back(static_cast<uint8_t>(letters.find(c)));
  return runtime::from_vector(codes, {static_cast<int64_t>(seqs.size()), int64_t(seqs[0].size())});
}

// One-hot [N, 4, L] of codes (unknown: 0.25 in every channel).
Tensor one_hot(const Tensor& codes, DType dtype = DType::kF32) {
  const int64_t n = codes.size(0), length = codes.size(1);
  const auto c = codes.to_vector<uint8_t>();
  std::vector<double> out(n * 4 * length, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < length; ++j)
      for (int64_t ch = 0; ch < 4; ++ch)
        out[(i * 4 + ch) * length + j] = c[i * length + j] == 4 ? 0.25 : c[i * length + j] == ch;
  return runtime::from_vector(out, {n, 4, length}).to(dtype);
}

std::string reverse_complement_text(const std::string& s) {
  std::string out(s.rbegin(), s.rend());
  for (char& c : out) c = c == 'A' ? 'T' : c == 'T' ? 'A' : c == 'C' ? 'G' : c == 'G' ? 'C' : c;
  return out;
}

TEST(ReverseComplement, BaseCodesFlipAndComplement) {
  const Tensor rc = reverse_complement(codes_of({"ACGTN", "AACCG"}));
  EXPECT_EQ(rc.to_vector<uint8_t>(), codes_of({"NACGT", "CGGTT"}).to_vector<uint8_t>());
  EXPECT_EQ(rc.dtype(), DType::kU8);
}

TEST(ReverseComplement, OneHotAgreesWithTheCodes) {
  const Tensor codes = codes_of({"ACGGTNAC", "TTTACGCA"});
  EXPECT_EQ(reverse_complement(one_hot(codes)).to_vector<float>(),
            one_hot(reverse_complement(codes)).to_vector<float>());
  // Twice is the identity.
  const Tensor x = runtime::rand({2, 4, 7}, 3);
  EXPECT_EQ(reverse_complement(reverse_complement(x)).to_vector<float>(), x.to_vector<float>());
}

TEST(ReverseComplement, OtherShapesAreErrors) {
  EXPECT_THAT(
      [] {
        reverse_complement(runtime::zeros({2, 3, 5}));
      },
      ThrowsMessage<Error>(HasSubstr("expected base codes (u8 [N, L]) or one-hot DNA "
                                     "([N, 4, L]), got f32 of shape [2, 3, 5]")));
  EXPECT_THAT(
      [] {
        reverse_complement(runtime::zeros({2, 4, 5}).to(DType::kU8));
      },
      ThrowsMessage<Error>(HasSubstr("base codes must be [N, L], got shape [2, 4, 5]")));
  EXPECT_THAT([] { ReverseComplementAverage(nullptr); },
              ThrowsMessage<Error>(HasSubstr("no model to wrap")));
}

TEST(ReverseComplementAverage, IsTheMeanOfBothStrandsAndStrandSymmetric) {
  runtime::manual_seed(4);
  auto model = build_model("cnn", 64, 3);
  model->eval();
  ReverseComplementAverage rc(model);
  EXPECT_FALSE(rc.is_training());
  const Tensor x = (runtime::rand({5, 64}, 8) * 5.0).to(DType::kU8);  // includes unknown bases
  const Tensor averaged = rc(x);
  const auto expected = (((*model)(x) + (*model)(reverse_complement(x))) * 0.5).to_vector<float>();
  EXPECT_EQ(averaged.to_vector<float>(), expected);
  // A sequence and its reverse complement give identical outputs.
  EXPECT_EQ(rc(reverse_complement(x)).to_vector<float>(), averaged.to_vector<float>());
  // The plain model is not strand symmetric, so the wrapper changes something.
  EXPECT_NE((*model)(x).to_vector<float>(), averaged.to_vector<float>());

  // A reverse-complement palindrome: the wrapper gives exactly the model's output.
  const std::string half = "ACGGTTACNAGCTTAGGCATCAGGTACCATGA";
  const Tensor palindrome = codes_of({half + reverse_complement_text(half)});
  EXPECT_EQ(reverse_complement(palindrome).to_vector<uint8_t>(), palindrome.to_vector<uint8_t>());
  EXPECT_EQ(rc(palindrome).to_vector<float>(), (*model)(palindrome).to_vector<float>());

  // One-hot input gives the same averaged output as codes (the two convolution paths).
  const auto from_one_hot = rc(one_hot(x)).to_vector<float>();
  const auto from_codes = averaged.to_vector<float>();
  for (size_t i = 0; i < from_codes.size(); ++i) EXPECT_NEAR(from_one_hot[i], from_codes[i], 1e-4);
}

TEST(ReverseComplementAverage, NamesModesAndGradients) {
  runtime::manual_seed(2);
  auto model = std::make_shared<Sequential>();
  model->add(std::make_shared<Conv1d>(
      Conv1dConfig{.in_channels = 4, .out_channels = 3, .kernel_size = 3}));
  model->add(std::make_shared<Flatten>());
  model->add(std::make_shared<Linear>(3 * 6, 2));
  model->to(DType::kF64);
  ReverseComplementAverage rc(model);
  EXPECT_EQ(rc.state_dict()[0].first, "model.0.weight");
  EXPECT_EQ(rc.parameters().size(), 4u);
  rc.eval();
  EXPECT_FALSE(model->is_training());
  rc.train();
  EXPECT_TRUE(model->is_training());

  Tensor x = runtime::rand({2, 4, 8}, 6, {.dtype = DType::kF64});
  x.set_requires_grad(true);
  const auto result =
      runtime::gradcheck([&](const std::vector<Tensor>& in) { return rc(in[0]); }, {x});
  EXPECT_TRUE(result.ok) << result.report;
  // The weight gradient too: a parameter as the checked input.
  Tensor& w = dynamic_cast<Conv1d&>((*model)[0]).weight();
  const Tensor fixed = runtime::rand({2, 4, 8}, 7, {.dtype = DType::kF64});
  const auto weight_result = runtime::gradcheck(
      [&](const std::vector<Tensor>& in) {
        w = in[0];
        return rc(fixed);
      },
      {w.detach().clone().set_requires_grad(true)});
  EXPECT_TRUE(weight_result.ok) << weight_result.report;
}

}  // namespace
}  // namespace strand::layers
