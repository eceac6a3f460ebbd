// STRAND_CPU_CLONES: a hot CPU loop of strand's own (LSTM gates, fused batch norm/ReLU/pooling,
// the one-hot im2col, weight hashing) compiled for AVX-512, AVX2 and the x86-64 baseline, the
// variant picked at load time from the CPU (GCC's target_clones): the library itself is built for
// the baseline, which left these loops on 4-wide SSE2 on AVX-512 machines.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define STRAND_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define STRAND_CPU_CLONES
#endif
