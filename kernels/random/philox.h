// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator, identical on host and device, so CPU and GPU draw the same numbers for
// the same (seed, offset). Element i of a draw uses counter block (offset + i / 4), lane i % 4.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/common/hd.h"

namespace strand::kernels {

struct PhiloxState {
  uint64_t seed = 0;
  uint64_t offset = 0;  // in 128-bit counter blocks (4 numbers each)
};

struct Philox4 {
  uint32_t v[4];
};

STRAND_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  const uint64_t product = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(product >> 32);
  return static_cast<uint32_t>(product);
}

// The ten-round bijection of a 128-bit counter under a 64-bit key (k0, k1).
STRAND_HD Philox4 philox4x32_10(Philox4 counter, uint32_t k0, uint32_t k1) {
  uint32_t c0 = counter.v[0], c1 = counter.v[1], c2 = counter.v[2], c3 = counter.v[3];
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    const uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    const uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// strand's use: a 64-bit block counter (upper half zero) and the 64-bit seed as the key.
STRAND_HD Philox4 philox4x32_10(uint64_t counter, uint64_t key) {
  const Philox4 c{{static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), 0u, 0u}};
  return philox4x32_10(c, static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32));
}

STRAND_HD uint32_t philox_u32(const PhiloxState& s, uint64_t i) {
  return philox4x32_10(s.offset + i / 4, s.seed).v[i % 4];
}

// Uniform in [0, 1) with 24 random bits (exact in float).
STRAND_HD float philox_uniform(const PhiloxState& s, uint64_t i) {
  return static_cast<float>(philox_u32(s, i) >> 8) * (1.0f / 16777216.0f);
}

// Standard normal by Box-Muller on lanes (2j, 2j+1) of the same block: element i pairs with i ^ 1.
STRAND_HD float philox_normal(const PhiloxState& s, uint64_t i) {
  const Philox4 block = philox4x32_10(s.offset + i / 4, s.seed);
  const uint32_t lane = static_cast<uint32_t>(i % 4) & ~1u;
  // u1 in (0, 1] so the log is finite.
  const float u1 = (static_cast<float>(block.v[lane] >> 8) + 1.0f) * (1.0f / 16777216.0f);
  const float u2 = static_cast<float>(block.v[lane + 1] >> 8) * (1.0f / 16777216.0f);
  const float radius = sqrtf(-2.0f * logf(u1));
  const float angle = 6.283185307179586f * u2;
  return (i % 2 == 0) ? radius * cosf(angle) : radius * sinf(angle);
}

// Counter blocks a draw of n numbers consumes; the generator advances its offset by this.
inline uint64_t philox_blocks(uint64_t n) { return (n + 3) / 4; }

}  // namespace strand::kernels
