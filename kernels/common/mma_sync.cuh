// The warp-level tensor-core primitives (mma.sync, sm_80 and later) shared by strand's custom
// kernels: the implicit-GEMM convolution, the per-sample Gram norms and the cluster RNN. Their
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
