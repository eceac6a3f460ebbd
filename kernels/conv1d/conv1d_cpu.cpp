// CPU conv1d: the public entry points (argument checks, reference/fast dispatch), the plain-loop
// reference every other conv1d path is tested against, and the bias gradient. The fp32 fast path
// is oneDNN's convolution or strand's im2col/shifted-GEMM kernels, chosen by the shape alone
// (kAuto, see pick()); under bf16 math, oneDNN's bf16 convolution except on passes with few input
// channels.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "kernels/common/onednn.h"
#include "kernels/common/type_lists.h"
#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_cpu_fast.h"

namespace strand::kernels::cpu {
namespace {

// The reference accumulates in double so it is also a sharp oracle for float and bf16 kernels.
template <typename T>
void reference_forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const int64_t l_out = s.out_length();
  const int64_t cin_g = s.in_per_group();
  const int64_t cout_g = s.out_per_group();
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t o = 0; o < s.out_channels; ++o) {
      const int64_t g = o / cout_g;
      for (int64_t t = 0; t < l_out; ++t) {
        double acc = bias ? static_cast<double>(bias[o]) : 0.0;
        for (int64_t c = 0; c < cin_g; ++c) {
          const int64_t ci = g * cin_g + c;
          for (int64_t k = 0; k < s.kernel_size; ++k) {
            const int64_t p = t * s.stride + k * s.dilation - s.pad_left;
            if (p < 0 || p >= s.in_length) continue;
            acc += static_cast<double>(x[(n * s.in_channels + ci) * s.in_length + p]) *
                   static_cast<double>(w[(o * cin_g + c) * s.kernel_size + k]);
          }
        }
        y[(n * s.out_channels + o) * l_out + t] = static_cast<T>(acc);
      }
    }
  }
}

// dx[n, ci, i] gathers every (o, k, t) with t*stride + k*dilation - pad_left == i.
template <typename T>
void reference_backward_data(const Conv1dShape& s, const T* dy, const T* w, T* dx) {
  const int64_t l_out = s.out_length();
  const int64_t cin_g = s.in_per_group();
  const int64_t cout_g = s.out_per_group();
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t ci = 0; ci < s.in_channels; ++ci) {
      const int64_t g = ci / cin_g;
      const int64_t c = ci % cin_g;
      for (int64_t i = 0; i < s.in_length; ++i) {
        double acc = 0.0;
        for (int64_t o = g * cout_g; o < (g + 1) * cout_g; ++o) {
          for (int64_t k = 0; k < s.kernel_size; ++k) {
            const int64_t num = i + s.pad_left - k * s.dilation;
            if (num < 0 || num % s.stride != 0) continue;
            const int64_t t = num / s.stride;
            if (t >= l_out) continue;
            acc += static_cast<double>(w[(o * cin_g + c) * s.kernel_size + k]) *
                   static_cast<double>(dy[(n * s.out_channels + o) * l_out + t]);
          }
        }
        dx[(n * s.in_channels + ci) * s.in_length + i] = static_cast<T>(acc);
      }
    }
  }
}

template <typename T>
void reference_backward_weight(const Conv1dShape& s, const T* x, const T* dy, T* dw,
                               bool accumulate) {
  const int64_t l_out = s.out_length();
  const int64_t cin_g = s.in_per_group();
  const int64_t cout_g = s.out_per_group();
  for (int64_t o = 0; o < s.out_channels; ++o) {
    const int64_t g = o / cout_g;
    for (int64_t c = 0; c < cin_g; ++c) {
      const int64_t ci = g * cin_g + c;
      for (int64_t k = 0; k < s.kernel_size; ++k) {
        double acc = 0.0;
        for (int64_t n = 0; n < s.batch; ++n) {
          for (int64_t t = 0; t < l_out; ++t) {
            const int64_t p = t * s.stride + k * s.dilation - s.pad_left;
            if (p < 0 || p >= s.in_length) continue;
            acc += static_cast<double>(dy[(n * s.out_channels + o) * l_out + t]) *
                   static_cast<double>(x[(n * s.in_channels + ci) * s.in_length + p]);
          }
        }
        T& out = dw[(o * cin_g + c) * s.kernel_size + k];
        out = static_cast<T>(accumulate ? static_cast<double>(out) + acc : acc);
      }
    }
  }
}

void check_pointers(const char* op, const void* a, const char* a_name, const void* b,
                    const char* b_name, const void* c, const char* c_name) {
  STRAND_CHECK(a != nullptr, "{}: {} is null", op, a_name);
  STRAND_CHECK(b != nullptr, "{}: {} is null", op, b_name);
  STRAND_CHECK(c != nullptr, "{}: {} is null", op, c_name);
}

CpuConvBackend backend_from_env() {
  const char* v = std::getenv("STRAND_CPU_CONV");
  if (v == nullptr || std::string_view(v) == "auto") return CpuConvBackend::kAuto;
  if (std::string_view(v) == "onednn") return CpuConvBackend::kOneDnn;
  if (std::string_view(v) == "strand") return CpuConvBackend::kStrand;
  STRAND_FAIL("STRAND_CPU_CONV must be auto, onednn or strand, got '{}'", v);
}

struct Choices {
  std::mutex mutex;
  CpuConvBackend backend = backend_from_env();
  // kAuto's fp32 picks per (shape, pass): whether oneDNN runs it (asking oneDNN for its
  // implementation builds a primitive, so the answer is kept).
  std::map<std::pair<Conv1dShape, int>, bool> use_onednn;
};
Choices& choices() {
  static Choices c;
  return c;
}

// The implementations of one pass: strand's kernels, oneDNN in fp32, oneDNN with bf16 inputs.
enum class Impl { kStrand, kOneDnn, kOneDnnBf16 };

// Under kAuto, passes of fewer input channels per group than this run strand's kernels, in fp32
// even under bf16 math. Measured on the 2-core Intel Xeon (AMX; oneDNN 2.6.3 jit:avx512_core, one
// thread): with 4 or 8 input channels strand's kernels ran backward-data and backward-weight
// 1.3-3.5x faster than oneDNN fp32 (forward 0.9-1.0x), and oneDNN's bf16 forward with 4 channels
// up to 2.5x slower than them; from 16 channels oneDNN fp32 ran 0.95-1.3x strand's speed and bf16
// 2-6x (one exception: DeepSEA's conv3 backward-weight, bf16 1.4x slower than fp32).
constexpr int64_t kMinOneDnnChannels = 16;

// The implementation of the fast path for (pass, shape): a function of the shape only, never of a
// timing, so that a run gives the same bits every time (timing oneDNN against strand's kernels
// per shape let a loaded machine pick either on near ties, and `strand predict` differed in the
// last bit from run to run). fp32 under kAuto: oneDNN from 50 MFLOP (under that, well under a
// millisecond, oneDNN's rounding varies more with the batch split: a data-parallel resume drifted
// 1.5e-3 in trainer_mpi3_test against 2e-4 with strand's) on kMinOneDnnChannels input channels
// per group and more, where it has a JIT kernel (its reference kernels, "ref:any", are plain
// loops); strand's kernels elsewhere. Under bf16 math: oneDNN's bf16 convolution, except where
// the fp32 pick is strand's for want of channels.
Impl pick(Conv1dPass pass, const Conv1dShape& s, bool bf16) {
  // bf16 math on a CPU without bf16 instructions is an error, whichever pass runs in fp32.
  if (bf16) require_cpu_bf16("bf16 conv1d");
  Choices& c = choices();
  std::unique_lock lock(c.mutex);
  if (c.backend != CpuConvBackend::kAuto) {
    if (bf16) return Impl::kOneDnnBf16;
    return c.backend == CpuConvBackend::kOneDnn ? Impl::kOneDnn : Impl::kStrand;
  }
  const bool enough_channels = s.in_per_group() >= kMinOneDnnChannels;
  if (bf16 && enough_channels) return Impl::kOneDnnBf16;
  if (!enough_channels || s.flops() < 5e7) return Impl::kStrand;
  const auto key = std::make_pair(s, static_cast<int>(pass));
  auto it = c.use_onednn.find(key);
  if (it == c.use_onednn.end()) {
    lock.unlock();
    const bool jit = onednn_conv1d_impl(s, pass, false).rfind("ref", 0) != 0;
    lock.lock();
    it = c.use_onednn.emplace(key, jit).first;
  }
  return it->second ? Impl::kOneDnn : Impl::kStrand;
}

}  // namespace

void set_cpu_conv_backend(CpuConvBackend backend) {
  std::lock_guard lock(choices().mutex);
  choices().backend = backend;
}
CpuConvBackend cpu_conv_backend() {
  std::lock_guard lock(choices().mutex);
  return choices().backend;
}
void clear_cpu_conv_choices() {
  std::lock_guard lock(choices().mutex);
  choices().use_onednn.clear();
}

namespace {

// The fast path for each pass: fp32 on oneDNN or strand's kernels, bf16 math on oneDNN where
// pick() says so (float64 always on strand's).
template <typename T>
void fast_forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y) {
  if constexpr (std::is_same_v<T, float>) {
    const Impl impl = pick(Conv1dPass::kForward, s, bf16_math());
    if (impl != Impl::kStrand)
      return onednn_conv1d_forward(s, x, w, bias, y, impl == Impl::kOneDnnBf16);
  }
  fast::forward(s, x, w, bias, y);
}

template <typename T>
void fast_backward_data(const Conv1dShape& s, const T* dy, const T* w, T* dx) {
  if constexpr (std::is_same_v<T, float>) {
    const Impl impl = pick(Conv1dPass::kBackwardData, s, bf16_math());
    if (impl != Impl::kStrand)
      return onednn_conv1d_backward_data(s, dy, w, dx, impl == Impl::kOneDnnBf16);
  }
  fast::backward_data(s, dy, w, dx);
}

template <typename T>
void fast_backward_weight(const Conv1dShape& s, const T* x, const T* dy, T* dw, bool accumulate) {
  if constexpr (std::is_same_v<T, float>) {
    const Impl impl = pick(Conv1dPass::kBackwardWeight, s, bf16_math());
    if (impl != Impl::kStrand)
      return onednn_conv1d_backward_weight(s, x, dy, dw, accumulate, impl == Impl::kOneDnnBf16);
  }
  fast::backward_weight(s, x, dy, dw, accumulate);
}

}  // namespace

template <typename T>
void conv1d_forward(const Context&, const Conv1dShape& shape, const T* x, const T* w, const T* bias,
                    T* y, Conv1dCpuAlgo algo) {
  shape.validate();
  check_pointers("conv1d_forward", x, "x", w, "w", y, "y");
  if (algo == Conv1dCpuAlgo::kReference) {
    reference_forward(shape, x, w, bias, y);
  } else {
    fast_forward(shape, x, w, bias, y);
  }
}

template <typename T>
void conv1d_backward_data(const Context&, const Conv1dShape& shape, const T* dy, const T* w, T* dx,
                          Conv1dCpuAlgo algo) {
  shape.validate();
  check_pointers("conv1d_backward_data", dy, "dy", w, "w", dx, "dx");
  if (algo == Conv1dCpuAlgo::kReference) {
    reference_backward_data(shape, dy, w, dx);
  } else {
    fast_backward_data(shape, dy, w, dx);
  }
}

template <typename T>
void conv1d_backward_weight(const Context&, const Conv1dShape& shape, const T* x, const T* dy,
                            T* dw, bool accumulate, Conv1dCpuAlgo algo) {
  shape.validate();
  check_pointers("conv1d_backward_weight", x, "x", dy, "dy", dw, "dw");
  if (algo == Conv1dCpuAlgo::kReference) {
    reference_backward_weight(shape, x, dy, dw, accumulate);
  } else {
    fast_backward_weight(shape, x, dy, dw, accumulate);
  }
}

template <typename T>
void conv1d_backward_bias(const Context&, const Conv1dShape& shape, const T* dy, T* db,
                          bool accumulate) {
  shape.validate();
  check_pointers("conv1d_backward_bias", dy, "dy", db, "db", db, "db");
  const int64_t l_out = shape.out_length();
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < shape.out_channels; ++o) {
    double acc = accumulate ? static_cast<double>(db[o]) : 0.0;
    for (int64_t n = 0; n < shape.batch; ++n) {
      const T* row = dy + (n * shape.out_channels + o) * l_out;
      double part = 0.0;
      // Reordered (vector) double sum: a serial chain of double adds bounded this loop.
#pragma omp simd reduction(+ : part)
      for (int64_t t = 0; t < l_out; ++t) part += static_cast<double>(row[t]);
      acc += part;
    }
    db[o] = static_cast<T>(acc);
  }
}

template <typename T>
void conv1d_epilogue(const Context&, const Conv1dShape& shape, const T* conv, T* y,
                     const Conv1dEpilogue& epi) {
  shape.validate();
  check_pointers("conv1d_epilogue", conv, "conv", y, "y", y, "y");
  const int64_t l_out = shape.out_length(), pool = epi.pool;
  STRAND_CHECK(pool >= 1 && pool <= l_out, "conv1d_epilogue: pool {} outside 1..L_out {}", pool,
               l_out);
  STRAND_CHECK((epi.bn_sum == nullptr) == (epi.bn_sumsq == nullptr),
               "conv1d_epilogue: give both bn_sum and bn_sumsq or neither");
  const int64_t l_pool = l_out / pool;
  for (int64_t o = 0; o < shape.out_channels; ++o) {
    double sum = 0.0, sumsq = 0.0;
    for (int64_t n = 0; n < shape.batch; ++n) {
      const T* row = conv + (n * shape.out_channels + o) * l_out;
      for (int64_t t = 0; t < l_out; ++t) {
        sum += static_cast<double>(row[t]);
        sumsq += static_cast<double>(row[t]) * static_cast<double>(row[t]);
      }
      T* out = y + (n * shape.out_channels + o) * l_pool;
      for (int64_t p = 0; p < l_pool; ++p) {
        T v = row[p * pool];
        for (int64_t q = 1; q < pool; ++q) v = std::max(v, row[p * pool + q]);
        out[p] = epi.relu ? std::max(v, T(0)) : v;
      }
    }
    if (epi.bn_sum) {
      epi.bn_sum[o] += static_cast<float>(sum);
      epi.bn_sumsq[o] += static_cast<float>(sumsq);
    }
  }
}

#define STRAND_CONV1D_CPU_INSTANTIATE(T)                                                          \
  template void conv1d_forward<T>(const Context&, const Conv1dShape&, const T*, const T*,         \
                                  const T*, T*, Conv1dCpuAlgo);                                   \
  template void conv1d_backward_data<T>(const Context&, const Conv1dShape&, const T*, const T*,   \
                                        T*, Conv1dCpuAlgo);                                       \
  template void conv1d_backward_weight<T>(const Context&, const Conv1dShape&, const T*, const T*, \
                                          T*, bool, Conv1dCpuAlgo);                               \
  template void conv1d_backward_bias<T>(const Context&, const Conv1dShape&, const T*, T*, bool);  \
  template void conv1d_epilogue<T>(const Context&, const Conv1dShape&, const T*, T*,              \
                                   const Conv1dEpilogue&);

STRAND_CPU_F32_F64_TYPES(STRAND_CONV1D_CPU_INSTANTIATE)
#undef STRAND_CONV1D_CPU_INSTANTIATE

}  // namespace strand::kernels::cpu
