// CUDA LSTM/GRU (custom cluster and persistent recurrences, custom per-step GEMM, cuDNN) against
// the CPU reference on fresh random data: outputs poisoned first, every element of every output
// and gradient checked.
#include <cuda_runtime.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "kernels/rnn/rnn.h"
#include "tests/kernels/rnn_problem.h"
#include "tests/support/cuda_buffer.h"
#include "tests/support/test_support.h"

namespace strand::kernels {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::RnnProblem;
using testing::test_context;

template <typename T>
std::vector<T> cast_vector(const std::vector<float>& v) {
  return std::vector<T>(v.begin(), v.end());
}

// Everything a CPU run produces, in float.
struct Results {
  std::vector<float> y, h_n, c_n, dx, dh0, dc0;
  std::vector<std::vector<float>> dparams;  // initial values + accumulated gradients
};

// Initial contents of the (accumulated) weight gradients, so accumulation is checked too.
std::vector<std::vector<float>> initial_grads(const RnnProblem<float>& p) {
  std::vector<std::vector<float>> out;
  uint64_t seed = 900;
  for (const auto& v : p.params) out.push_back(testing::random_vector<float>(v.size(), seed++));
  return out;
}

Results cpu_run(const RnnProblem<float>& p, const std::vector<float>& dy,
                const std::vector<float>& dhn, const std::vector<float>& dcn, bool reference) {
  Results r;
  r.y.resize(p.out_count());
  r.h_n.resize(p.state_count());
  r.c_n.resize(p.state_count());
  r.dx.resize(p.x.size());
  r.dh0.resize(p.state_count());
  r.dc0.resize(p.state_count());
  r.dparams = initial_grads(p);
  const auto w = p.weights();
  const auto masks = p.mask_ptrs();
  const bool lstm = p.lstm();
  RnnInputs<float> in{p.x.data(), p.lengths, p.h0.data(), lstm ? p.c0.data() : nullptr, w, masks};
  auto& dp = r.dparams;
  const auto grads = p.sets<RnnLayerGrads<float>>([&](int64_t i) { return dp[i].data(); });
  RnnOutputs<float> out{r.y.data(), r.h_n.data(), lstm ? r.c_n.data() : nullptr};
  RnnGradOutputs<float> dout{dy.data(), dhn.data(), lstm ? dcn.data() : nullptr};
  RnnGradInputs<float> din{r.dx.data(), r.dh0.data(), lstm ? r.dc0.data() : nullptr, grads, {}};
  if (reference) {
    cpu::rnn_forward_reference(p.shape, in, out);
    cpu::rnn_backward_reference(p.shape, in, dout, din);
  } else {
    std::vector<unsigned char> reserve(cpu::rnn_reserve_bytes(p.shape, DType::kF32));
    cpu::rnn_forward({}, p.shape, in, out, reserve.data());
    cpu::rnn_backward({}, p.shape, in, reserve.data(), dout, din);
  }
  if (!lstm) r.c_n.clear(), r.dc0.clear();
  return r;
}

// Runs forward + backward on the device with element type T (float or BFloat16).
template <typename T>
Results gpu_run(const RnnProblem<float>& p, const std::vector<float>& dy,
                const std::vector<float>& dhn, const std::vector<float>& dcn, RnnAlgo algo) {
  const bool lstm = p.lstm();
  DeviceBuffer<T> x(cast_vector<T>(p.x)), h0(cast_vector<T>(p.h0)), c0(cast_vector<T>(p.c0));
  DeviceBuffer<T> d_dy(cast_vector<T>(dy)), d_dhn(cast_vector<T>(dhn)), d_dcn(cast_vector<T>(dcn));
  std::vector<std::unique_ptr<DeviceBuffer<T>>> params, grads, masks;
  const auto init = initial_grads(p);
  for (size_t i = 0; i < p.params.size(); ++i) {
    params.push_back(std::make_unique<DeviceBuffer<T>>(cast_vector<T>(p.params[i])));
    grads.push_back(std::make_unique<DeviceBuffer<T>>(cast_vector<T>(init[i])));
  }
  std::vector<const T*> mask_ptrs;
  for (const auto& m : p.masks) {
    masks.push_back(std::make_unique<DeviceBuffer<T>>(cast_vector<T>(m)));
    mask_ptrs.push_back(masks.back()->get());
  }
  DeviceBuffer<T> y(p.out_count()), h_n(p.state_count()), c_n(p.state_count());
  DeviceBuffer<T> dx(p.x.size()), dh0(p.state_count()), dc0(p.state_count());
  const auto w = p.sets<RnnLayerWeights<T>>([&](int64_t i) { return params[i]->get(); });
  const auto g = p.sets<RnnLayerGrads<T>>([&](int64_t i) { return grads[i]->get(); });
  RnnInputs<T> in{x.get(), p.lengths, h0.get(), lstm ? c0.get() : nullptr, w, mask_ptrs};
  const DType dt = dtype_of<T>;
  // On a non-blocking stream, as in training (test_context).
  const kernels::Context ctx = test_context();
  DeviceBuffer<unsigned char> reserve(cuda::rnn_reserve_bytes(ctx, p.shape, dt, algo));
  const size_t ws_bytes = cuda::rnn_workspace_bytes(ctx, p.shape, dt, algo);
  DeviceBuffer<unsigned char> ws(ws_bytes);
  cuda::rnn_forward(ctx, p.shape, in, {y.get(), h_n.get(), lstm ? c_n.get() : nullptr}, algo,
                    reserve.get(), ws.get(), ws_bytes);
  cuda::rnn_backward(
      ctx, p.shape, in, reserve.get(), {d_dy.get(), d_dhn.get(), lstm ? d_dcn.get() : nullptr},
      {dx.get(), dh0.get(), lstm ? dc0.get() : nullptr, g, {}}, algo, ws.get(), ws_bytes);
  auto to_f = [](const std::vector<T>& v) { return std::vector<float>(v.begin(), v.end()); };
  Results r;
  r.y = to_f(y.download());
  r.h_n = to_f(h_n.download());
  r.dx = to_f(dx.download());
  r.dh0 = to_f(dh0.download());
  if (lstm) {
    r.c_n = to_f(c_n.download());
    r.dc0 = to_f(dc0.download());
  }
  for (auto& b : grads) r.dparams.push_back(to_f(b->download()));
  return r;
}

// Compute capability 9.0: where the cluster recurrence runs.
bool hopper() {
  int major = 0, minor = 0;
  if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0) != cudaSuccess)
    return false;
  return major == 9 && minor == 0;
}

// The custom algorithms worth running on this device: auto's pick, each on-chip recurrence
// forced where it runs, and the per-step path.
std::vector<RnnAlgo> custom_algos(const RnnShape& s, DType dtype) {
  std::vector<RnnAlgo> out{RnnAlgo::kCustom, RnnAlgo::kCustomStepGemm};
  for (RnnAlgo forced : {RnnAlgo::kCustomCluster, RnnAlgo::kCustomPersistent}) {
    try {
      cuda::rnn_path_name(test_context(), s, dtype, forced);
      out.push_back(forced);
    } catch (const Error&) {  // does not fit here: auto's fallback is tested instead
    }
  }
  return out;
}

void expect_close(const Results& got, const Results& want, double rtol, double atol,
                  const std::string& what) {
  EXPECT_TRUE(all_close(got.y, want.y, rtol, atol)) << what << " output";
  EXPECT_TRUE(all_close(got.h_n, want.h_n, rtol, atol)) << what << " h_n";
  EXPECT_TRUE(all_close(got.c_n, want.c_n, rtol, atol)) << what << " c_n";
  EXPECT_TRUE(all_close(got.dx, want.dx, rtol, atol)) << what << " d_input";
  EXPECT_TRUE(all_close(got.dh0, want.dh0, rtol, atol)) << what << " d_h0";
  EXPECT_TRUE(all_close(got.dc0, want.dc0, rtol, atol)) << what << " d_c0";
  ASSERT_EQ(got.dparams.size(), want.dparams.size());
  for (size_t k = 0; k < got.dparams.size(); ++k)
    EXPECT_TRUE(all_close(got.dparams[k], want.dparams[k], rtol, atol)) << what << " param " << k;
}

struct Case {
  const char* name;
  RnnMode mode;
  int64_t T, N, I, H, layers;
  bool bidirectional, batch_first, masks;
  std::vector<int32_t> lengths;
};

RnnShape shape_of(const Case& c) {
  RnnShape s = testing::rnn_shape(c.mode, c.T, c.N, c.I, c.H, c.layers, c.bidirectional);
  s.batch_first = c.batch_first;
  return s;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class RnnCuda : public ::testing::TestWithParam<Case> {};

TEST_P(RnnCuda, EveryAlgoMatchesCpuReferenceInFloat) {
  STRAND_REQUIRE_CUDA_DEVICE();
  const Case& c = GetParam();
  const RnnProblem<float> p(shape_of(c), c.lengths, 7, true, c.masks);
  const auto dy = testing::random_vector<float>(p.out_count(), 71);
  const auto dhn = testing::random_vector<float>(p.state_count(), 72);
  const auto dcn = testing::random_vector<float>(p.state_count(), 73);
  const Results ref = cpu_run(p, dy, dhn, dcn, true);
  std::vector<RnnAlgo> algos = custom_algos(p.shape, DType::kF32);
  algos.push_back(RnnAlgo::kCudnn);
  for (RnnAlgo algo : algos) {
    const std::string path = cuda::rnn_path_name(test_context(), p.shape, DType::kF32, algo);
    expect_close(gpu_run<float>(p, dy, dhn, dcn, algo), ref, 1e-4, 1e-5, path);
  }
  // cuDNN's persistent algorithms (the bench's baselines) where cuDNN takes the shape: a refusal
  // must be cuDNN's NOT_SUPPORTED, anything else fails.
  for (RnnAlgo algo : {RnnAlgo::kCudnnPersistStatic, RnnAlgo::kCudnnPersistSmallH}) {
    try {
      expect_close(gpu_run<float>(p, dy, dhn, dcn, algo), ref, 1e-4, 1e-5,
                   cuda::rnn_path_name(test_context(), p.shape, DType::kF32, algo));
    } catch (const Error& e) {
      EXPECT_THAT(e.message(), ::testing::HasSubstr("NOT_SUPPORTED"));
    }
  }
  // Small hidden sizes take the cluster recurrence on compute capability 9.0, else the
  // persistent kernel on a GPU of that class.
  EXPECT_EQ(cuda::rnn_path_name(test_context(), p.shape, DType::kF32, RnnAlgo::kCustom),
            hopper() ? "cluster" : "persistent");
  EXPECT_EQ(cuda::rnn_path_name(test_context(), p.shape, DType::kBF16, RnnAlgo::kCustom),
            hopper() ? "cluster" : "persistent");
}

TEST_P(RnnCuda, Bf16CustomMatchesCpuReferenceOnRoundedInputs) {
  STRAND_REQUIRE_CUDA_DEVICE();
  const Case& c = GetParam();
  RnnProblem<float> p(shape_of(c), c.lengths, 8, true, c.masks);
  // The CPU reference sees exactly the bf16 values the GPU sees.
  auto round = [](std::vector<float>& v) {
    for (auto& e : v) e = static_cast<float>(BFloat16(e));
  };
  round(p.x);
  round(p.h0);
  round(p.c0);
  for (auto& v : p.params) round(v);
  for (auto& v : p.masks) round(v);
  auto dy = testing::random_vector<float>(p.out_count(), 81);
  auto dhn = testing::random_vector<float>(p.state_count(), 82);
  auto dcn = testing::random_vector<float>(p.state_count(), 83);
  round(dy);
  round(dhn);
  round(dcn);
  const Results ref = cpu_run(p, dy, dhn, dcn, true);
  for (RnnAlgo algo : custom_algos(p.shape, DType::kBF16)) {
    expect_close(gpu_run<BFloat16>(p, dy, dhn, dcn, algo), ref, 2e-2, 2e-2,
                 cuda::rnn_path_name(test_context(), p.shape, DType::kBF16, algo) + " bf16");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, RnnCuda,
    ::testing::Values(
        Case{"LstmBiThreeLayersLengths",
             RnnMode::kLstm,
             9,
             5,
             11,
             37,
             3,
             true,
             false,
             true,
             {9, 3, 1, 7, 9}},
        Case{"GruBiTwoLayersBatchFirst",
             RnnMode::kGru,
             8,
             6,
             10,
             45,
             2,
             true,
             true,
             true,
             {2, 8, 5, 1, 8, 6}},
        Case{"LstmUniTwoLayersFullLength",
             RnnMode::kLstm,
             12,
             4,
             16,
             33,
             2,
             false,
             false,
             false,
             {}},
        Case{
            "GruUniOneLayerLengths", RnnMode::kGru, 7, 3, 5, 70, 1, false, true, false, {7, 4, 2}}),
    [](const auto& info) { return std::string(info.param.name); });

// Larger shapes (several batch tiles in the persistent kernel, hidden above 512 for the per-step
// path) against the CPU fast path, which the CPU tests check against the reference.
TEST(RnnCudaLarge, CustomAndCudnnMatchCpuFastPath) {
  STRAND_REQUIRE_CUDA_DEVICE();
  for (const Case& c :
       {Case{"LstmH512N200", RnnMode::kLstm, 6, 200, 64, 512, 1, true, false, false, {}},
        Case{"GruH600", RnnMode::kGru, 5, 12, 32, 600, 2, true, false, true, {}},
        Case{"LstmH320DanQ", RnnMode::kLstm, 10, 64, 320, 320, 1, true, true, false, {}}}) {
    RnnProblem<float> p(shape_of(c), {}, 9, true, c.masks, 0.05);
    p.lengths.resize(c.N);
    for (int64_t n = 0; n < c.N; ++n) p.lengths[n] = static_cast<int32_t>(1 + (n * 7) % c.T);
    const auto dy = testing::random_vector<float>(p.out_count(), 91);
    const auto dhn = testing::random_vector<float>(p.state_count(), 92);
    const auto dcn = testing::random_vector<float>(p.state_count(), 93);
    const Results ref = cpu_run(p, dy, dhn, dcn, false);
    std::vector<RnnAlgo> algos = custom_algos(p.shape, DType::kF32);
    algos.push_back(RnnAlgo::kCudnn);
    for (RnnAlgo algo : algos) {
      expect_close(gpu_run<float>(p, dy, dhn, dcn, algo), ref, 1e-3, 1e-4,
                   std::string(c.name) + " " +
                       cuda::rnn_path_name(test_context(), p.shape, DType::kF32, algo));
    }
  }
}

// The cluster recurrence at the hidden sizes it is for (DanQ's 320, 128, 256), bidirectional
// with per-sample lengths, in f32 (3xTF32) and bf16 (h and dgh exchanged in bf16), forward
// through the cluster, backward through the cluster where W_hh^T and the gate-gradient exchange
// fit (not f32 at hidden 320: there the persistent kernel); off compute capability 9.0, a clear
// error.
TEST(RnnCudaCluster, DanQSizesMatchCpu) {
  STRAND_REQUIRE_CUDA_DEVICE();
  if (!hopper()) {
    const RnnShape s = testing::rnn_shape(RnnMode::kLstm, 4, 8, 16, 32, 1, true);
    try {
      cuda::rnn_path_name(test_context(), s, DType::kF32, RnnAlgo::kCustomCluster);
      ADD_FAILURE() << "cluster algo accepted off compute capability 9.0";
    } catch (const Error& e) {
      EXPECT_THAT(e.message(), ::testing::HasSubstr("compute capability 9.0"));
    }
    return;
  }
  for (const Case& c :
       {Case{"LstmH320N70", RnnMode::kLstm, 7, 70, 320, 320, 1, true, true, false, {}},
        Case{"LstmH128N33", RnnMode::kLstm, 6, 33, 40, 128, 1, true, false, false, {}},
        Case{"GruH256N17", RnnMode::kGru, 5, 17, 24, 256, 1, false, false, false, {}}}) {
    RnnProblem<float> p(shape_of(c), {}, 10, true, false, 0.05);
    p.lengths.resize(c.N);
    for (int64_t n = 0; n < c.N; ++n) p.lengths[n] = static_cast<int32_t>(1 + (n * 3) % c.T);
    const auto dy = testing::random_vector<float>(p.out_count(), 94);
    const auto dhn = testing::random_vector<float>(p.state_count(), 95);
    const auto dcn = testing::random_vector<float>(p.state_count(), 96);
    const Results ref = cpu_run(p, dy, dhn, dcn, false);
    expect_close(gpu_run<float>(p, dy, dhn, dcn, RnnAlgo::kCustomCluster), ref, 1e-3, 1e-4,
                 std::string(c.name) + " cluster f32");
    RnnProblem<float> q = p;
    auto round = [](std::vector<float>& v) {
      for (auto& e : v) e = static_cast<float>(BFloat16(e));
    };
    round(q.x);
    round(q.h0);
    round(q.c0);
    for (auto& v : q.params) round(v);
    auto qdy = dy, qdhn = dhn, qdcn = dcn;
    round(qdy);
    round(qdhn);
    round(qdcn);
    const Results qref = cpu_run(q, qdy, qdhn, qdcn, false);
    expect_close(gpu_run<BFloat16>(q, qdy, qdhn, qdcn, RnnAlgo::kCustomCluster), qref, 2e-2, 2e-2,
                 std::string(c.name) + " cluster bf16");
  }
}

TEST(RnnCudaErrors, BadInputsRaiseClearErrors) {
  STRAND_REQUIRE_CUDA_DEVICE();
  RnnShape s = testing::rnn_shape(RnnMode::kLstm, 4, 2, 3, 5);
  EXPECT_THROW(cuda::rnn_reserve_bytes(test_context(), s, DType::kF64, RnnAlgo::kCustom), Error);
  try {
    cuda::rnn_workspace_bytes(test_context(), s, DType::kBF16, RnnAlgo::kCudnn);
    ADD_FAILURE() << "bf16 on cuDNN accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), ::testing::HasSubstr("cuDNN RNN path supports f32 only"));
  }
  RnnProblem<float> p(s, {}, 1, false, false);
  DeviceBuffer<float> x(p.x), y(p.out_count());
  std::vector<std::unique_ptr<DeviceBuffer<float>>> params;
  for (const auto& v : p.params) params.push_back(std::make_unique<DeviceBuffer<float>>(v));
  const auto w = p.sets<RnnLayerWeights<float>>([&](int64_t i) { return params[i]->get(); });
  const std::vector<int32_t> too_long{4, 5};
  RnnInputs<float> in{x.get(), too_long, nullptr, nullptr, w, {}};
  DeviceBuffer<unsigned char> reserve(
      cuda::rnn_reserve_bytes(test_context(), s, DType::kF32, RnnAlgo::kCustom));
  try {
    cuda::rnn_forward(test_context(), s, in, {y.get(), nullptr, nullptr}, RnnAlgo::kCustom,
                      reserve.get(), nullptr, 0);
    ADD_FAILURE() << "length 5 > T accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), ::testing::HasSubstr("longer than seq_len 4"));
  }
  in.lengths = {};
  try {
    cuda::rnn_forward(test_context(), s, in, {y.get(), nullptr, nullptr}, RnnAlgo::kCustom,
                      reserve.get(), reserve.get(), 16);
    ADD_FAILURE() << "tiny workspace accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), ::testing::HasSubstr("workspace too small"));
  }
}

}  // namespace
}  // namespace strand::kernels
