// Naive and receptive-field (fastISM) scoring of substitutions (see mutation_scorer.h). Windows
// are channels-last ([mutations, width, channels]) so a convolution's change is one GEMM and
// every splice is a contiguous copy of a position's channels.
#include "interpret/mutation_scorer.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "data/encoding.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/linear.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "layers/reshape.h"
#include "runtime/autograd.h"
#include "runtime/ops.h"

namespace strand::interpret {
namespace {

using runtime::Tensor;

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// One position-local layer and the fixed width of the output window a mutation can change.
struct Stage {
  enum Kind { kConv, kPool, kPointwise } kind = kPointwise;
  layers::Module* module = nullptr;
  int64_t in_len = 0, out_len = 0, in_ch = 0, out_ch = 0;
  int64_t width = 1;  // output window
  int64_t kernel = 1, stride = 1, dilation = 1, pad = 0;
  bool max = true;  // pooling kind
  Tensor wt;        // convolution weights as [in_ch, kernel * out_ch] (zero across groups)

  // How far left of its own position an input reaches into the output (in input positions).
  int64_t reach() const { return (kernel - 1) * dilation; }
  // First output position of the window of a change starting at input position `start`.
  int64_t next_start(int64_t start) const {
    if (kind == kPointwise) return start;
    const int64_t lo = ceil_div(start + pad - reach(), stride);
    return std::clamp<int64_t>(lo, 0, out_len - width);
  }
};

float* data(Tensor& t) { return t.data<float>(); }

}  // namespace

struct MutationScorer::Impl {
  layers::Sequential& model;
  int64_t length = 0, outputs = 0;
  bool fast = false;
  std::string reason, plan;

  std::vector<Stage> stages;
  size_t suffix_begin = 0;    // first layer that runs in full
  size_t linear_end = 0;      // > 0: Flatten (+ Dropout) + Linear head ends before this layer
  Tensor weight_by_position;  // the head's Linear weight as [length, channels, out]

  // References: codes (naive) or the cached activations.
  int64_t rows = 0;
  std::vector<uint8_t> codes;
  std::vector<Tensor> refs;  // refs[i]: stage i's input, [rows, len, ch]; the last: the output
  Tensor last_cf;            // the last stage's output as [rows, ch, len] (what the suffix reads)
  Tensor linear_ref;         // the head's Linear output for the references [rows, out]

  Impl(layers::Sequential& m, int64_t l) : model(m), length(l) {}

  Tensor run_suffix(Tensor x, size_t from) {
    for (size_t j = from; j < model.size(); ++j) x = model[j].forward(x);
    return x;
  }

  void analyse();
  void add_stage(size_t index, const Tensor& in, const Tensor& out);
  std::vector<float> score_fast(const std::vector<Mutation>& mutations);
  std::vector<float> score_naive(const std::vector<Mutation>& mutations);
};

void MutationScorer::Impl::add_stage(size_t index, const Tensor& in, const Tensor& out) {
  Stage s;
  s.module = &model[index];
  s.in_len = in.dim() == 2 ? in.size(1) : in.size(2);  // u8 codes [N, L] or [N, C, L]
  s.in_ch = in.dim() == 2 ? 4 : in.size(1);
  s.out_len = out.size(2);
  s.out_ch = out.size(1);
  const int64_t in_width = stages.empty() ? 1 : stages.back().width;
  if (auto* conv = dynamic_cast<layers::Conv1d*>(s.module)) {
    const auto& c = conv->config();
    s.kind = Stage::kConv;
    s.kernel = c.kernel_size;
    s.stride = c.stride;
    s.dilation = c.dilation;
    s.pad = c.same_padding ? c.dilation * (c.kernel_size - 1) / 2 : c.padding;
    // wt[ci, k * out + co] = weight[co, ci - group start, k] within a group, else 0.
    const Tensor w = conv->weight().contiguous();
    const int64_t cin_g = c.in_channels / c.groups, cout_g = c.out_channels / c.groups;
    std::vector<float> wt(static_cast<size_t>(s.in_ch * s.kernel * s.out_ch), 0.0f);
    const float* wp = w.data<float>();
    for (int64_t co = 0; co < s.out_ch; ++co)
      for (int64_t i = 0; i < cin_g; ++i)
        for (int64_t k = 0; k < s.kernel; ++k) {
          const int64_t ci = co / cout_g * cin_g + i;
          wt[(ci * s.kernel + k) * s.out_ch + co] = wp[(co * cin_g + i) * s.kernel + k];
        }
    s.wt = runtime::from_vector(wt, {s.in_ch, s.kernel * s.out_ch});
  } else if (auto* pool = dynamic_cast<layers::Pool1d*>(s.module)) {
    s.kind = Stage::kPool;
    s.kernel = pool->kernel();
    s.stride = pool->stride();
    s.pad = pool->padding();
    s.max = pool->kind() == layers::Pool1d::Kind::kMax;
  }
  s.width = s.kind == Stage::kPointwise
                ? in_width
                : std::min(s.out_len, (in_width - 1 + s.reach()) / s.stride + 1);
  stages.push_back(std::move(s));
}

void MutationScorer::Impl::analyse() {
  runtime::NoGradGuard no_grad;
  Tensor x = runtime::zeros({1, length}, {.dtype = DType::kU8});
  const Tensor out = model.forward(x);
  STRAND_CHECK(out.dim() == 2 && out.size(0) == 1,
               "the model gives outputs of shape {} for one sequence, expected [1, outputs]",
               out.shape());
  outputs = out.size(1);
  if (!model.device().is_cpu()) {
    reason = format("the model is on {}, the fast path runs on the CPU", model.device().str());
    return;
  }
  if (model.size() == 0 || !dynamic_cast<layers::Conv1d*>(&model[0])) {
    reason = "its first layer is not a Conv1d";
    return;
  }
  size_t i = 0;
  for (; i < model.size(); ++i) {
    layers::Module* m = &model[i];
    const bool local = dynamic_cast<layers::Conv1d*>(m) || dynamic_cast<layers::Pool1d*>(m) ||
                       dynamic_cast<layers::Activation*>(m) ||
                       dynamic_cast<layers::BatchNorm1d*>(m) || dynamic_cast<layers::Dropout*>(m);
    if (!local) break;
    const Tensor y = m->forward(x);
    if (y.dim() != 3) break;
    add_stage(i, x, y);
    x = y;
  }
  suffix_begin = i;
  // A Flatten (+ eval Dropout) + Linear head over every position and channel is linear in the
  // last activation: only the changed positions' columns of its weight need multiplying.
  size_t j = i;
  if (j < model.size() && dynamic_cast<layers::Flatten*>(&model[j]) &&
      model[j].forward(x).dim() == 2) {
    ++j;
    while (j < model.size() && dynamic_cast<layers::Dropout*>(&model[j])) ++j;
    auto* linear = j < model.size() ? dynamic_cast<layers::Linear*>(&model[j]) : nullptr;
    const Stage& last = stages.back();
    if (linear && linear->in_features() == last.out_ch * last.out_len) {
      linear_end = j + 1;
      weight_by_position = linear->weight()
                               .view({linear->out_features(), last.out_ch, last.out_len})
                               .permute({2, 1, 0})
                               .contiguous();
    }
  }
  fast = true;
  std::string kinds;
  for (const Stage& s : stages) kinds += (kinds.empty() ? "" : " ") + s.module->type_name();
  plan = format("fast: {} local layers ({}), window {} of {} at the last, then {}", stages.size(),
                kinds, stages.back().width, stages.back().out_len,
                linear_end > 0 ? format("a flatten + linear head and {} more layer(s)",
                                        model.size() - linear_end)
                               : format("{} layer(s) in full", model.size() - suffix_begin));
}

std::vector<float> MutationScorer::Impl::score_naive(const std::vector<Mutation>& mutations) {
  const int64_t m_count = static_cast<int64_t>(mutations.size());
  std::vector<uint8_t> batch(static_cast<size_t>(m_count * length));
  for (int64_t m = 0; m < m_count; ++m) {
    const Mutation& mu = mutations[m];
    std::memcpy(batch.data() + m * length, codes.data() + mu.row * length, length);
    batch[m * length + mu.position] = mu.base;
  }
  const Tensor x = runtime::from_vector(batch, {m_count, length}).to(model.device());
  return model.forward(x).contiguous().to_vector<float>();
}

std::vector<float> MutationScorer::Impl::score_fast(const std::vector<Mutation>& mutations) {
  const int64_t M = static_cast<int64_t>(mutations.size());
  std::vector<int64_t> start(M), next(M), row(M);
  // The input window: one position, the new base's one-hot.
  Tensor v = runtime::zeros({M, 1, 4});
  for (int64_t m = 0; m < M; ++m) {
    start[m] = mutations[m].position;
    row[m] = mutations[m].row;
    data(v)[m * 4 + mutations[m].base] = 1.0f;
  }
  int64_t width = 1;
  for (size_t i = 0; i < stages.size(); ++i) {
    const Stage& s = stages[i];
    const int64_t C = s.in_ch, Co = s.out_ch, W = width, Wo = s.width;
    for (int64_t m = 0; m < M; ++m) next[m] = s.next_start(start[m]);
    Tensor& in_ref = refs[i];
    Tensor& out_ref = refs[i + 1];
    if (s.kind == Stage::kPointwise) {
      v = s.module->forward(v.view({M * W, C})).contiguous().view({M, W, Co});
      continue;
    }
    Tensor o = runtime::empty({M, Wo, Co});
    float* op = data(o);
    const float* vp = data(v);
    const float* rin = data(in_ref);
    const float* rout = data(out_ref);
#pragma omp parallel for if (M * Wo * Co > (1 << 16))
    for (int64_t m = 0; m < M; ++m)
      std::memcpy(op + m * Wo * Co, rout + (row[m] * s.out_len + next[m]) * Co,
                  sizeof(float) * Wo * Co);
    if (s.kind == Stage::kConv) {
      // conv(mutated) = conv(reference) + conv without bias of (mutated - reference).
      Tensor d = runtime::empty({M * W, C});
      float* dp = data(d);
#pragma omp parallel for if (M * W * C > (1 << 16))
      for (int64_t m = 0; m < M; ++m) {
        const float* r = rin + (row[m] * s.in_len + start[m]) * C;
        for (int64_t e = 0; e < W * C; ++e) dp[m * W * C + e] = vp[m * W * C + e] - r[e];
      }
      const Tensor y = runtime::matmul(d, s.wt).contiguous();  // [M * W, kernel * Co]
      const float* yp = y.data<float>();
#pragma omp parallel for if (M * W * s.kernel * Co > (1 << 16))
      for (int64_t m = 0; m < M; ++m)
        for (int64_t j = 0; j < W; ++j)
          for (int64_t k = 0; k < s.kernel; ++k) {
            const int64_t pos = start[m] + j + s.pad - k * s.dilation;
            if (pos < 0 || pos % s.stride != 0 || pos / s.stride >= s.out_len) continue;
            const int64_t w = pos / s.stride - next[m];
            float* dst = op + (m * Wo + w) * Co;
            const float* src = yp + ((m * W + j) * s.kernel + k) * Co;
            for (int64_t c = 0; c < Co; ++c) dst[c] += src[c];
          }
    } else {
      // Pooling: each window position recomputed from the mutated window or the reference.
#pragma omp parallel for if (M * Wo * s.kernel * C > (1 << 16))
      for (int64_t m = 0; m < M; ++m) {
        std::vector<double> sum(static_cast<size_t>(C));
        for (int64_t w = 0; w < Wo; ++w) {
          float* dst = op + (m * Wo + w) * C;
          std::fill(sum.begin(), sum.end(), 0.0);
          if (s.max) std::fill(dst, dst + C, -std::numeric_limits<float>::infinity());
          for (int64_t t = 0; t < s.kernel; ++t) {
            const int64_t p = (next[m] + w) * s.stride - s.pad + t;
            if (p < 0 || p >= s.in_len) continue;  // padding: -inf for max, 0 for average
            const float* src = p >= start[m] && p < start[m] + W
                                   ? vp + (m * W + p - start[m]) * C
                                   : rin + (row[m] * s.in_len + p) * C;
            if (s.max) {
              for (int64_t c = 0; c < C; ++c) dst[c] = std::max(dst[c], src[c]);
            } else {
              for (int64_t c = 0; c < C; ++c) sum[c] += src[c];
            }
          }
          if (!s.max)
            for (int64_t c = 0; c < C; ++c) dst[c] = static_cast<float>(sum[c] / s.kernel);
        }
      }
    }
    v = o;
    width = Wo;
    std::swap(start, next);
  }
  const Stage& last = stages.back();
  const int64_t C = last.out_ch, L = last.out_len, W = width;
  const float* vp = data(v);
  const float* rlast = data(refs.back());
  Tensor x;
  if (linear_end > 0) {
    // y = y(reference) + sum over changed positions l of (mutated - reference)[l] x W[l].
    const int64_t out = linear_ref.size(1);
    x = runtime::empty({M, out});
    float* xp = data(x);
    for (int64_t m = 0; m < M; ++m)
      std::memcpy(xp + m * out, data(linear_ref) + row[m] * out, sizeof(float) * out);
    std::vector<std::vector<std::pair<int64_t, int64_t>>> at(static_cast<size_t>(L));
    for (int64_t m = 0; m < M; ++m)
      for (int64_t w = 0; w < W; ++w) at[start[m] + w].emplace_back(m, w);
    for (int64_t l = 0; l < L; ++l) {
      const auto& items = at[l];
      if (items.empty()) continue;
      const int64_t n = static_cast<int64_t>(items.size());
      Tensor g = runtime::empty({n, C});
      float* gp = data(g);
      for (int64_t q = 0; q < n; ++q) {
        const auto [m, w] = items[q];
        const float* a = vp + (m * W + w) * C;
        const float* r = rlast + (row[m] * L + l) * C;
        for (int64_t c = 0; c < C; ++c) gp[q * C + c] = a[c] - r[c];
      }
      const Tensor p = runtime::matmul(g, weight_by_position.select(0, l)).contiguous();
      const float* pp = p.data<float>();
      for (int64_t q = 0; q < n; ++q) {
        float* dst = xp + items[q].first * out;
        for (int64_t e = 0; e < out; ++e) dst[e] += pp[q * out + e];
      }
    }
    x = run_suffix(x, linear_end);
  } else {
    // Splice each window into the reference activation and run the rest of the model in full.
    x = runtime::empty({M, C, L});
    float* xp = data(x);
    const float* cf = data(last_cf);
#pragma omp parallel for if (M * C * L > (1 << 16))
    for (int64_t m = 0; m < M; ++m) {
      float* dst = xp + m * C * L;
      std::memcpy(dst, cf + row[m] * C * L, sizeof(float) * C * L);
      for (int64_t w = 0; w < W; ++w)
        for (int64_t c = 0; c < C; ++c) dst[c * L + start[m] + w] = vp[(m * W + w) * C + c];
    }
    x = run_suffix(x, suffix_begin);
  }
  return x.contiguous().to_vector<float>();
}

MutationScorer::MutationScorer(layers::Sequential& model, int64_t length, bool naive)
    : impl_(std::make_unique<Impl>(model, length)) {
  STRAND_CHECK(length > 0, "mutation scoring: the input length must be positive, got {}", length);
  model.eval();
  if (naive) {
    runtime::NoGradGuard no_grad;
    const Tensor out =
        model.forward(runtime::zeros({1, length}, {.dtype = DType::kU8}).to(model.device()));
    impl_->outputs = out.size(-1);
    return;
  }
  impl_->analyse();
}

MutationScorer::~MutationScorer() = default;

bool MutationScorer::fast() const { return impl_->fast; }
const std::string& MutationScorer::fallback_reason() const { return impl_->reason; }
std::string MutationScorer::describe() const {
  if (impl_->fast) return impl_->plan;
  return impl_->reason.empty() ? "naive: every mutated sequence through the whole model"
                               : "naive (" + impl_->reason + ")";
}
int64_t MutationScorer::length() const { return impl_->length; }
int64_t MutationScorer::outputs() const { return impl_->outputs; }

std::vector<float> MutationScorer::set_references(const uint8_t* codes, int64_t rows) {
  Impl& s = *impl_;
  STRAND_CHECK(rows > 0, "mutation scoring: no reference sequences");
  runtime::NoGradGuard no_grad;
  s.rows = rows;
  s.codes.assign(codes, codes + rows * s.length);
  Tensor x = runtime::from_vector(s.codes, {rows, s.length}).to(s.model.device());
  if (!s.fast) return s.model.forward(x).contiguous().to_vector<float>();
  // The input as a channels-last one-hot (unknown = 0.25 of each base, as the model reads it).
  std::vector<float> hot(static_cast<size_t>(rows * s.length * 4), 0.0f);
  for (int64_t e = 0; e < rows * s.length; ++e) {
    if (codes[e] < 4)
      hot[e * 4 + codes[e]] = 1.0f;
    else
      std::fill_n(hot.begin() + e * 4, 4, data::kUnknownOneHot);
  }
  s.refs = {runtime::from_vector(hot, {rows, s.length, 4})};
  for (const Stage& stage : s.stages) {
    x = stage.module->forward(x);
    s.refs.push_back(x.permute({0, 2, 1}).contiguous());
  }
  s.last_cf = x.contiguous();
  if (s.linear_end > 0) {
    s.linear_ref = x;
    for (size_t j = s.suffix_begin; j < s.linear_end; ++j)
      s.linear_ref = s.model[j].forward(s.linear_ref);
    s.linear_ref = s.linear_ref.contiguous();
    return s.run_suffix(s.linear_ref, s.linear_end).contiguous().to_vector<float>();
  }
  return s.run_suffix(s.last_cf, s.suffix_begin).contiguous().to_vector<float>();
}

std::vector<float> MutationScorer::score(const std::vector<Mutation>& mutations) {
  Impl& s = *impl_;
  STRAND_CHECK(s.rows > 0, "mutation scoring: set the reference sequences first");
  for (const Mutation& m : mutations)
    STRAND_CHECK(
        m.row >= 0 && m.row < s.rows && m.position >= 0 && m.position < s.length && m.base < 4,
        "mutation (row {}, position {}, base {}) is outside {} references of length {}", m.row,
        m.position, int(m.base), s.rows, s.length);
  if (mutations.empty()) return {};
  runtime::NoGradGuard no_grad;
  return s.fast ? s.score_fast(mutations) : s.score_naive(mutations);
}

std::vector<float> MutationScorer::outputs_of(const uint8_t* codes, int64_t rows) {
  Impl& s = *impl_;
  if (rows == 0) return {};
  runtime::NoGradGuard no_grad;
  const std::vector<uint8_t> batch(codes, codes + rows * s.length);
  const Tensor x = runtime::from_vector(batch, {rows, s.length}).to(s.model.device());
  return s.model.forward(x).contiguous().to_vector<float>();
}

}  // namespace strand::interpret
