// The PTX ISA's fragment layouts of mma.sync.m16n8k8 (.tf32) and m16n8k16 (.bf16), written out
// for host emulations of tensor-core kernels: which (row, col) of the A, B (k, n) and 16x8 C tiles
// element i of a lane holds (groupID = lane / 4, threadID_in_group = lane % 4). A kernel's own
// index helpers say where each register is loaded from; an emulation places each loaded value where
// the hardware reads it per these tables, so a helper that disagrees corrupts the product.
#pragma once

namespace strand::kernels::mma_layout {

struct Coord {
  int row, col;
};
inline Coord tf32_a(int lane, int i) {  // a0..a3
  return {lane / 4 + ((i == 1 || i == 3) ? 8 : 0), lane % 4 + (i >= 2 ? 4 : 0)};
}
inline Coord tf32_b(int lane, int i) {  // b0, b1: (k, n)
  return {lane % 4 + (i == 1 ? 4 : 0), lane / 4};
}
inline Coord bf16_a(int lane, int i) {  // a0..a7 of the 16x16 A
  const bool low_rows = i == 0 || i == 1 || i == 4 || i == 5;
  return {lane / 4 + (low_rows ? 0 : 8), 2 * (lane % 4) + (i & 1) + (i >= 4 ? 8 : 0)};
}
inline Coord bf16_b(int lane, int i) {  // b0..b3 of the 16x8 B: (k, n)
  return {2 * (lane % 4) + (i & 1) + (i >= 2 ? 8 : 0), lane / 4};
}
inline Coord f32_c(int lane, int i) {  // c0..c3
  return {lane / 4 + (i >= 2 ? 8 : 0), 2 * (lane % 4) + (i & 1)};
}

}  // namespace strand::kernels::mma_layout
