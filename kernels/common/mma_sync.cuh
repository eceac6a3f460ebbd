// The warp-level tensor-core primitives (mma.sync, sm_80 and later) shared by strand's custom
// kernels: the implicit-GEMM convolution, the per-sample Gram norms and the cluster RNN (tf32
// rounding, the 3xTF32 split and product, bf16). Their
// fragment layouts (which lane holds which element) are in kernels/common/mma_layout.h and
// kernels/rnn/rnn_persistent_tiling.h, where the CPU emulations read them too.
#pragma once

#include <cstdint>

namespace strand::kernels::cuda {

#if defined(__CUDACC__)  // nvcc, both passes; host-only compilers see none of it
// fp32 rounded to the nearest tf32 (the tensor cores would truncate), as a .b32 operand.
__device__ __forceinline__ uint32_t to_tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
}

// c (16 x 8, fp32) += a (16 x 8, tf32) b (8 x 8, tf32).
__device__ __forceinline__ void mma_tf32(float (&c)[4], const uint32_t (&a)[4],
                                         const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// x as big + small, both tf32: the operands of mma_3xtf32.
__device__ __forceinline__ void split_tf32(float x, uint32_t& big, uint32_t& small) {
  big = to_tf32(x);
  small = to_tf32(x - __uint_as_float(big));
}

// c += a b to about fp32 accuracy from three tf32 products (3xTF32): a_small b_big, a_big
// b_small, then a_big b_big, the small products first so they are not lost against the big one.
__device__ __forceinline__ void mma_3xtf32(float (&c)[4], const uint32_t (&a_big)[4],
                                           const uint32_t (&a_small)[4], const uint32_t (&b_big)[2],
                                           const uint32_t (&b_small)[2]) {
  mma_tf32(c, a_small, b_big);
  mma_tf32(c, a_big, b_small);
  mma_tf32(c, a_big, b_big);
}

// c (16 x 8, fp32) += a (16 x 16, bf16) b (16 x 8, bf16); two bf16 per .b32, lower k low.
__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4],
                                         const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#endif

}  // namespace strand::kernels::cuda
