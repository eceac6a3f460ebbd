// CPU one-hot DNA conv1d: the gather-sum forward and scatter-add weight gradient over base codes or
// 2-bit packed bases (semantics in conv1d_onehot.h), plus packing and dense expansion helpers.
#include <algorithm>
#include <vector>

#include "core/error.h"
#include "kernels/common/type_lists.h"
#include "kernels/conv1d/conv1d_cpu_fast.h"
#include "kernels/conv1d/conv1d_onehot_pool.h"

namespace strand::kernels {

int64_t onehot_input_bytes(const Conv1dShape& shape, BaseEncoding encoding) {
  return shape.batch *
         (encoding == BaseEncoding::kCodes ? shape.in_length : packed_row_bytes(shape.in_length));
}

void check_onehot_shape(const Conv1dShape& shape, const char* op) {
  shape.validate();
  STRAND_CHECK(shape.in_channels == 4, "{}: one-hot DNA input has 4 channels, shape has {}", op,
               shape.in_channels);
  STRAND_CHECK(shape.groups == 1, "{}: one-hot DNA input needs groups == 1, got {}", op,
               shape.groups);
}

int64_t check_onehot_pool(const Conv1dShape& shape, const OnehotPool& pool, const char* op) {
  check_onehot_shape(shape, op);
  const int64_t l_out = shape.out_length();
  STRAND_CHECK(pool.size > 0 && pool.stride > 0,
               "{}: pool size ({}) and stride ({}) must be positive", op, pool.size, pool.stride);
  STRAND_CHECK(pool.size <= l_out, "{}: pool size {} is longer than the conv output ({})", op,
               pool.size, l_out);
  return (l_out - pool.size) / pool.stride + 1;
}

namespace cpu {
namespace {

// Slot in a weight table row: 0..3 bases, 4 unknown (the mean), 5 padding (zero).
constexpr int kSlots = 6;
constexpr uint8_t kPadSlot = 5;

uint8_t base_at(BaseEncoding encoding, const uint8_t* row, int64_t i) {
  if (encoding == BaseEncoding::kCodes) return std::min<uint8_t>(row[i], kBaseUnknown);
  return static_cast<uint8_t>((row[i / 4] >> (2 * (i % 4))) & 3u);
}

// All rows decoded to slots with the padding spelled out: [N, pad_left + L_in + pad_right].
std::vector<uint8_t> padded_slots(const Conv1dShape& s, BaseEncoding encoding,
                                  const uint8_t* bases) {
  const int64_t width = s.pad_left + s.in_length + s.pad_right;
  const int64_t row_bytes =
      encoding == BaseEncoding::kCodes ? s.in_length : packed_row_bytes(s.in_length);
  std::vector<uint8_t> out(static_cast<size_t>(s.batch * width), kPadSlot);
  for (int64_t n = 0; n < s.batch; ++n) {
    const uint8_t* row = bases + n * row_bytes;
    uint8_t* dst = out.data() + n * width + s.pad_left;
    for (int64_t i = 0; i < s.in_length; ++i) dst[i] = base_at(encoding, row, i);
  }
  return out;
}

void check_pointers(const char* op, const void* bases, const void* w, const void* out) {
  STRAND_CHECK(bases != nullptr, "{}: bases is null", op);
  STRAND_CHECK(w != nullptr, "{}: weights/gradient input is null", op);
  STRAND_CHECK(out != nullptr, "{}: output is null", op);
}

}  // namespace

void pack_bases_2bit(const uint8_t* codes, int64_t rows, int64_t length, uint8_t* packed) {
  const int64_t row_bytes = packed_row_bytes(length);
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* dst = packed + r * row_bytes;
    std::fill(dst, dst + row_bytes, uint8_t{0});
    for (int64_t i = 0; i < length; ++i) {
      const uint8_t code = codes[r * length + i];
      STRAND_CHECK(code <= kBaseT,
                   "pack_bases_2bit: base code {} at row {} position {} cannot be packed (2-bit "
                   "packing has only A, C, G, T = 0..3)",
                   static_cast<int>(code), r, i);
      dst[i / 4] = static_cast<uint8_t>(dst[i / 4] | (code << (2 * (i % 4))));
    }
  }
}

template <typename T>
void bases_to_onehot(const Conv1dShape& s, BaseEncoding encoding, const uint8_t* bases, T* x) {
  check_onehot_shape(s, "bases_to_onehot");
  const int64_t row_bytes =
      encoding == BaseEncoding::kCodes ? s.in_length : packed_row_bytes(s.in_length);
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t i = 0; i < s.in_length; ++i) {
      const uint8_t b = base_at(encoding, bases + n * row_bytes, i);
      for (int64_t c = 0; c < 4; ++c) {
        x[(n * 4 + c) * s.in_length + i] = b == kBaseUnknown ? T(0.25) : (b == c ? T(1) : T(0));
      }
    }
  }
}

namespace {

// The gather-sum as plain loops: the one-hot semantics spelled out.
template <typename T>
void reference_forward(const Conv1dShape& s, BaseEncoding encoding, const uint8_t* bases,
                       const T* w, const T* bias, T* y) {
  const int64_t l_out = s.out_length();
  const int64_t k_size = s.kernel_size;
  // table[(o*K + k)*6 + slot]: the weight column each slot contributes.
  std::vector<T> table(static_cast<size_t>(s.out_channels * k_size * kSlots));
  for (int64_t o = 0; o < s.out_channels; ++o) {
    for (int64_t k = 0; k < k_size; ++k) {
      T* row = table.data() + (o * k_size + k) * kSlots;
      T sum = T(0);
      for (int64_t c = 0; c < 4; ++c) {
        row[c] = w[(o * 4 + c) * k_size + k];
        sum += row[c];
      }
      row[kBaseUnknown] = sum * T(0.25);
      row[kPadSlot] = T(0);
    }
  }
  const std::vector<uint8_t> slots = padded_slots(s, encoding, bases);
  const int64_t width = s.pad_left + s.in_length + s.pad_right;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t o = 0; o < s.out_channels; ++o) {
      T* dst = y + (n * s.out_channels + o) * l_out;
      std::fill(dst, dst + l_out, bias ? bias[o] : T(0));
      for (int64_t k = 0; k < k_size; ++k) {
        const T* tab = table.data() + (o * k_size + k) * kSlots;
        const uint8_t* src = slots.data() + n * width + k * s.dilation;
        for (int64_t t = 0; t < l_out; ++t) dst[t] += tab[src[t * s.stride]];
      }
    }
  }
}

// The scatter-add as plain loops: dy binned by the base each tap reads.
template <typename T>
void reference_backward_weight(const Conv1dShape& s, BaseEncoding encoding, const uint8_t* bases,
                               const T* dy, T* dw, bool accumulate) {
  const int64_t l_out = s.out_length();
  const std::vector<uint8_t> slots = padded_slots(s, encoding, bases);
  const int64_t width = s.pad_left + s.in_length + s.pad_right;
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < s.out_channels; ++o) {
    for (int64_t k = 0; k < s.kernel_size; ++k) {
      double acc[kSlots] = {0, 0, 0, 0, 0, 0};
      for (int64_t n = 0; n < s.batch; ++n) {
        const T* d = dy + (n * s.out_channels + o) * l_out;
        const uint8_t* src = slots.data() + n * width + k * s.dilation;
        for (int64_t t = 0; t < l_out; ++t) acc[src[t * s.stride]] += static_cast<double>(d[t]);
      }
      for (int64_t c = 0; c < 4; ++c) {
        T& out = dw[(o * 4 + c) * s.kernel_size + k];
        const double v = acc[c] + 0.25 * acc[kBaseUnknown];
        out = static_cast<T>(accumulate ? static_cast<double>(out) + v : v);
      }
    }
  }
}

}  // namespace

// The fast forward is im2col from the bases + GEMM (conv1d_onehot_fast.cpp); the weight gradient
// expands the bases and runs the dense path (see conv1d_onehot_fast.cpp for why): on a CPU the
// vectorized GEMM over 4 channels beats the gather's table lookups (which do 4x less arithmetic but
// are load-bound; measured 3x slower on DeepSEA layer 1). Its im2col encodes unknown bases as 0.25
// per channel, exactly the documented semantics.
template <typename T>
void conv1d_onehot_forward(const Context&, const Conv1dShape& s, BaseEncoding encoding,
                           const uint8_t* bases, const T* w, const T* bias, T* y,
                           Conv1dCpuAlgo algo) {
  check_onehot_shape(s, "conv1d_onehot_forward");
  check_pointers("conv1d_onehot_forward", bases, w, y);
  if (algo == Conv1dCpuAlgo::kReference) return reference_forward(s, encoding, bases, w, bias, y);
  fast::onehot_forward(s, encoding, bases, w, bias, y);
}

template <typename T>
void conv1d_onehot_backward_weight(const Context&, const Conv1dShape& s, BaseEncoding encoding,
                                   const uint8_t* bases, const T* dy, T* dw, bool accumulate,
                                   Conv1dCpuAlgo algo) {
  check_onehot_shape(s, "conv1d_onehot_backward_weight");
  check_pointers("conv1d_onehot_backward_weight", bases, dy, dw);
  if (algo == Conv1dCpuAlgo::kReference) {
    return reference_backward_weight(s, encoding, bases, dy, dw, accumulate);
  }
  std::vector<T> x(static_cast<size_t>(s.x_numel()));
  bases_to_onehot<T>(s, encoding, bases, x.data());
  fast::backward_weight(s, x.data(), dy, dw, accumulate);
}

template <typename T>
void conv1d_onehot_relu_maxpool(const Context& ctx, const Conv1dShape& s, const OnehotPool& pool,
                                BaseEncoding encoding, const uint8_t* bases, const T* w,
                                const T* bias, T* y, Conv1dCpuAlgo algo) {
  const int64_t pooled = check_onehot_pool(s, pool, "conv1d_onehot_relu_maxpool");
  const int64_t l_out = s.out_length();
  std::vector<T> conv(static_cast<size_t>(s.y_numel()));
  conv1d_onehot_forward<T>(ctx, s, encoding, bases, w, bias, conv.data(), algo);
  for (int64_t row = 0; row < s.batch * s.out_channels; ++row) {
    for (int64_t j = 0; j < pooled; ++j) {
      T best = T(0);  // ReLU
      for (int64_t q = 0; q < pool.size; ++q) {
        best = std::max(best, conv[row * l_out + j * pool.stride + q]);
      }
      y[row * pooled + j] = best;
    }
  }
}

#define INSTANTIATE(T)                                                                             \
  template void bases_to_onehot<T>(const Conv1dShape&, BaseEncoding, const uint8_t*, T*);          \
  template void conv1d_onehot_forward<T>(const Context&, const Conv1dShape&, BaseEncoding,         \
                                         const uint8_t*, const T*, const T*, T*, Conv1dCpuAlgo);   \
  template void conv1d_onehot_backward_weight<T>(const Context&, const Conv1dShape&, BaseEncoding, \
                                                 const uint8_t*, const T*, T*, bool,               \
                                                 Conv1dCpuAlgo);                                   \
  template void conv1d_onehot_relu_maxpool<T>(const Context&, const Conv1dShape&,                  \
                                              const OnehotPool&, BaseEncoding, const uint8_t*,     \
                                              const T*, const T*, T*, Conv1dCpuAlgo);
STRAND_CPU_F32_F64_TYPES(INSTANTIATE)
#undef INSTANTIATE

}  // namespace cpu
}  // namespace strand::kernels
