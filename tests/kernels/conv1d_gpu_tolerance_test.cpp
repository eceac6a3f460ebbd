// The CUDA conv1d tests' tolerances (conv1d_gpu_tolerance), validated without a GPU: each pass is
// computed here from operands rounded the way the GPU paths round them (TF32: cvt.rna, 10 mantissa
// bits; 3xTF32 for fp32: hi*hi + hi*lo + lo*hi; bf16: bf16 operands and a bf16 output) and checked
// against the float64 reference by the GPU tests' own rule, with a factor 4 to spare for the
// GPU's different summation orders. A tolerance a correct kernel cannot meet fails here first,
// and so does an fp32 tolerance too loose to notice plain TF32 where 3xTF32 was promised.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/bfloat16.h"
#include "kernels/conv1d/conv1d.h"
#include "tests/kernels/conv1d_test_shapes.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using strand::testing::conv1d_gpu_tolerance;
using strand::testing::random_vector;

// cvt.rna.tf32.f32: round to nearest, ties away from zero, keeping 10 mantissa bits.
double tf32(double v) {
  const float f = static_cast<float>(v);
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u = (u + 0x1000u) & 0xffffe000u;
  float r;
  std::memcpy(&r, &u, 4);
  return r;
}

std::vector<double> rounded(const std::vector<double>& v, double (*round)(double)) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = round(v[i]);
  return out;
}
std::vector<double> tf32_low(const std::vector<double>& v) {  // the 3xTF32 low part
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = tf32(static_cast<float>(v[i]) - tf32(v[i]));
  return out;
}

// pass(a, b): one conv1d pass in float64 of two operands (x, w / dy, w / x, dy).
using Pass = std::vector<double> (*)(const Conv1dShape&, const std::vector<double>&,
                                     const std::vector<double>&);
std::vector<double> forward(const Conv1dShape& s, const std::vector<double>& x,
                            const std::vector<double>& w) {
  std::vector<double> y(s.y_numel());
  cpu::conv1d_forward<double>({}, s, x.data(), w.data(), nullptr, y.data());
  return y;
}
std::vector<double> backward_data(const Conv1dShape& s, const std::vector<double>& dy,
                                  const std::vector<double>& w) {
  std::vector<double> dx(s.x_numel());
  cpu::conv1d_backward_data<double>({}, s, dy.data(), w.data(), dx.data());
  return dx;
}
std::vector<double> backward_weight(const Conv1dShape& s, const std::vector<double>& x,
                                    const std::vector<double>& dy) {
  std::vector<double> dw(s.w_numel());
  cpu::conv1d_backward_weight<double>({}, s, x.data(), dy.data(), dw.data(), false);
  return dw;
}

// The largest error over the GPU tests' allowance atol + rtol |ref| (tol = rtol, atol = tol
// max|ref|).
double worst_share(const std::vector<double>& got, const std::vector<double>& ref, double tol) {
  double amax = 0, worst = 0;
  for (double r : ref) amax = std::max(amax, std::abs(r));
  for (size_t i = 0; i < ref.size(); ++i)
    worst = std::max(worst, std::abs(got[i] - ref[i]) / (tol * amax + tol * std::abs(ref[i])));
  return worst;
}

TEST(Conv1dGpuTolerance, RoundedOperandsPassWithRoomToSpare) {
  auto shapes = strand::testing::conv1d_sweep_shapes();
  shapes.push_back({8, 288, 288, 64, 3, 1, 4, 4, 4, 1});  // the GPU test's deepest reduction
  uint64_t seed = 7;
  for (const Conv1dShape& s : shapes) {
    const std::vector<double> x = random_vector<double>(s.x_numel(), ++seed),
                              w = random_vector<double>(s.w_numel(), ++seed),
                              dy = random_vector<double>(s.y_numel(), ++seed);
    struct Case {
      const char* name;
      Pass pass;
      const std::vector<double>&a, &b;
    };
    const Case cases[] = {{"forward", forward, x, w},
                          {"backward_data", backward_data, dy, w},
                          {"backward_weight", backward_weight, x, dy}};
    for (const Case& c : cases) {
      SCOPED_TRACE(s.to_string() + " " + c.name);
      // The tests feed float tensors: the reference is the float64 pass of the float values.
      const auto af = rounded(c.a, [](double v) { return double(float(v)); });
      const auto bf = rounded(c.b, [](double v) { return double(float(v)); });
      const auto ref = c.pass(s, af, bf);

      const auto tf = c.pass(s, rounded(af, tf32), rounded(bf, tf32));
      const auto lo_a = tf32_low(af), lo_b = tf32_low(bf);
      const auto hi_a = rounded(af, tf32), hi_b = rounded(bf, tf32);
      auto x3 = c.pass(s, hi_a, hi_b);
      const auto hl = c.pass(s, hi_a, lo_b), lh = c.pass(s, lo_a, hi_b);
      for (size_t i = 0; i < x3.size(); ++i) x3[i] = float(x3[i] + hl[i] + lh[i]);

      EXPECT_LE(worst_share(x3, ref, conv1d_gpu_tolerance(Conv1dPrecision::kFp32)), 0.25)
          << "3xTF32 against the fp32 tolerance";
      EXPECT_LE(worst_share(tf, ref, conv1d_gpu_tolerance(Conv1dPrecision::kTf32)), 0.25)
          << "TF32 against the tf32 tolerance";
      // Plain TF32 must NOT meet the fp32 tolerance (measured: 13x to 27x over it): otherwise the
      // fp32 test could not tell 3xTF32 from a kernel that silently dropped to one TF32 product.
      EXPECT_GT(worst_share(tf, ref, conv1d_gpu_tolerance(Conv1dPrecision::kFp32)), 4.0)
          << "the fp32 tolerance is too loose to catch plain TF32";

      // bf16: the tests' operands are bf16 values already; the output is rounded to bf16.
      const auto ab = rounded(c.a, [](double v) { return double(float(BFloat16(float(v)))); });
      const auto bb = rounded(c.b, [](double v) { return double(float(BFloat16(float(v)))); });
      const auto ref_b = c.pass(s, ab, bb);
      const auto out_b = rounded(ref_b, [](double v) { return double(float(BFloat16(float(v)))); });
      EXPECT_LE(worst_share(out_b, ref_b, conv1d_gpu_tolerance(Conv1dPrecision::kBf16)), 0.25)
          << "bf16 output rounding against the bf16 tolerance";
    }
  }
}

}  // namespace
}  // namespace strand::kernels
