// bfloat16 for host code: the same 16 bits as CUDA's __nv_bfloat16, so buffers pass between the
// two unchanged. Arithmetic goes through float.
#pragma once

#include <cstdint>
#include <cstring>

namespace strand {

struct BFloat16 {
  uint16_t bits = 0;

  BFloat16() = default;
  BFloat16(float value) : bits(round_from_float(value)) {}  // NOLINT: implicit like a float
  operator float() const {                                  // NOLINT
    uint32_t wide = static_cast<uint32_t>(bits) << 16;
    float out;
    std::memcpy(&out, &wide, sizeof(out));
    return out;
  }

  static BFloat16 from_bits(uint16_t b) {
    BFloat16 out;
    out.bits = b;
    return out;
  }

 private:
  // Round to nearest even, as __float2bfloat16 does; NaN stays a (quiet) NaN.
  static uint16_t round_from_float(float value) {
    uint32_t wide;
    std::memcpy(&wide, &value, sizeof(wide));
    if ((wide & 0x7f800000u) == 0x7f800000u && (wide & 0x007fffffu) != 0) {
      return static_cast<uint16_t>((wide >> 16) | 0x0040u);
    }
    const uint32_t rounding = 0x7fffu + ((wide >> 16) & 1u);
    return static_cast<uint16_t>((wide + rounding) >> 16);
  }
};

static_assert(sizeof(BFloat16) == 2);

}  // namespace strand
