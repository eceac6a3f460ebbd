// CPU LSTM/GRU kernels: hand-computed tiny cases, float64 finite-difference gradchecks of every
// gradient, the BLAS fast path against the reference, masking, parameter names and bad inputs.
#include "kernels/rnn/rnn.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "kernels/common/onednn.h"
#include "kernels/rnn/rnn_detail.h"
#include "tests/kernels/rnn_problem.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using testing::all_close;
using ::testing::HasSubstr;
using testing::RnnProblem;

// Forward outputs and, for backward, every gradient of one run.
template <typename T>
struct RunResult {
  std::vector<T> y, h_n, c_n, dx, dh0, dc0;
  std::vector<std::vector<T>> dparams;
};

// Runs forward (and backward with the given output gradients) on the reference or fast path.
template <typename T>
RunResult<T> run(const RnnProblem<T>& p, bool fast, const std::vector<T>* dy = nullptr,
                 const std::vector<T>* dhn = nullptr, const std::vector<T>* dcn = nullptr) {
  RunResult<T> r;
  r.y.assign(p.out_count(), T(-7));
  r.h_n.assign(p.state_count(), T(-7));
  r.c_n.assign(p.lstm() ? p.state_count() : 0, T(-7));
  const auto w = p.weights();
  const auto masks = p.mask_ptrs();
  RnnInputs<T> in{p.x.data(),
                  p.lengths,
                  p.use_h0 ? p.h0.data() : nullptr,
                  p.use_h0 && p.lstm() ? p.c0.data() : nullptr,
                  w,
                  masks};
  RnnOutputs<T> out{r.y.data(), r.h_n.data(), p.lstm() ? r.c_n.data() : nullptr};
  std::vector<unsigned char> reserve;
  if (fast) {
    reserve.resize(cpu::rnn_reserve_bytes(p.shape, dtype_of<T>));
    cpu::rnn_forward({}, p.shape, in, out, reserve.data());
  } else {
    cpu::rnn_forward_reference(p.shape, in, out);
  }
  if (!dy) return r;
  r.dx.assign(p.x.size(), T(-7));
  r.dh0.assign(p.state_count(), T(-7));
  r.dc0.assign(p.lstm() ? p.state_count() : 0, T(-7));
  for (const auto& v : p.params) r.dparams.emplace_back(v.size(), T(0));
  std::vector<std::vector<T>>& dp = r.dparams;
  const auto grads = p.template sets<RnnLayerGrads<T>>([&](int64_t i) { return dp[i].data(); });
  RnnGradOutputs<T> dout{dy->data(), dhn ? dhn->data() : nullptr, dcn ? dcn->data() : nullptr};
  RnnGradInputs<T> din{r.dx.data(), r.dh0.data(), p.lstm() ? r.dc0.data() : nullptr, grads, {}};
  if (fast) {
    cpu::rnn_backward({}, p.shape, in, reserve.data(), dout, din);
  } else {
    cpu::rnn_backward_reference(p.shape, in, dout, din);
  }
  return r;
}

RnnShape tiny(RnnMode mode) {
  RnnShape s = testing::rnn_shape(mode, 2, 1, 1, 1);
  return s;
}

// Weights chosen by hand; expected values from the textbook equations evaluated independently
// (a few lines of Python with math.exp/tanh): see the comments.
TEST(RnnCpu, TinyLstmMatchesHandComputedValues) {
  const RnnShape s = tiny(RnnMode::kLstm);
  const std::vector<double> w_ih{0.5, -0.5, 1.0, 0.25}, w_hh{0.1, 0.2, -0.3, 0.4},
      b_ih{0.1, 0.0, 0.0, -0.1}, b_hh{0.0, 0.1, 0.05, 0.0}, x{1.0, -1.0}, h0{0.2}, c0{-0.1};
  const std::vector<RnnLayerWeights<double>> w{
      {w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()}};
  RnnInputs<double> in{x.data(), {}, h0.data(), c0.data(), w, {}};
  for (bool fast : {false, true}) {
    std::vector<double> y(2), hn(1), cn(1);
    std::vector<unsigned char> reserve(cpu::rnn_reserve_bytes(s, DType::kF64));
    if (fast) {
      cpu::rnn_forward({}, s, in, {y.data(), hn.data(), cn.data()}, reserve.data());
    } else {
      cpu::rnn_forward_reference(s, in, {y.data(), hn.data(), cn.data()});
    }
    // p = W_ih x + b_ih + W_hh h + b_hh; i,f,o = sigmoid, g = tanh; c = f c + i g; h = o tanh(c)
    EXPECT_NEAR(y[0], 0.23572266383060483, 1e-12) << "fast " << fast;
    EXPECT_NEAR(y[1], -0.007501882469717198, 1e-12);
    EXPECT_NEAR(hn[0], -0.007501882469717198, 1e-12);
    EXPECT_NEAR(cn[0], -0.01719135219971185, 1e-12);
  }
}

TEST(RnnCpu, TinyGruMatchesHandComputedValues) {
  const RnnShape s = tiny(RnnMode::kGru);
  const std::vector<double> w_ih{0.5, -0.5, 1.0}, w_hh{0.1, 0.2, -0.3}, b_ih{0.1, 0.0, 0.05},
      b_hh{0.0, 0.1, 0.2}, x{1.0, -1.0}, h0{0.2};
  const std::vector<RnnLayerWeights<double>> w{
      {w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()}};
  RnnInputs<double> in{x.data(), {}, h0.data(), nullptr, w, {}};
  for (bool fast : {false, true}) {
    std::vector<double> y(2), hn(1);
    std::vector<unsigned char> reserve(cpu::rnn_reserve_bytes(s, DType::kF64));
    if (fast) {
      cpu::rnn_forward({}, s, in, {y.data(), hn.data(), nullptr}, reserve.data());
    } else {
      cpu::rnn_forward_reference(s, in, {y.data(), hn.data(), nullptr});
    }
    // r,z = sigmoid(W_i x + b_i + W_h h + b_h); n = tanh(W_in x + b_in + r (W_hn h + b_hn));
    // h' = (1 - z) n + z h
    EXPECT_NEAR(y[0], 0.5621189891768881, 1e-12) << "fast " << fast;
    EXPECT_NEAR(y[1], 0.13566784750913205, 1e-12);
    EXPECT_NEAR(hn[0], 0.13566784750913205, 1e-12);
  }
}

struct GradCase {
  const char* name;
  RnnMode mode;
  bool bidirectional;
  int64_t layers;
  bool batch_first;
  bool bias;
  bool h0;
  bool masks;
  std::vector<int32_t> lengths;
};

void PrintTo(const GradCase& c, std::ostream* os) { *os << c.name; }

class RnnGradcheck : public ::testing::TestWithParam<GradCase> {};

// Loss = <y, Ry> + <h_n, Rh> + <c_n, Rc>; every analytic gradient (reference and fast path) is
// compared with central differences of the reference forward.
TEST_P(RnnGradcheck, EveryGradientMatchesFiniteDifferences) {
  const GradCase& c = GetParam();
  RnnShape s = testing::rnn_shape(c.mode, 4, 3, 3, 3, c.layers, c.bidirectional);
  s.batch_first = c.batch_first;
  s.bias = c.bias;
  RnnProblem<double> p(s, c.lengths, 11, c.h0, c.masks, 0.8);
  const auto ry = testing::random_vector<double>(p.out_count(), 101);
  const auto rh = testing::random_vector<double>(p.state_count(), 102);
  const auto rc = testing::random_vector<double>(p.state_count(), 103);
  auto loss = [&] {
    const RunResult<double> r = run(p, false);
    double l = 0;
    for (size_t i = 0; i < r.y.size(); ++i) l += r.y[i] * ry[i];
    for (size_t i = 0; i < r.h_n.size(); ++i) l += r.h_n[i] * rh[i];
    for (size_t i = 0; i < r.c_n.size(); ++i) l += r.c_n[i] * rc[i];
    return l;
  };
  auto numeric = [&](std::vector<double>& v) {
    std::vector<double> g(v.size());
    const double eps = 1e-6;
    for (size_t i = 0; i < v.size(); ++i) {
      const double keep = v[i];
      v[i] = keep + eps;
      const double up = loss();
      v[i] = keep - eps;
      const double down = loss();
      v[i] = keep;
      g[i] = (up - down) / (2 * eps);
    }
    return g;
  };
  const RunResult<double> ref = run(p, false, &ry, &rh, p.lstm() ? &rc : nullptr);
  const RunResult<double> fast = run(p, true, &ry, &rh, p.lstm() ? &rc : nullptr);
  const double rtol = 1e-5, atol = 1e-7;
  EXPECT_TRUE(all_close(ref.dx, numeric(p.x), rtol, atol)) << "d_input";
  EXPECT_TRUE(all_close(fast.dx, ref.dx, 1e-10, 1e-12)) << "fast d_input";
  if (c.h0) {
    EXPECT_TRUE(all_close(ref.dh0, numeric(p.h0), rtol, atol)) << "d_h0";
    EXPECT_TRUE(all_close(fast.dh0, ref.dh0, 1e-10, 1e-12)) << "fast d_h0";
    if (p.lstm()) {
      EXPECT_TRUE(all_close(ref.dc0, numeric(p.c0), rtol, atol)) << "d_c0";
      EXPECT_TRUE(all_close(fast.dc0, ref.dc0, 1e-10, 1e-12)) << "fast d_c0";
    }
  }
  const auto infos = rnn_parameters(s);
  for (size_t k = 0; k < p.params.size(); ++k) {
    EXPECT_TRUE(all_close(ref.dparams[k], numeric(p.params[k]), rtol, atol)) << infos[k].name;
    EXPECT_TRUE(all_close(fast.dparams[k], ref.dparams[k], 1e-10, 1e-12))
        << "fast " << infos[k].name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RnnGradcheck,
    ::testing::Values(
        GradCase{
            "LstmBiTwoLayersLengths", RnnMode::kLstm, true, 2, false, true, true, true, {4, 2, 1}},
        GradCase{
            "GruBiTwoLayersBatchFirst", RnnMode::kGru, true, 2, true, true, true, true, {3, 4, 1}},
        GradCase{"LstmUniNoBiasNoH0", RnnMode::kLstm, false, 2, true, false, false, false, {}},
        GradCase{
            "GruUniOneLayerLengths", RnnMode::kGru, false, 1, false, true, true, false, {2, 4, 3}}),
    [](const auto& info) { return std::string(info.param.name); });

template <typename T>
void expect_fast_matches_reference(RnnMode mode, double rtol, double atol) {
  RnnShape s = testing::rnn_shape(mode, 9, 6, 7, 13, 3, true);
  RnnProblem<T> p(s, {9, 1, 5, 9, 3, 8}, 21, true, true);
  const auto dy = testing::random_vector<T>(p.out_count(), 31);
  const auto dh = testing::random_vector<T>(p.state_count(), 32);
  const auto dc = testing::random_vector<T>(p.state_count(), 33);
  const auto ref = run(p, false, &dy, &dh, p.lstm() ? &dc : nullptr);
  const auto fast = run(p, true, &dy, &dh, p.lstm() ? &dc : nullptr);
  EXPECT_TRUE(all_close(fast.y, ref.y, rtol, atol)) << "output";
  EXPECT_TRUE(all_close(fast.h_n, ref.h_n, rtol, atol)) << "h_n";
  EXPECT_TRUE(all_close(fast.c_n, ref.c_n, rtol, atol)) << "c_n";
  EXPECT_TRUE(all_close(fast.dx, ref.dx, rtol, atol)) << "d_input";
  EXPECT_TRUE(all_close(fast.dh0, ref.dh0, rtol, atol)) << "d_h0";
  EXPECT_TRUE(all_close(fast.dc0, ref.dc0, rtol, atol)) << "d_c0";
  for (size_t k = 0; k < p.params.size(); ++k)
    EXPECT_TRUE(all_close(fast.dparams[k], ref.dparams[k], rtol, atol)) << "param " << k;
}

TEST(RnnCpu, FastPathMatchesReferenceFloatLstm) {
  expect_fast_matches_reference<float>(RnnMode::kLstm, 1e-4, 1e-5);
}
TEST(RnnCpu, FastPathMatchesReferenceFloatGru) {
  expect_fast_matches_reference<float>(RnnMode::kGru, 1e-4, 1e-5);
}
TEST(RnnCpu, FastPathMatchesReferenceDoubleLstm) {
  expect_fast_matches_reference<double>(RnnMode::kLstm, 1e-11, 1e-13);
}

// Under bf16 math (products in bf16 where timed faster) and the inference hint (weights kept
// converted across calls, the reverse direction on the persistent second thread), the fast path
// stays within bf16's error of the reference, also after a weight changes in place between calls.
TEST(RnnCpu, Bf16MathAndKeptWeightsMatchTheReference) {
  if (!cpu::cpu_kernel_info().bf16) GTEST_SKIP() << "this CPU has no AVX512-BF16 or AMX";
  RnnShape s = testing::rnn_shape(RnnMode::kLstm, 12, 16, 24, 32, 2, true);
  RnnProblem<float> p(s, {}, 51, true, true);
  for (const bool inference : {false, true}) {
    const cpu::Bf16MathScope bf16(true);
    const cpu::InferenceScope hint(inference);
    for (int call = 0; call < 3; ++call) {
      if (call == 2) p.params[1][5] += 0.25f;  // weight_hh of layer 0, same address
      const auto ref = run(p, false);          // plain loops in double: no bf16 math
      const auto fast = run(p, true);
      EXPECT_TRUE(all_close(fast.y, ref.y, 3e-2, 1e-2))
          << "inference " << inference << " call " << call;
      EXPECT_TRUE(all_close(fast.h_n, ref.h_n, 3e-2, 1e-2));
    }
  }
}

// Outputs past each length are zero; h_n is the forward output at the last valid step and the
// reverse output at t = 0; a sample's results do not depend on its padding.
TEST(RnnCpu, PaddingIsMaskedInBothDirections) {
  for (bool fast : {false, true}) {
    RnnShape s = testing::rnn_shape(RnnMode::kLstm, 6, 3, 4, 5, 1, true);
    RnnProblem<double> p(s, {6, 2, 4}, 5, true, false);
    const auto a = run(p, fast);
    for (int64_t n = 0; n < 3; ++n)
      for (int64_t t = p.lengths[n]; t < 6; ++t) p.x[(t * 3 + n) * 4 + 1] = 1e30;  // padding
    const auto b = run(p, fast);
    EXPECT_TRUE(all_close(b.y, a.y, 0, 0)) << "padding leaked, fast " << fast;
    const int64_t H = 5, DH = 10;
    for (int64_t n = 0; n < 3; ++n) {
      const int64_t len = p.lengths[n];
      for (int64_t t = len; t < 6; ++t)
        for (int64_t k = 0; k < DH; ++k) EXPECT_EQ(a.y[(t * 3 + n) * DH + k], 0.0);
      for (int64_t j = 0; j < H; ++j) {
        EXPECT_EQ(a.h_n[n * H + j], a.y[((len - 1) * 3 + n) * DH + j]);
        EXPECT_EQ(a.h_n[(3 + n) * H + j], a.y[n * DH + H + j]);
      }
    }
  }
}

// Optional gradients may be left out (null d_input/d_h0, no weight gradients): the rest is
// unchanged, on both paths.
TEST(RnnCpu, OptionalGradientsMayBeOmitted) {
  RnnShape s = testing::rnn_shape(RnnMode::kGru, 5, 3, 4, 6, 2, true);
  const RnnProblem<double> p(s, {5, 2, 4}, 3, true, true);
  const auto dy = testing::random_vector<double>(p.out_count(), 41);
  const auto full = run(p, false, &dy);
  const auto w = p.weights();
  const auto masks = p.mask_ptrs();
  const RnnInputs<double> in{p.x.data(), p.lengths, p.h0.data(), nullptr, w, masks};
  for (bool fast : {false, true}) {
    std::vector<double> dh0(p.state_count(), -7);
    const RnnGradOutputs<double> dout{dy.data(), nullptr, nullptr};
    const RnnGradInputs<double> din{nullptr, dh0.data(), nullptr, {}, {}};
    if (fast) {
      std::vector<unsigned char> reserve(cpu::rnn_reserve_bytes(s, DType::kF64));
      std::vector<double> y(p.out_count());
      cpu::rnn_forward({}, s, in, {y.data(), nullptr, nullptr}, reserve.data());
      cpu::rnn_backward({}, s, in, reserve.data(), dout, din);
    } else {
      cpu::rnn_backward_reference(s, in, dout, din);
    }
    EXPECT_TRUE(all_close(dh0, full.dh0, 1e-11, 1e-13)) << "fast " << fast;
  }
}

// The per-unit functions the CUDA kernels run (detail::rnn_forward_unit / rnn_backward_unit),
// driven on the host exactly as the step-GEMM and persistent kernels drive them (reserve layout,
// hh products per step, dh_rec from dgh of step s+1, dh0 from dgh of step 0), against the
// reference. This checks their indexing without a GPU.
template <typename T>
void expect_unit_functions_match_reference(RnnMode mode) {
  RnnShape s = testing::rnn_shape(mode, 6, 4, 5, 7, 1, true);
  const RnnProblem<T> p(s, {6, 2, 5, 1}, 13, true, false);
  const int64_t T_ = 6, N = 4, I = 5, H = 7, D = 2, G = s.gates(), GH = G * H, NH = N * H;
  const bool lstm = mode == RnnMode::kLstm;
  const auto dy = testing::random_vector<T>(p.out_count(), 51);
  const auto dhn = testing::random_vector<T>(p.state_count(), 52);
  const auto dcn = testing::random_vector<T>(p.state_count(), 53);
  const auto ref = run(p, false, &dy, &dhn, lstm ? &dcn : nullptr);

  const detail::RnnReserveLayout lay(s);
  std::vector<T> R(lay.total, T(0)), gx(D * T_ * N * GH), hh(N * GH), hn(p.state_count()),
      cn(p.state_count());
  const auto w = p.weights();
  detail::RnnDirBuffers<T> bufs[2];
  detail::RnnDims dims[2];
  for (int64_t d = 0; d < D; ++d) {
    T* g = gx.data() + d * T_ * N * GH;
    for (int64_t row = 0; row < T_ * N; ++row)
      for (int64_t r = 0; r < GH; ++r) {
        T a = w[d].bias_ih[r] + ((lstm || r < 2 * H) ? w[d].bias_hh[r] : T(0));
        for (int64_t k = 0; k < I; ++k) a += w[d].weight_ih[r * I + k] * p.x[row * I + k];
        g[row * GH + r] = a;
      }
    bufs[d] = detail::rnn_dir_buffers<T>(s, R.data(), lay, 0, d, g, w[d].bias_hh);
    bufs[d].h_n = hn.data() + d * NH;
    bufs[d].c_n = cn.data() + d * NH;
    dims[d] = detail::RnnDims{T_, N, H, D, lstm, d == 1};
    for (int64_t i = 0; i < NH; ++i) {
      bufs[d].hs[i] = p.h0[d * NH + i];
      if (lstm) bufs[d].cs[i] = p.c0[d * NH + i];
    }
  }
  for (int64_t step = 0; step < T_; ++step)
    for (int64_t d = 0; d < D; ++d) {
      const T* h = bufs[d].hs + step * NH;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t r = 0; r < GH; ++r) {
          T a = 0;
          for (int64_t k = 0; k < H; ++k) a += w[d].weight_hh[r * H + k] * h[n * H + k];
          hh[n * GH + r] = a;
        }
      for (int64_t n = 0; n < N; ++n)
        for (int64_t j = 0; j < H; ++j) {
          const T vals[4] = {hh[n * GH + j], hh[n * GH + H + j], hh[n * GH + 2 * H + j],
                             lstm ? hh[n * GH + 3 * H + j] : T(0)};
          detail::rnn_forward_unit(bufs[d], dims[d], step, n, j, int64_t{p.lengths[n]}, vals,
                                   h[n * H + j]);
        }
    }
  const std::vector<T> y(R.begin() + lay.y(0), R.begin() + lay.y(0) + p.out_count());
  EXPECT_TRUE(all_close(y, ref.y, 1e-12, 1e-14)) << "output";
  EXPECT_TRUE(all_close(hn, ref.h_n, 1e-12, 1e-14)) << "h_n";
  if (lstm) {
    EXPECT_TRUE(all_close(cn, ref.c_n, 1e-12, 1e-14)) << "c_n";
  }

  std::vector<T> dgx(D * T_ * N * GH), dgh(D * T_ * N * GH), dh_carry(dhn), dc_carry(dcn),
      dx(p.x.size(), T(0)), dh0(p.state_count());
  for (int64_t d = 0; d < D; ++d) {
    T* xd = dgx.data() + d * T_ * N * GH;
    T* hd = dgh.data() + d * T_ * N * GH;
    for (int64_t step = T_ - 1; step >= 0; --step)
      for (int64_t n = 0; n < N; ++n)
        for (int64_t j = 0; j < H; ++j) {
          T rec = 0;
          if (step + 1 < T_)
            for (int64_t r = 0; r < GH; ++r)
              rec += hd[((step + 1) * N + n) * GH + r] * w[d].weight_hh[r * H + j];
          detail::rnn_backward_unit(bufs[d], dims[d], step, n, j, int64_t{p.lengths[n]}, rec,
                                    dh_carry.data() + d * NH, dc_carry.data() + d * NH,
                                    dy.data() + d * H, xd, hd);
        }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t j = 0; j < H; ++j) {
        T a = dh_carry[d * NH + n * H + j];
        for (int64_t r = 0; r < GH; ++r) a += hd[n * GH + r] * w[d].weight_hh[r * H + j];
        dh0[d * NH + n * H + j] = a;
      }
    for (int64_t row = 0; row < T_ * N; ++row)
      for (int64_t k = 0; k < I; ++k)
        for (int64_t r = 0; r < GH; ++r)
          dx[row * I + k] += xd[row * GH + r] * w[d].weight_ih[r * I + k];
    std::vector<T> dw_hh(GH * H, T(0));
    for (int64_t row = 0; row < T_ * N; ++row)
      for (int64_t r = 0; r < GH; ++r)
        for (int64_t k = 0; k < H; ++k)
          dw_hh[r * H + k] += hd[row * GH + r] * bufs[d].hs[row * H + k];
    EXPECT_TRUE(all_close(dw_hh, ref.dparams[d * 4 + 1], 1e-11, 1e-13)) << "weight_hh dir " << d;
  }
  EXPECT_TRUE(all_close(dx, ref.dx, 1e-11, 1e-13)) << "d_input";
  EXPECT_TRUE(all_close(dh0, ref.dh0, 1e-11, 1e-13)) << "d_h0";
  if (lstm) {
    EXPECT_TRUE(all_close(dc_carry, ref.dc0, 1e-11, 1e-13)) << "d_c0";
  }
}

TEST(RnnCpu, CudaUnitFunctionsMatchReferenceLstm) {
  expect_unit_functions_match_reference<double>(RnnMode::kLstm);
}
TEST(RnnCpu, CudaUnitFunctionsMatchReferenceGru) {
  expect_unit_functions_match_reference<double>(RnnMode::kGru);
}

TEST(RnnCpu, ParameterNamesAndShapesFollowPyTorch) {
  RnnShape s = testing::rnn_shape(RnnMode::kGru, 5, 2, 7, 4, 2, true);
  const auto p = rnn_parameters(s);
  ASSERT_EQ(p.size(), 16u);
  EXPECT_EQ(p[0].name, "weight_ih_l0");
  EXPECT_EQ(p[0].shape, (std::vector<int64_t>{12, 7}));
  EXPECT_EQ(p[1].name, "weight_hh_l0");
  EXPECT_EQ(p[1].shape, (std::vector<int64_t>{12, 4}));
  EXPECT_EQ(p[2].name, "bias_ih_l0");
  EXPECT_EQ(p[3].name, "bias_hh_l0");
  EXPECT_EQ(p[3].shape, (std::vector<int64_t>{12}));
  EXPECT_EQ(p[4].name, "weight_ih_l0_reverse");
  EXPECT_EQ(p[8].name, "weight_ih_l1");
  EXPECT_EQ(p[8].shape, (std::vector<int64_t>{12, 8}));
  EXPECT_EQ(p[15].name, "bias_hh_l1_reverse");
  s.bias = false;
  s.mode = RnnMode::kLstm;
  const auto q = rnn_parameters(s);
  ASSERT_EQ(q.size(), 8u);
  EXPECT_EQ(q[2].name, "weight_ih_l0_reverse");
  EXPECT_EQ(q[0].shape, (std::vector<int64_t>{16, 7}));
}

template <typename Fn>
void expect_error(Fn&& fn, const std::string& text) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one containing: " << text;
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr(text));
  }
}

TEST(RnnCpu, BadInputsRaiseClearErrors) {
  RnnShape s = testing::rnn_shape(RnnMode::kLstm, 4, 2, 3, 5);
  RnnProblem<float> p(s, {}, 1, false, false);
  std::vector<float> y(p.out_count());
  auto forward = [&](const RnnShape& sh, std::vector<int32_t> lens,
                     std::vector<RnnLayerWeights<float>> w, std::vector<const float*> masks = {}) {
    RnnInputs<float> in{p.x.data(), lens, nullptr, nullptr, w, masks};
    cpu::rnn_forward_reference(sh, in, {y.data(), nullptr, nullptr});
  };
  expect_error([&] { forward(s, {4, 5}, p.weights()); }, "longer than seq_len 4");
  expect_error([&] { forward(s, {0, 2}, p.weights()); }, "lengths must be >= 1");
  expect_error([&] { forward(s, {4, 4, 4}, p.weights()); }, "batch mismatch: 3 sequence lengths");
  expect_error([&] { forward(s, {}, {}); }, "expects 1 weight sets");
  auto nobias = p.weights();
  nobias[0].bias_hh = nullptr;
  expect_error([&] { forward(s, {}, nobias); }, "bias_hh_l0 must be set");
  RnnShape two = s;
  two.num_layers = 2;
  RnnProblem<float> q(two, {}, 1, false, false);
  const float* one_mask = y.data();
  expect_error(
      [&] {
        RnnInputs<float> in{q.x.data(), {}, nullptr, nullptr, q.weights(), {one_mask}};
        in.dropout_masks = {};
        cpu::rnn_forward({}, two, in, {y.data(), nullptr, nullptr}, nullptr);
      },
      "reserve is null");
  std::vector<const float*> masks{one_mask, one_mask};
  const auto qw = q.weights();
  expect_error(
      [&] {
        RnnInputs<float> in{q.x.data(), {}, nullptr, nullptr, qw, masks};
        cpu::rnn_forward_reference(two, in, {y.data(), nullptr, nullptr});
      },
      "expects 0 or 1 dropout masks");
  RnnShape bad = s;
  bad.hidden_size = 0;
  expect_error([&] { forward(bad, {}, p.weights()); }, "hidden_size must be positive");
  const std::vector<int64_t> w_shape{20, 4};
  expect_error([&] { check_rnn_parameter_shape(s, 0, 0, RnnParamKind::kWeightIh, w_shape); },
               "weight shape mismatch: weight_ih_l0 has shape [20, 4], expected [20, 3]");
  const std::vector<int64_t> h_shape{1, 3, 5};
  expect_error([&] { check_rnn_tensor_shape(s, RnnTensor::kState, h_shape); },
               "batch mismatch: state (h0/c0/h_n/c_n) has batch 3");
  const std::vector<int64_t> x_shape{4, 2, 6};
  expect_error([&] { check_rnn_tensor_shape(s, RnnTensor::kInput, x_shape); },
               "input has shape [4, 2, 6], expected [4, 2, 3]");
  expect_error([&] { cpu::rnn_reserve_bytes(s, DType::kBF16); }, "supports f32 and f64");
  const std::vector<int64_t> ok_shape{4, 2, 3};
  EXPECT_NO_THROW(check_rnn_tensor_shape(s, RnnTensor::kInput, ok_shape));
}

}  // namespace
}  // namespace strand::kernels
