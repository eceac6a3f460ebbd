// The element types the kernel families are built for, one X-macro list per type set, so every
// family's CPU and CUDA files instantiate the same set from one place:
//   #define INSTANTIATE(T) template void f<T>(const Context&, const T*, T*);
//   STRAND_FLOATING_TYPES(INSTANTIATE)
// runtime/dispatch.h routes a tensor's dtype to the list its family was built for.
#pragma once

#include <cstdint>

#include "core/bfloat16.h"

// f32, f64 and bf16: elementwise, reduce/softmax, index, pool, batch_norm, optim, random (CPU
// and CUDA), gemm on CUDA.
#define STRAND_FLOATING_TYPES(X) X(float) X(double) X(::strand::BFloat16)
// f32 and f64: the CPU paths of conv1d, rnn and per_sample_norm (bf16 runs there through fp32).
#define STRAND_CPU_F32_F64_TYPES(X) X(float) X(double)
// f32 and bf16: the CUDA paths of conv1d and rnn (tensor cores; no fp64 kernels).
#define STRAND_CUDA_F32_BF16_TYPES(X) X(float) X(::strand::BFloat16)
// Unsigned words by size: strided_copy moves any dtype as raw 1, 2, 4 or 8 byte words.
#define STRAND_WORD_TYPES(X) X(uint8_t) X(uint16_t) X(uint32_t) X(uint64_t)
