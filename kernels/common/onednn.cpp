// oneDNN on the CPU (see onednn.h): sgemm, bf16 matmul and conv1d primitives cached per shape,
// with reorders between the caller's plain fp32 NCL tensors and the layouts and types the
// primitives want.
#include "kernels/common/onednn.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "kernels/common/cpu_clones.h"

namespace strand::kernels::cpu {
namespace {

using dnnl::memory;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

thread_local bool g_bf16_math = false;

const dnnl::engine& engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

// One primitive argument the caller holds as plain fp32: reordered into the layout/type the
// primitive wants before it reads it (inputs), or out of it after it writes (outputs, added to the
// caller's values when accumulating).
struct Arg {
  int id = 0;
  bool output = false;
  memory::desc user;
  memory buffer;  // empty: the primitive uses the caller's memory directly
  dnnl::primitive convert;
  // A weight (conv and matmul WEIGHTS): the converted copies of its last few sources, each with
  // the source's address and content hash, so unchanged weights (inference) skip the reorder.
  struct Kept {
    const void* source = nullptr;
    uint64_t hash = 0;
    uint64_t scope = 0;  // the UnchangedWeightsScope that last checked it
    memory converted;
  };
  bool weight = false;
  std::vector<Kept> kept;  // most recently used last
};

thread_local bool g_inference = false;  // see InferenceScope

Arg make_arg(int id, const memory::desc& user, const memory::desc& want, bool output,
             bool accumulate = false, bool weight = false) {
  Arg a;
  a.id = id, a.output = output, a.user = user, a.weight = weight;
  if (want == user && !accumulate) return a;
  a.buffer = memory(want, engine());
  if (!output) {
    a.convert = dnnl::reorder(dnnl::reorder::primitive_desc(engine(), user, engine(), want));
    return a;
  }
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.f);
    attr.set_post_ops(ops);
  }
  a.convert = dnnl::reorder(dnnl::reorder::primitive_desc(engine(), want, engine(), user, attr));
  return a;
}

// A 64-bit hash of the 32-bit words at p: their plain sum (so any single change changes it) and a
// sum of products with a per-position multiplier (so moved or compensating changes do too). One
// read of the bytes in 32x32->64-bit multiplies, which vectorize without AVX-512: far cheaper than
// the reorder it saves.
STRAND_CPU_CLONES uint64_t content_hash(const void* p, size_t bytes) {
  const auto* w = static_cast<const uint32_t*>(p);
  const int64_t n = static_cast<int64_t>(bytes / 4);
  uint64_t plain = bytes, mixed = 0;
#pragma omp parallel for simd reduction(+ : plain, mixed) if (n > (1 << 18))
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t pos = static_cast<uint32_t>(i) * 2654435761u + 0x5bd1e995u;
    plain += w[i];
    mixed += static_cast<uint64_t>(w[i] ^ pos) * (pos | 1u);
  }
  return plain * 0xff51afd7ed558ccdull ^ mixed;
}

// Nonzero inside an UnchangedWeightsScope: its id. A weight checked once inside is trusted by
// address.
thread_local uint64_t g_unchanged_scope = 0;
std::atomic<uint64_t> g_unchanged_scopes{0};

// The memory holding input a converted from `source`: under the inference hint or inside an
// UnchangedWeightsScope, a kept copy when the weight is unchanged, else a fresh conversion (into
// the least recently used copy once four are kept).
memory converted_input(Arg& a, const memory& source, const void* data, dnnl::stream& s) {
  // Training changes weights every step: hashing them would be pure cost there.
  const bool keep = g_inference || g_unchanged_scope != 0;
  if (!a.weight || !keep) {
    a.convert.execute(s, {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, a.buffer}});
    return a.buffer;
  }
  auto hit = [&](auto&& same) -> Arg::Kept* {
    for (size_t i = 0; i < a.kept.size(); ++i) {
      if (a.kept[i].source != data || !same(a.kept[i])) continue;
      std::rotate(a.kept.begin() + i, a.kept.begin() + i + 1, a.kept.end());
      a.kept.back().scope = g_unchanged_scope;
      return &a.kept.back();
    }
    return nullptr;
  };
  const uint64_t scope = g_unchanged_scope;
  if (Arg::Kept* k = hit([&](const Arg::Kept& k) { return scope != 0 && k.scope == scope; }))
    return k->converted;
  const uint64_t hash = content_hash(data, a.user.get_size());
  if (Arg::Kept* k = hit([&](const Arg::Kept& k) { return k.hash == hash; })) return k->converted;
  constexpr size_t kKeep = 4;  // e.g. repeated layers of one shape
  if (a.kept.size() < kKeep)
    // Never a.buffer itself: the unkept path (training) converts into it.
    a.kept.push_back({.converted = memory(a.buffer.get_desc(), engine())});
  else
    std::rotate(a.kept.begin(), a.kept.begin() + 1, a.kept.end());
  Arg::Kept& k = a.kept.back();
  a.convert.execute(s, {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, k.converted}});
  k.source = data, k.hash = hash, k.scope = scope;
  return k.converted;
}

struct Prim {
  dnnl::primitive prim;
  std::vector<Arg> args;
  std::string impl;
};

// Runs p with the caller's buffers, in the order of p.args.
void execute(Prim& p, const std::vector<const void*>& data) {
  dnnl::stream& s = stream();
  std::unordered_map<int, memory> exec;
  std::vector<memory> user(p.args.size());
  for (size_t i = 0; i < p.args.size(); ++i) {
    Arg& a = p.args[i];
    user[i] = memory(a.user, engine(), const_cast<void*>(data[i]));
    if (!a.buffer)
      exec[a.id] = user[i];
    else
      exec[a.id] = a.output ? a.buffer : converted_input(a, user[i], data[i], s);
  }
  p.prim.execute(s, exec);
  for (size_t i = 0; i < p.args.size(); ++i) {
    Arg& a = p.args[i];
    if (a.output && a.buffer)
      a.convert.execute(s, {{DNNL_ARG_FROM, a.buffer}, {DNNL_ARG_TO, user[i]}});
  }
  s.wait();
}

// oneDNN reports failures as dnnl::error; strand's callers expect strand::Error.
template <typename Fn>
auto guarded(const char* what, Fn&& fn) {
  try {
    return fn();
  } catch (const dnnl::error& e) {
    STRAND_FAIL("{}: oneDNN failed: {} (status {})", what, e.what(), static_cast<int>(e.status));
  }
}

// ---- conv1d ----

using ConvKey = std::tuple<Conv1dShape, int, bool, bool, bool>;  // pass, bf16, bias, accumulate

struct ConvDescs {
  memory::desc x, w, y, bias;  // the caller's plain fp32 tensors
  memory::dims strides, dilates, pad_l, pad_r;
  memory::dims x_dims, w_dims, y_dims;
};

ConvDescs conv_descs(const Conv1dShape& s) {
  ConvDescs d;
  d.x_dims = {s.batch, s.in_channels, s.in_length};
  d.y_dims = {s.batch, s.out_channels, s.out_length()};
  const bool grouped = s.groups > 1;
  d.w_dims = grouped ? memory::dims{s.groups, s.out_per_group(), s.in_per_group(), s.kernel_size}
                     : memory::dims{s.out_channels, s.in_per_group(), s.kernel_size};
  d.x = memory::desc(d.x_dims, dt::f32, tag::ncw);
  d.y = memory::desc(d.y_dims, dt::f32, tag::ncw);
  d.w = memory::desc(d.w_dims, dt::f32, grouped ? tag::goiw : tag::oiw);
  d.bias = memory::desc({s.out_channels}, dt::f32, tag::x);
  d.strides = {s.stride};
  d.dilates = {s.dilation - 1};
  d.pad_l = {s.pad_left};
  d.pad_r = {s.pad_right};
  return d;
}

dnnl::convolution_forward::primitive_desc forward_pd(const ConvDescs& d, bool bf16, bool bias,
                                                     dt y_type) {
  const dt in = bf16 ? dt::bf16 : dt::f32;
  const memory::desc x(d.x_dims, in, tag::any), w(d.w_dims, in, tag::any),
      y(d.y_dims, y_type, tag::any);
  const auto desc =
      bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                             dnnl::algorithm::convolution_direct, x, w, d.bias, y,
                                             d.strides, d.dilates, d.pad_l, d.pad_r)
           : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                             dnnl::algorithm::convolution_direct, x, w, y,
                                             d.strides, d.dilates, d.pad_l, d.pad_r);
  return {desc, engine()};
}

Prim make_conv(const Conv1dShape& s, Conv1dPass pass, bool bf16, bool bias, bool accumulate) {
  const ConvDescs d = conv_descs(s);
  const dt in = bf16 ? dt::bf16 : dt::f32;
  Prim p;
  if (pass == Conv1dPass::kForward) {
    const auto pd = forward_pd(d, bf16, bias, dt::f32);
    p.prim = dnnl::convolution_forward(pd);
    p.impl = pd.impl_info_str();
    p.args.push_back(make_arg(DNNL_ARG_SRC, d.x, pd.src_desc(), false));
    p.args.push_back(make_arg(DNNL_ARG_WEIGHTS, d.w, pd.weights_desc(), false, false, true));
    p.args.push_back(make_arg(DNNL_ARG_DST, d.y, pd.dst_desc(), true));
    if (bias) p.args.push_back(make_arg(DNNL_ARG_BIAS, d.bias, pd.bias_desc(), false));
    return p;
  }
  // The backward passes take a forward primitive descriptor as a hint for matching layouts.
  const auto hint = forward_pd(d, bf16, false, in);
  const memory::desc x(d.x_dims, in, tag::any), w(d.w_dims, in, tag::any),
      dy(d.y_dims, in, tag::any);
  if (pass == Conv1dPass::kBackwardData) {
    const memory::desc dx(d.x_dims, dt::f32, tag::any);
    const dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, dx, w, dy,
                                                     d.strides, d.dilates, d.pad_l, d.pad_r);
    const dnnl::convolution_backward_data::primitive_desc pd(desc, engine(), hint);
    p.prim = dnnl::convolution_backward_data(pd);
    p.impl = pd.impl_info_str();
    p.args.push_back(make_arg(DNNL_ARG_DIFF_DST, d.y, pd.diff_dst_desc(), false));
    p.args.push_back(make_arg(DNNL_ARG_WEIGHTS, d.w, pd.weights_desc(), false, false, true));
    p.args.push_back(make_arg(DNNL_ARG_DIFF_SRC, d.x, pd.diff_src_desc(), true));
    return p;
  }
  const memory::desc dw(d.w_dims, dt::f32, tag::any);
  const dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, x, dw,
                                                      dy, d.strides, d.dilates, d.pad_l, d.pad_r);
  const dnnl::convolution_backward_weights::primitive_desc pd(desc, engine(), hint);
  p.prim = dnnl::convolution_backward_weights(pd);
  p.impl = pd.impl_info_str();
  p.args.push_back(make_arg(DNNL_ARG_SRC, d.x, pd.src_desc(), false));
  p.args.push_back(make_arg(DNNL_ARG_DIFF_DST, d.y, pd.diff_dst_desc(), false));
  p.args.push_back(make_arg(DNNL_ARG_DIFF_WEIGHTS, d.w, pd.diff_weights_desc(), true, accumulate));
  return p;
}

Prim& conv_prim(const Conv1dShape& s, Conv1dPass pass, bool bf16, bool bias, bool accumulate) {
  if (bf16) require_cpu_bf16("bf16 conv1d");
  thread_local std::map<ConvKey, Prim> cache;
  const ConvKey key{s, static_cast<int>(pass), bf16, bias, accumulate};
  auto it = cache.find(key);
  if (it == cache.end()) {
    Prim p = guarded("conv1d", [&] { return make_conv(s, pass, bf16, bias, accumulate); });
    it = cache.emplace(key, std::move(p)).first;
  }
  return it->second;
}

// ---- bf16 matmul ----

Prim make_matmul_bf16(const GemmShape& s, float alpha, float beta) {
  // Batch dimension 1 for an operand shared by every batch entry (broadcast).
  const int64_t ba = s.stride_a == 0 ? 1 : s.batch, bb = s.stride_b == 0 ? 1 : s.batch;
  const memory::dims a_dims{ba, s.m, s.k}, b_dims{bb, s.k, s.n}, c_dims{s.batch, s.m, s.n};
  // A batch dimension of 1 gets the dense stride: with a zero stride oneDNN reads C as a
  // transposed layout and falls back from its AMX (brg) kernels to gemm:jit.
  const int64_t sa = ba == 1 ? (s.trans_a ? s.k : s.m) * s.lda : s.stride_a;
  const int64_t sb = bb == 1 ? (s.trans_b ? s.n : s.k) * s.ldb : s.stride_b;
  const int64_t sc = s.batch == 1 ? s.m * s.ldc : s.stride_c;
  const memory::dims a_str = s.trans_a ? memory::dims{sa, 1, s.lda} : memory::dims{sa, s.lda, 1};
  const memory::dims b_str = s.trans_b ? memory::dims{sb, 1, s.ldb} : memory::dims{sb, s.ldb, 1};
  const memory::desc a_user(a_dims, dt::f32, a_str), b_user(b_dims, dt::f32, b_str),
      c_user(c_dims, dt::f32, memory::dims{sc, s.ldc, 1});
  // B in the layout the primitive wants (blocked for AMX): a weight is converted once and kept.
  const memory::desc a(a_dims, dt::bf16, tag::any), b(b_dims, dt::bf16, tag::any);
  dnnl::primitive_attr attr;
  if (alpha != 1.f) attr.set_output_scales(0, {alpha});
  if (beta != 0.f) {
    dnnl::post_ops ops;
    ops.append_sum(beta);
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::desc desc(a, b, c_user);
  const dnnl::matmul::primitive_desc pd(desc, attr, engine());
  Prim p;
  p.prim = dnnl::matmul(pd);
  p.impl = pd.impl_info_str();
  p.args.push_back(make_arg(DNNL_ARG_SRC, a_user, pd.src_desc(), false));
  p.args.push_back(make_arg(DNNL_ARG_WEIGHTS, b_user, pd.weights_desc(), false, false, true));
  p.args.push_back(make_arg(DNNL_ARG_DST, c_user, pd.dst_desc(), true));
  return p;
}

auto gemm_key(const GemmShape& s) {
  return std::make_tuple(s.m, s.n, s.k, s.trans_a, s.trans_b, s.lda, s.ldb, s.ldc, s.batch,
                         s.stride_a, s.stride_b, s.stride_c);
}

Prim& matmul_bf16_prim(const GemmShape& s, float alpha, float beta) {
  require_cpu_bf16("bf16 matmul");
  thread_local std::map<std::tuple<decltype(gemm_key(s)), float, float>, Prim> cache;
  const auto key = std::make_tuple(gemm_key(s), alpha, beta);
  auto it = cache.find(key);
  if (it == cache.end()) {
    Prim p = guarded("matmul", [&] { return make_matmul_bf16(s, alpha, beta); });
    it = cache.emplace(key, std::move(p)).first;
  }
  return it->second;
}

std::string isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41:
      return "sse41";
    case dnnl::cpu_isa::avx:
      return "avx";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic:
      return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops:
      return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "none (no SSE4.1 kernels)";
  }
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a,
                                      lda, b, ldb, beta, c, ldc);
  STRAND_CHECK(st == dnnl_success, "sgemm (m {}, n {}, k {}): oneDNN status {}", m, n, k,
               static_cast<int>(st));
}

namespace {

void sgemm_loop(const GemmShape& s, float alpha, const float* a, const float* b, float beta,
                float* c) {
  for (int64_t i = 0; i < s.batch; ++i)
    sgemm(s.trans_a, s.trans_b, s.m, s.n, s.k, alpha, a + i * s.stride_a, s.lda, b + i * s.stride_b,
          s.ldb, beta, c + i * s.stride_c, s.ldc);
}

// Whether a bf16 product beats fp32 on this shape: a function of the shape only, never of a timing
// (a timed choice let the machine's load decide, and bf16 runs differed from run to run). bf16
// converts its operands on every call (a weight B once under the inference hint) and wins on
// large products. Measured on the 2-core Intel Xeon (AMX; one thread, oneDNN 2.6.3, 2026-12-06),
// bf16 time / fp32 time: 1024^3 and 512x1000x1000 0.31-0.35, DeepSEA's fc weight gradient (925 x
// 50880, depth 64) 0.45; with fewer than 128 rows or columns at best a tie (Basset's batch-64
// layers 0.8-1.06, DeepSEA's batch-64 fc 1.05-2.2, the LSTM's 8-row steps 2), and a depth under
// 64 loses (the cnn's batch-32 weight gradient 2.3).
bool bf16_gemm_pays(const GemmShape& s) { return std::min(s.m, s.n) >= 128 && s.k >= 64; }

}  // namespace

void sgemm_batched(const GemmShape& s, float alpha, const float* a, const float* b, float beta,
                   float* c) {
  if (s.m == 0 || s.n == 0 || s.batch == 0) return;
  if (bf16_math()) {
    require_cpu_bf16("bf16 matmul");  // an error even where the shape stays fp32
    if (bf16_gemm_pays(s)) return onednn_matmul_bf16(s, alpha, a, b, beta, c);
  }
  sgemm_loop(s, alpha, a, b, beta, c);
}

InferenceScope::InferenceScope(bool enabled) : previous_(g_inference) { g_inference = enabled; }
InferenceScope::~InferenceScope() { g_inference = previous_; }
bool inference_hint() { return g_inference; }

UnchangedWeightsScope::UnchangedWeightsScope() : previous_(g_unchanged_scope) {
  g_unchanged_scope = ++g_unchanged_scopes;
}
UnchangedWeightsScope::~UnchangedWeightsScope() { g_unchanged_scope = previous_; }

Bf16MathScope::Bf16MathScope(bool enabled) : previous_(g_bf16_math) { g_bf16_math = enabled; }
Bf16MathScope::~Bf16MathScope() { g_bf16_math = previous_; }
bool bf16_math() { return g_bf16_math; }
void set_bf16_math(bool enabled) { g_bf16_math = enabled; }

void onednn_conv1d_forward(const Conv1dShape& s, const float* x, const float* w, const float* bias,
                           float* y, bool bf16) {
  Prim& p = conv_prim(s, Conv1dPass::kForward, bf16, bias != nullptr, false);
  guarded("conv1d forward", [&] {
    if (bias)
      execute(p, {x, w, y, bias});
    else
      execute(p, {x, w, y});
  });
}

void onednn_conv1d_backward_data(const Conv1dShape& s, const float* dy, const float* w, float* dx,
                                 bool bf16) {
  Prim& p = conv_prim(s, Conv1dPass::kBackwardData, bf16, false, false);
  guarded("conv1d backward-data", [&] { execute(p, {dy, w, dx}); });
}

void onednn_conv1d_backward_weight(const Conv1dShape& s, const float* x, const float* dy, float* dw,
                                   bool accumulate, bool bf16) {
  Prim& p = conv_prim(s, Conv1dPass::kBackwardWeight, bf16, false, accumulate);
  guarded("conv1d backward-weight", [&] { execute(p, {x, dy, dw}); });
}

std::string onednn_conv1d_impl(const Conv1dShape& s, Conv1dPass pass, bool bf16) {
  return conv_prim(s, pass, bf16, false, false).impl;
}

void onednn_matmul_bf16(const GemmShape& s, float alpha, const float* a, const float* b, float beta,
                        float* c) {
  Prim& p = matmul_bf16_prim(s, alpha, beta);
  guarded("bf16 matmul", [&] { execute(p, {a, b, c}); });
}

std::string onednn_matmul_bf16_impl(int64_t m, int64_t n, int64_t k) {
  return matmul_bf16_prim(dense_gemm(m, n, k, false, false), 1.f, 0.f).impl;
}

CpuKernelInfo cpu_kernel_info() {
  CpuKernelInfo info;
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  info.isa = isa_name(isa);
  __builtin_cpu_init();
  info.avx2 = __builtin_cpu_supports("avx2");
  info.avx512 = __builtin_cpu_supports("avx512f");
  const auto has = [&](dnnl::cpu_isa want) {
    return (static_cast<unsigned>(isa) & static_cast<unsigned>(want)) ==
           static_cast<unsigned>(want);
  };
  info.bf16 = has(dnnl::cpu_isa::avx512_core_bf16);
  const dnnl_version_t* v = dnnl_version();
  info.onednn =
      std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  // dnnl_sgemm dispatches on the same ISA: its AVX-512 kernels from avx512_core up, AVX2 below.
  info.gemm_fp32 = "oneDNN jit sgemm, " +
                   std::string(has(dnnl::cpu_isa::avx512_core) ? "avx512_core"
                               : has(dnnl::cpu_isa::avx2)      ? "avx2"
                               : has(dnnl::cpu_isa::avx)       ? "avx"
                                                               : "sse41") +
                   " kernels";
  info.openblas_core = openblas_get_corename();
  return info;
}

void require_cpu_bf16(const char* what) {
  static const CpuKernelInfo info = cpu_kernel_info();
  STRAND_CHECK(info.bf16,
               "{}: bf16 on the CPU needs AVX512-BF16 or AMX-BF16, and this CPU offers oneDNN only "
               "'{}'; use --precision fp32",
               what, info.isa);
}

}  // namespace strand::kernels::cpu
