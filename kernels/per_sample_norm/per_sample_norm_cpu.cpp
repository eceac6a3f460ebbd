// CPU per-example gradient norms (per_sample_norm.h): each example's unfolded input and output
// gradient are gathered into small row-major scratch matrices, then either their two Gram matrices
// (ghost) or the example's weight gradient (materialized) come from one BLAS GEMM and are reduced
// to the squared norm; the per-example gradient lives only in that reused scratch.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/common/type_lists.h"
#include "kernels/conv1d/conv1d_onehot.h"
#include "kernels/gemm/gemm.h"
#include "kernels/per_sample_norm/per_sample_norm.h"

namespace strand::kernels {

const char* norm_method_name(NormMethod method) {
  switch (method) {
    case NormMethod::kGhost:
      return "ghost";
    case NormMethod::kMaterialized:
      return "materialized";
    case NormMethod::kInputGram:
      return "input_gram";
  }
  return "?";
}

void PerSampleShape::validate() const {
  STRAND_CHECK(batch > 0 && positions > 0 && in_dim > 0 && out_dim > 0,
               "per-sample norm: batch ({}), positions ({}), in_dim ({}) and out_dim ({}) must be "
               "positive",
               batch, positions, in_dim, out_dim);
}

PerSampleShape conv_per_sample_shape(const Conv1dShape& conv) {
  conv.validate();
  STRAND_CHECK(conv.groups == 1, "per-sample norm: convolutions need groups == 1, got {}",
               conv.groups);
  return {conv.batch, conv.out_length(), conv.in_channels * conv.kernel_size, conv.out_channels};
}

double ghost_cost(const PerSampleShape& s) {
  return static_cast<double>(s.batch) * s.positions * s.positions * (s.in_dim + s.out_dim);
}

double materialized_cost(const PerSampleShape& s) {
  return static_cast<double>(s.batch) * s.positions * s.in_dim * s.out_dim;
}

NormMethod choose_norm_method(const PerSampleShape& s) {
  return ghost_cost(s) < materialized_cost(s) ? NormMethod::kGhost : NormMethod::kMaterialized;
}

double input_gram_cost(const Conv1dShape& conv, bool bases) {
  const PerSampleShape s = conv_per_sample_shape(conv);
  const double n = static_cast<double>(s.batch), t = static_cast<double>(s.positions);
  const double len = static_cast<double>(conv.in_length);
  const double input_gram = bases ? 0.0 : len * len * static_cast<double>(conv.in_channels);
  const double flops = n * (input_gram + t * t * (conv.kernel_size + s.out_dim));
  // Through memory: the output-gradient Gram written and read once, the input Gram written once
  // and read once per tap (one-hot bases: their codes, no Gram).
  const double floats =
      n * (2 * t * t + (bases ? 0.0 : len * len + t * t * static_cast<double>(conv.kernel_size)));
  return flops + kGramFlopsPerFloat * floats;
}

NormMethod choose_conv_norm_method(const Conv1dShape& conv, bool bases) {
  const PerSampleShape s = conv_per_sample_shape(conv);
  const NormMethod other = choose_norm_method(s);
  const double other_cost = other == NormMethod::kGhost ? ghost_cost(s) : materialized_cost(s);
  return input_gram_cost(conv, bases) < other_cost ? NormMethod::kInputGram : other;
}

namespace cpu {
namespace {

// One example's a (T x in) and g (T x out), row-major, in reused scratch.
template <typename T>
struct Scratch {
  std::vector<T> a, g, work;
};

template <typename T>
void gather_g(const PerSampleShape& s, const SampleRows<T>& g, int64_t i, T* dst) {
  const T* base = g.data + i * g.stride_n;
  for (int64_t t = 0; t < s.positions; ++t) {
    for (int64_t o = 0; o < s.out_dim; ++o)
      dst[t * s.out_dim + o] = base[t * g.stride_t + o * g.stride_k];
  }
}

// ||G_i||^2 from the gathered a and g of one example.
template <typename T>
T example_norm(const PerSampleShape& s, NormMethod method, Scratch<T>& sc) {
  const Context ctx{};
  const int64_t n_t = s.positions;
  if (method != NormMethod::kMaterialized) {  // input_gram is ghost for dense rows (K = 1)
    sc.work.resize(static_cast<size_t>(2 * n_t * n_t));
    T* aa = sc.work.data();
    T* gg = aa + n_t * n_t;
    gemm<T>(ctx, dense_gemm(n_t, n_t, s.in_dim, false, true), 1.0, sc.a.data(), sc.a.data(), 0.0,
            aa);
    gemm<T>(ctx, dense_gemm(n_t, n_t, s.out_dim, false, true), 1.0, sc.g.data(), sc.g.data(), 0.0,
            gg);
    T sum = 0;
    for (int64_t k = 0; k < n_t * n_t; ++k) sum += aa[k] * gg[k];
    return sum;
  }
  sc.work.resize(static_cast<size_t>(s.out_dim * s.in_dim));
  gemm<T>(ctx, dense_gemm(s.out_dim, s.in_dim, n_t, true, false), 1.0, sc.g.data(), sc.a.data(),
          0.0, sc.work.data());
  T sum = 0;
  for (const T v : sc.work) sum += v * v;
  return sum;
}

// Runs fill_a(i, a_rows) for each example, then the norm.
template <typename T, typename FillA>
void norms(const PerSampleShape& s, const SampleRows<T>& g, NormMethod method, T* out,
           FillA fill_a) {
  s.validate();
  Scratch<T> sc;
  sc.a.resize(static_cast<size_t>(s.positions * s.in_dim));
  sc.g.resize(static_cast<size_t>(s.positions * s.out_dim));
  for (int64_t i = 0; i < s.batch; ++i) {
    fill_a(i, sc.a.data());
    gather_g(s, g, i, sc.g.data());
    out[i] = example_norm(s, method, sc);
  }
}

// The input-Gram form (per_sample_norm.h) in plain loops over BLAS Gram matrices, example by
// example; input_gram(i, p, q) is the input Gram of example i (filled by fill_input first).
template <typename T, typename Fill, typename InputGram>
void input_gram_norms(const Conv1dShape& conv, const SampleRows<T>& g, T* out, Fill fill_input,
                      InputGram input_gram) {
  const PerSampleShape s = conv_per_sample_shape(conv);
  const int64_t n_t = s.positions, len = conv.in_length;
  std::vector<T> g_rows(static_cast<size_t>(n_t * s.out_dim)), gg(static_cast<size_t>(n_t * n_t));
  for (int64_t i = 0; i < s.batch; ++i) {
    fill_input(i);
    gather_g(s, g, i, g_rows.data());
    gemm<T>({}, dense_gemm(n_t, n_t, s.out_dim, false, true), 1.0, g_rows.data(), g_rows.data(),
            0.0, gg.data());
    T sum = 0;
    for (int64_t t = 0; t < n_t; ++t) {
      for (int64_t u = 0; u < n_t; ++u) {
        T dot = 0;
        for (int64_t k = 0; k < conv.kernel_size; ++k) {
          const int64_t p = t * conv.stride + k * conv.dilation - conv.pad_left;
          const int64_t q = u * conv.stride + k * conv.dilation - conv.pad_left;
          if (p >= 0 && p < len && q >= 0 && q < len) dot += input_gram(p, q);
        }
        sum += dot * gg[t * n_t + u];
      }
    }
    out[i] = sum;
  }
}

}  // namespace

template <typename T>
void per_sample_norm_dense(const Context&, const PerSampleShape& s, SampleRows<T> a,
                           SampleRows<T> g, NormMethod method, T* out) {
  norms<T>(s, g, method, out, [&](int64_t i, T* dst) {
    const T* base = a.data + i * a.stride_n;
    for (int64_t t = 0; t < s.positions; ++t) {
      for (int64_t k = 0; k < s.in_dim; ++k)
        dst[t * s.in_dim + k] = base[t * a.stride_t + k * a.stride_k];
    }
  });
}

template <typename T>
void per_sample_norm_conv1d(const Context&, const Conv1dShape& conv, const T* x, SampleRows<T> g,
                            NormMethod method, T* out) {
  const PerSampleShape s = conv_per_sample_shape(conv);
  const int64_t c_in = conv.in_channels, len = conv.in_length, k_size = conv.kernel_size;
  if (method == NormMethod::kInputGram) {
    std::vector<T> px(static_cast<size_t>(len * len));
    return input_gram_norms<T>(
        conv, g, out,
        [&](int64_t i) {
          gemm<T>({}, dense_gemm(len, len, c_in, true, false), 1.0, x + i * c_in * len,
                  x + i * c_in * len, 0.0, px.data());
        },
        [&](int64_t p, int64_t q) { return px[p * len + q]; });
  }
  norms<T>(s, g, method, out, [&](int64_t i, T* dst) {
    const T* xi = x + i * c_in * len;
    for (int64_t t = 0; t < s.positions; ++t) {
      for (int64_t c = 0; c < c_in; ++c) {
        for (int64_t k = 0; k < k_size; ++k) {
          const int64_t p = t * conv.stride - conv.pad_left + k * conv.dilation;
          dst[t * s.in_dim + c * k_size + k] = (p >= 0 && p < len) ? xi[c * len + p] : T(0);
        }
      }
    }
  });
}

template <typename T>
void per_sample_norm_bases(const Context&, const Conv1dShape& conv, const uint8_t* bases,
                           SampleRows<T> g, NormMethod method, T* out) {
  STRAND_CHECK(conv.in_channels == 4,
               "per-sample norm of base codes: in_channels must be 4, got {}", conv.in_channels);
  const PerSampleShape s = conv_per_sample_shape(conv);
  const int64_t len = conv.in_length, k_size = conv.kernel_size;
  if (method == NormMethod::kInputGram) {
    const uint8_t* row = nullptr;
    // The one-hot inner product: 1 for equal known bases, 0 for different ones, 1/4 with an
    // unknown (0.25 in each channel) on either side.
    return input_gram_norms<T>(
        conv, g, out, [&](int64_t i) { row = bases + i * len; },
        [&](int64_t p, int64_t q) {
          return (row[p] < 4 && row[q] < 4) ? T(row[p] == row[q] ? 1 : 0) : T(0.25);
        });
  }
  norms<T>(s, g, method, out, [&](int64_t i, T* dst) {
    std::fill(dst, dst + s.positions * s.in_dim, T(0));
    const uint8_t* row = bases + i * len;
    for (int64_t t = 0; t < s.positions; ++t) {
      for (int64_t k = 0; k < k_size; ++k) {
        const int64_t p = t * conv.stride - conv.pad_left + k * conv.dilation;
        if (p < 0 || p >= len) continue;
        const uint8_t code = row[p];
        for (int64_t c = 0; c < 4; ++c) {
          dst[t * s.in_dim + c * k_size + k] = code < 4 ? T(code == c ? 1 : 0) : T(0.25);
        }
      }
    }
  });
}

template <typename T>
void per_sample_bias_norm(const Context&, const PerSampleShape& s, SampleRows<T> g, T* out) {
  STRAND_CHECK(s.batch > 0 && s.positions > 0 && s.out_dim > 0,
               "per-sample bias norm: batch ({}), positions ({}) and out_dim ({}) must be positive",
               s.batch, s.positions, s.out_dim);
  std::vector<T> col(static_cast<size_t>(s.out_dim));
  for (int64_t i = 0; i < s.batch; ++i) {
    std::fill(col.begin(), col.end(), T(0));
    const T* base = g.data + i * g.stride_n;
    for (int64_t t = 0; t < s.positions; ++t) {
      for (int64_t o = 0; o < s.out_dim; ++o) col[o] += base[t * g.stride_t + o * g.stride_k];
    }
    T sum = 0;
    for (const T v : col) sum += v * v;
    out[i] = sum;
  }
}

#define STRAND_INSTANTIATE(T)                                                                  \
  template void per_sample_norm_dense<T>(const Context&, const PerSampleShape&, SampleRows<T>, \
                                         SampleRows<T>, NormMethod, T*);                       \
  template void per_sample_norm_conv1d<T>(const Context&, const Conv1dShape&, const T*,        \
                                          SampleRows<T>, NormMethod, T*);                      \
  template void per_sample_norm_bases<T>(const Context&, const Conv1dShape&, const uint8_t*,   \
                                         SampleRows<T>, NormMethod, T*);                       \
  template void per_sample_bias_norm<T>(const Context&, const PerSampleShape&, SampleRows<T>, T*);
STRAND_CPU_F32_F64_TYPES(STRAND_INSTANTIATE)
#undef STRAND_INSTANTIATE

}  // namespace cpu
}  // namespace strand::kernels
