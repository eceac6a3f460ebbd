// STRAND_HD marks functions compiled for both host and device, so a formula is written once and
// the CPU reference and the CUDA kernel provably evaluate the same expression.
#pragma once

#if defined(__CUDACC__)
#define STRAND_HD __host__ __device__ __forceinline__
#else
#define STRAND_HD inline
#endif
