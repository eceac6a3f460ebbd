// oneDNN on the CPU: conv1d primitives (fp32 and bf16) and both backends of the fast path against
// the float64-accumulating reference over the conv tests' shape sweep, GEMM (fp32 sgemm, bf16
// matmul) against a double loop, and the ISA check: an AVX-512 machine must not run pre-AVX2
// kernels.
#include "kernels/common/onednn.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "tests/kernels/conv1d_test_shapes.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using strand::testing::abs_max;
using strand::testing::all_close;
using strand::testing::random_vector;
using ::testing::HasSubstr;

// Every element within rel * (largest reference magnitude).
::testing::AssertionResult close(const std::vector<float>& got, const std::vector<float>& ref,
                                 double rel) {
  return all_close(got, ref, 0.0, rel * abs_max(ref));
}

// Rounds to bf16 and back: the reference for bf16 math sees the inputs the kernel sees.
std::vector<float> bf16_rounded(std::vector<float> v) {
  for (float& e : v) e = static_cast<float>(BFloat16(e));
  return v;
}

struct ConvCase {
  std::vector<float> x, w, b, dy, dw0;
};

ConvCase make_case(const Conv1dShape& s, uint64_t seed) {
  return {random_vector<float>(s.x_numel(), seed), random_vector<float>(s.w_numel(), seed + 1),
          random_vector<float>(s.out_channels, seed + 2),
          random_vector<float>(s.y_numel(), seed + 3), random_vector<float>(s.w_numel(), seed + 4)};
}

// The reference outputs: y (with bias), dx, and dw0 + dw.
struct ConvOut {
  std::vector<float> y, dx, dw;
};

ConvOut reference(const Conv1dShape& s, const ConvCase& c) {
  ConvOut r{std::vector<float>(s.y_numel()), std::vector<float>(s.x_numel()), c.dw0};
  const auto ref = Conv1dCpuAlgo::kReference;
  cpu::conv1d_forward<float>({}, s, c.x.data(), c.w.data(), c.b.data(), r.y.data(), ref);
  cpu::conv1d_backward_data<float>({}, s, c.dy.data(), c.w.data(), r.dx.data(), ref);
  cpu::conv1d_backward_weight<float>({}, s, c.x.data(), c.dy.data(), r.dw.data(), true, ref);
  return r;
}

void expect_onednn_matches(const Conv1dShape& s, const ConvCase& c, const ConvOut& ref, bool bf16,
                           double rel) {
  std::vector<float> y(s.y_numel(), -7.f), dx(s.x_numel(), -7.f), dw = c.dw0;
  cpu::onednn_conv1d_forward(s, c.x.data(), c.w.data(), c.b.data(), y.data(), bf16);
  EXPECT_TRUE(close(y, ref.y, rel)) << "forward";
  cpu::onednn_conv1d_backward_data(s, c.dy.data(), c.w.data(), dx.data(), bf16);
  EXPECT_TRUE(close(dx, ref.dx, rel)) << "backward-data";
  cpu::onednn_conv1d_backward_weight(s, c.x.data(), c.dy.data(), dw.data(), true, bf16);
  EXPECT_TRUE(close(dw, ref.dw, rel)) << "backward-weight, accumulating";
  std::vector<float> fresh(s.w_numel(), 123.f);
  cpu::onednn_conv1d_backward_weight(s, c.x.data(), c.dy.data(), fresh.data(), false, bf16);
  for (size_t i = 0; i < fresh.size(); ++i) fresh[i] += c.dw0[i];
  EXPECT_TRUE(close(fresh, ref.dw, rel)) << "backward-weight, overwriting";
  std::vector<float> no_bias(s.y_numel(), -7.f), ref_no_bias(s.y_numel());
  cpu::onednn_conv1d_forward(s, c.x.data(), c.w.data(), nullptr, no_bias.data(), bf16);
  cpu::conv1d_forward<float>({}, s, bf16 ? bf16_rounded(c.x).data() : c.x.data(),
                             bf16 ? bf16_rounded(c.w).data() : c.w.data(), nullptr,
                             ref_no_bias.data(), Conv1dCpuAlgo::kReference);
  EXPECT_TRUE(close(no_bias, ref_no_bias, rel)) << "forward without bias";
}

TEST(OneDnnConv1d, Fp32MatchesTheReferenceOverTheSweep) {
  uint64_t seed = 500;
  for (const Conv1dShape& s : strand::testing::conv1d_sweep_shapes()) {
    SCOPED_TRACE(s.to_string());
    const ConvCase c = make_case(s, seed += 10);
    expect_onednn_matches(s, c, reference(s, c), false, 1e-5);
  }
}

TEST(OneDnnConv1d, Bf16MatchesTheReferenceOnRoundedInputs) {
  if (!cpu::cpu_kernel_info().bf16) GTEST_SKIP() << "this CPU has no AVX512-BF16 or AMX";
  uint64_t seed = 900;
  for (const Conv1dShape& s : strand::testing::conv1d_sweep_shapes()) {
    SCOPED_TRACE(s.to_string());
    ConvCase c = make_case(s, seed += 10);
    // Reference on the bf16-rounded inputs: what remains is fp32 accumulation order.
    ConvCase rounded = c;
    rounded.x = bf16_rounded(c.x), rounded.w = bf16_rounded(c.w), rounded.dy = bf16_rounded(c.dy);
    expect_onednn_matches(s, c, reference(s, rounded), true, 1e-5);
    // And against the unrounded fp32 reference, bf16's own error (~1e-2 relative).
    expect_onednn_matches(s, c, reference(s, c), true, 2e-2);
  }
}

// The public fast path, each backend forced, and kAuto.
TEST(OneDnnConv1d, EveryBackendOfTheFastPathMatchesTheReference) {
  uint64_t seed = 1300;
  for (cpu::CpuConvBackend backend :
       {cpu::CpuConvBackend::kOneDnn, cpu::CpuConvBackend::kStrand, cpu::CpuConvBackend::kAuto}) {
    cpu::set_cpu_conv_backend(backend);
    for (const Conv1dShape& s : strand::testing::conv1d_sweep_shapes()) {
      SCOPED_TRACE(s.to_string() + " backend " + std::to_string(static_cast<int>(backend)));
      const ConvCase c = make_case(s, seed += 10);
      const ConvOut ref = reference(s, c);
      std::vector<float> y(s.y_numel()), dx(s.x_numel()), dw = c.dw0;
      cpu::conv1d_forward<float>({}, s, c.x.data(), c.w.data(), c.b.data(), y.data());
      cpu::conv1d_backward_data<float>({}, s, c.dy.data(), c.w.data(), dx.data());
      cpu::conv1d_backward_weight<float>({}, s, c.x.data(), c.dy.data(), dw.data(), true);
      EXPECT_TRUE(close(y, ref.y, 1e-5)) << "forward";
      EXPECT_TRUE(close(dx, ref.dx, 1e-5)) << "backward-data";
      EXPECT_TRUE(close(dw, ref.dw, 1e-5)) << "backward-weight";
    }
  }
  cpu::set_cpu_conv_backend(cpu::CpuConvBackend::kAuto);
}

// kAuto's pick is a function of the shape, never of a timing: with the choices forgotten and made
// again, every pass gives the bits of the backend the rule names (oneDNN from 50 MFLOP and 16
// input channels where it has a JIT kernel, strand's elsewhere). A timed pick let the loaded
// machine choose either on near ties, and `strand predict` differed in the last bit from run to
// run. The shapes ({N, C_in, C_out, L, K, stride, pad left, pad right}): the default cnn's
// convolutions at a batch of 88 (predict's last batch of 600 sequences), near ties on either
// side of 16 channels, and one under 50 MFLOP.
TEST(OneDnnConv1d, AutoPicksTheSameBackendEveryTime) {
  const std::vector<Conv1dShape> shapes = {
      {88, 4, 64, 120, 11, 1, 5, 5}, {88, 64, 128, 30, 7, 1, 3, 3},  {88, 128, 128, 7, 5, 1, 2, 2},
      {16, 8, 64, 500, 11, 1, 0, 0}, {16, 16, 64, 500, 11, 1, 0, 0}, {8, 64, 128, 30, 7, 1, 3, 3}};
  auto run = [](const Conv1dShape& s, const ConvCase& c) {
    ConvOut o{std::vector<float>(s.y_numel()), std::vector<float>(s.x_numel()), c.dw0};
    cpu::conv1d_forward<float>({}, s, c.x.data(), c.w.data(), c.b.data(), o.y.data());
    cpu::conv1d_backward_data<float>({}, s, c.dy.data(), c.w.data(), o.dx.data());
    cpu::conv1d_backward_weight<float>({}, s, c.x.data(), c.dy.data(), o.dw.data(), true);
    return o;
  };
  uint64_t seed = 1900;
  for (const Conv1dShape& s : shapes) {
    SCOPED_TRACE(s.to_string());
    const ConvCase c = make_case(s, seed += 10);
    const bool onednn =
        s.flops() >= 5e7 && s.in_channels >= 16 &&
        cpu::onednn_conv1d_impl(s, Conv1dPass::kForward, false).rfind("ref", 0) != 0;
    cpu::set_cpu_conv_backend(onednn ? cpu::CpuConvBackend::kOneDnn : cpu::CpuConvBackend::kStrand);
    const ConvOut want = run(s, c);
    cpu::set_cpu_conv_backend(cpu::CpuConvBackend::kAuto);
    int differ[3] = {0, 0, 0};  // forward, backward-data, backward-weight: picks of other bits
    for (int repeat = 0; repeat < 20; ++repeat) {
      cpu::clear_cpu_conv_choices();
      const ConvOut got = run(s, c);
      differ[0] += got.y != want.y, differ[1] += got.dx != want.dx, differ[2] += got.dw != want.dw;
    }
    EXPECT_THAT(differ, ::testing::ElementsAre(0, 0, 0))
        << "of 20 picks, expected " << (onednn ? "oneDNN" : "strand");
  }
}

// Under bf16 math the public fast path runs oneDNN's bf16 convolution, or strand's fp32 kernels
// on passes of fewer than 16 input channels per group, within bf16's error either way.
TEST(OneDnnConv1d, Bf16MathOnTheFastPathMatchesTheReference) {
  if (!cpu::cpu_kernel_info().bf16) GTEST_SKIP() << "this CPU has no AVX512-BF16 or AMX";
  std::vector<Conv1dShape> shapes = strand::testing::conv1d_sweep_shapes();
  shapes.push_back({8, 64, 64, 200, 9, 1, 4, 4, 1, 1});
  ASSERT_GE(shapes.back().flops(), 5e7);
  uint64_t seed = 1700;
  const cpu::Bf16MathScope bf16(true);
  for (const Conv1dShape& s : shapes) {
    SCOPED_TRACE(s.to_string());
    const ConvCase c = make_case(s, seed += 10);
    const ConvOut ref = reference(s, c);
    std::vector<float> y(s.y_numel()), dx(s.x_numel()), dw = c.dw0;
    cpu::conv1d_forward<float>({}, s, c.x.data(), c.w.data(), c.b.data(), y.data());
    cpu::conv1d_backward_data<float>({}, s, c.dy.data(), c.w.data(), dx.data());
    cpu::conv1d_backward_weight<float>({}, s, c.x.data(), c.dy.data(), dw.data(), true);
    EXPECT_TRUE(close(y, ref.y, 2e-2)) << "forward";
    EXPECT_TRUE(close(dx, ref.dx, 2e-2)) << "backward-data";
    EXPECT_TRUE(close(dw, ref.dw, 2e-2)) << "backward-weight";
  }
}

// C = alpha op(A) op(B) + beta C in double, for a GemmShape.
std::vector<float> gemm_reference(const GemmShape& s, double alpha, const std::vector<float>& a,
                                  const std::vector<float>& b, double beta, std::vector<float> c) {
  for (int64_t i = 0; i < s.batch; ++i)
    for (int64_t r = 0; r < s.m; ++r)
      for (int64_t col = 0; col < s.n; ++col) {
        double acc = 0;
        for (int64_t k = 0; k < s.k; ++k) {
          const float av = a[i * s.stride_a + (s.trans_a ? k * s.lda + r : r * s.lda + k)];
          const float bv = b[i * s.stride_b + (s.trans_b ? col * s.ldb + k : k * s.ldb + col)];
          acc += static_cast<double>(av) * bv;
        }
        float& out = c[i * s.stride_c + r * s.ldc + col];
        out = static_cast<float>(alpha * acc + beta * out);
      }
  return c;
}

TEST(OneDnnGemm, Fp32AndBf16MatchADoubleLoop) {
  struct Case {
    int64_t m, n, k;
    bool ta, tb;
    int64_t batch;
    bool share_b;
    double alpha, beta;
  };
  const Case cases[] = {
      {7, 5, 3, false, false, 1, false, 1, 0},     {33, 17, 65, true, false, 1, false, 1, 1},
      {16, 40, 9, false, true, 3, false, 0.5, 0},  {12, 31, 20, true, true, 4, true, 1, 0.25},
      {64, 925, 130, false, true, 1, false, 1, 1}, {160, 130, 70, false, true, 2, false, 1, 0.5}};
  const bool bf16_ok = cpu::cpu_kernel_info().bf16;
  uint64_t seed = 40;
  for (const Case& t : cases) {
    GemmShape s = dense_gemm(t.m, t.n, t.k, t.ta, t.tb, t.batch);
    s.ldc = t.n + 3;  // a C wider than n: only its first n columns are touched
    s.stride_c = t.m * s.ldc;
    if (t.share_b) s.stride_b = 0;
    SCOPED_TRACE(::testing::Message() << t.m << "x" << t.n << "x" << t.k << " ta " << t.ta << " tb "
                                      << t.tb << " batch " << t.batch);
    const auto a = random_vector<float>(t.batch * t.m * t.k, ++seed);
    const auto b = random_vector<float>((t.share_b ? 1 : t.batch) * t.k * t.n, ++seed);
    const auto c0 = random_vector<float>(t.batch * s.stride_c, ++seed);
    const auto ref = gemm_reference(s, t.alpha, a, b, t.beta, c0);
    auto c = c0;
    cpu::gemm<float>({}, s, t.alpha, a.data(), b.data(), t.beta, c.data());
    EXPECT_TRUE(close(c, ref, 1e-5)) << "fp32";
    if (!bf16_ok) continue;
    const std::vector<float> fp32 = c;
    c = c0;
    cpu::onednn_matmul_bf16(s, static_cast<float>(t.alpha), a.data(), b.data(),
                            static_cast<float>(t.beta), c.data());
    const std::vector<float> bf16 = c;
    EXPECT_TRUE(
        close(c, gemm_reference(s, t.alpha, bf16_rounded(a), bf16_rounded(b), t.beta, c0), 1e-5))
        << "bf16 against rounded inputs";
    EXPECT_TRUE(close(c, ref, 2e-2)) << "bf16";
    // Under bf16 math the product runs in bf16 from 128 rows and columns and depth 64, else in
    // fp32: the same bits every time (never a timed choice).
    const bool pays = std::min(t.m, t.n) >= 128 && t.k >= 64;
    for (int repeat = 0; repeat < 3; ++repeat) {
      c = c0;
      const cpu::Bf16MathScope bf16_math(true);
      cpu::gemm<float>({}, s, t.alpha, a.data(), b.data(), t.beta, c.data());
      EXPECT_EQ(c, pays ? bf16 : fp32) << "bf16 math, expected " << (pays ? "bf16" : "fp32");
    }
  }
}

// Under the inference hint weights keep their converted copies while unchanged: changing a weight
// in place (one element or all), or alternating weights of one shape, must still give the new
// weight's results.
TEST(OneDnnKeptWeights, FollowTheWeightsContent) {
  const cpu::InferenceScope inference(true);
  const Conv1dShape s{3, 16, 24, 40, 5, 1, 2, 2, 1, 1};
  for (const bool bf16 : {false, true}) {
    if (bf16 && !cpu::cpu_kernel_info().bf16) continue;
    SCOPED_TRACE(bf16 ? "bf16" : "fp32");
    ConvCase c = make_case(s, 77);
    const std::vector<float> other = random_vector<float>(s.w_numel(), 78);
    auto check = [&](const std::vector<float>& w) {
      ConvCase now = c;
      now.w = w;
      if (bf16) now.x = bf16_rounded(c.x), now.w = bf16_rounded(w), now.dy = bf16_rounded(c.dy);
      const ConvOut ref = reference(s, now);
      std::vector<float> y(s.y_numel()), dx(s.x_numel());
      cpu::onednn_conv1d_forward(s, c.x.data(), w.data(), c.b.data(), y.data(), bf16);
      cpu::onednn_conv1d_backward_data(s, c.dy.data(), w.data(), dx.data(), bf16);
      EXPECT_TRUE(close(y, ref.y, 1e-5)) << "forward";
      EXPECT_TRUE(close(dx, ref.dx, 1e-5)) << "backward-data";
    };
    std::vector<float> w = c.w;
    check(w);
    check(w);  // the kept copy
    {          // an unkept conversion (training's) must not overwrite a kept copy
      const cpu::InferenceScope training(false);
      std::vector<float> y(s.y_numel());
      cpu::onednn_conv1d_forward(s, c.x.data(), other.data(), c.b.data(), y.data(), bf16);
    }
    check(w);
    w[17] += 0.5f;  // one element, same address
    check(w);
    w = other;  // every element (the vector keeps its buffer)
    check(w);
    std::vector<float> w2 = c.w;  // two weights of one shape, alternating
    for (int i = 0; i < 3; ++i) check(i % 2 ? w : w2);
  }
  if (!cpu::cpu_kernel_info().bf16) GTEST_SKIP() << "the bf16 part: no AVX512-BF16 or AMX";
  GemmShape g = dense_gemm(8, 40, 24, false, true);
  const auto a = random_vector<float>(g.m * g.k, 81);
  auto b = random_vector<float>(g.k * g.n, 82);
  const std::vector<float> c0(g.m * g.n, 0.f);
  for (int step = 0; step < 4; ++step) {
    if (step >= 2) b[step * 5] -= 1.f;
    auto c = c0;
    cpu::onednn_matmul_bf16(g, 1.f, a.data(), b.data(), 0.f, c.data());
    EXPECT_TRUE(close(c, gemm_reference(g, 1, bf16_rounded(a), bf16_rounded(b), 0, c0), 1e-5))
        << "matmul step " << step;
  }
  // Inside an UnchangedWeightsScope the weight is checked once; after it, changes are seen again.
  {
    const cpu::UnchangedWeightsScope unchanged;
    auto c = c0;
    cpu::onednn_matmul_bf16(g, 1.f, a.data(), b.data(), 0.f, c.data());
    EXPECT_TRUE(close(c, gemm_reference(g, 1, bf16_rounded(a), bf16_rounded(b), 0, c0), 1e-5));
  }
  b[3] += 2.f;
  auto c = c0;
  cpu::onednn_matmul_bf16(g, 1.f, a.data(), b.data(), 0.f, c.data());
  EXPECT_TRUE(close(c, gemm_reference(g, 1, bf16_rounded(a), bf16_rounded(b), 0, c0), 1e-5))
      << "after the scope";
}

TEST(OneDnnGemm, Bf16MathIsScopedAndNested) {
  EXPECT_FALSE(cpu::bf16_math());
  {
    const cpu::Bf16MathScope on(true);
    EXPECT_TRUE(cpu::bf16_math());
    {
      const cpu::Bf16MathScope off(false);
      EXPECT_FALSE(cpu::bf16_math());
    }
    EXPECT_TRUE(cpu::bf16_math());
  }
  EXPECT_FALSE(cpu::bf16_math());
}

// The issue this guards against: a generic library build running pre-AVX2 kernels on a server
// CPU (Debian's OpenBLAS ran its `Prescott` kernels on a Xeon with AVX-512 and AMX).
TEST(OneDnnIsa, AnAvx512MachineRunsAvx512Kernels) {
  const cpu::CpuKernelInfo info = cpu::cpu_kernel_info();
  std::cout << "CPU ISA (oneDNN): " << info.isa << ", fp32 GEMM: " << info.gemm_fp32 << "\n";
  // DeepSEA's second convolution.
  const Conv1dShape deepsea{64, 320, 480, 248, 8, 1, 0, 0, 1, 1};
  for (Conv1dPass pass :
       {Conv1dPass::kForward, Conv1dPass::kBackwardData, Conv1dPass::kBackwardWeight}) {
    const std::string impl = cpu::onednn_conv1d_impl(deepsea, pass, false);
    std::cout << to_string(pass) << ": " << impl << "\n";
    EXPECT_THAT(impl, ::testing::Not(HasSubstr("ref"))) << to_string(pass);
    if (info.avx512) {
      EXPECT_THAT(impl, HasSubstr("avx512")) << to_string(pass);
    } else if (info.avx2) {
      EXPECT_THAT(impl, ::testing::AnyOf(HasSubstr("avx2"), HasSubstr("avx512")))
          << to_string(pass);
    }
  }
  if (info.avx512) {
    EXPECT_THAT(info.isa, ::testing::StartsWith("avx512_core"));
    EXPECT_THAT(info.gemm_fp32, HasSubstr("avx512_core"));
  } else if (info.avx2) {
    EXPECT_THAT(info.isa,
                ::testing::AnyOf(::testing::StartsWith("avx2"), ::testing::StartsWith("avx512")));
  }
  if (info.bf16) {
    const std::string impl = cpu::onednn_matmul_bf16_impl(64, 925, 512);
    std::cout << "bf16 matmul: " << impl << "\n";
    EXPECT_THAT(impl, ::testing::Not(HasSubstr("ref")));
    EXPECT_THAT(cpu::onednn_conv1d_impl(deepsea, Conv1dPass::kForward, true),
                ::testing::AnyOf(HasSubstr("bf16"), HasSubstr("amx")));
  }
}

}  // namespace
}  // namespace strand::kernels
