// The Hopper conv1d kernel (sm_90a only; included by the *_sm90a.cu files): one implicit GEMM
// per block tile of 128x128, fed by TMA (3-d tensor maps whose out-of-bounds zero fill is the
// padding and the tap shift) through a kStages-deep mbarrier pipeline, a producer warpgroup
// issuing the copies and two consumer warpgroups issuing wgmma (bf16 or tf32, fp32
// accumulation), register budgets moved to the consumers with setmaxnreg. The epilogue goes
// through shared memory: bias, optional ReLU and max pool, batch-norm sums, or (weight gradient)
// fp32 adds into a workspace. Every index comes from conv1d_sm90_plan.h.
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>
#include <cutlass/arch/barrier.h>
#include <cutlass/arch/reg_reconfig.h>

#include <cute/arch/copy_sm90_tma.hpp>
#include <cute/tensor.hpp>

#include "kernels/common/cuda_check.h"
#include "kernels/conv1d/conv1d_sm90.h"

namespace strand::kernels::cuda::detail::sm90 {

template <typename E>
struct Traits {
  static constexpr int kTk = kTileKBytes / int(sizeof(E));
  using SmemLayoutA = decltype(cute::tile_to_shape(
      cute::GMMA::Layout_K_SW128_Atom<E>{},
      cute::make_shape(cute::Int<kTileM>{}, cute::Int<kTk>{}, cute::Int<kStages>{})));
  using SmemLayoutB = decltype(cute::tile_to_shape(
      cute::GMMA::Layout_K_SW128_Atom<E>{},
      cute::make_shape(cute::Int<kTileN>{}, cute::Int<kTk>{}, cute::Int<kStages>{})));
  using Atom = std::conditional_t<
      std::is_same_v<E, cute::bfloat16_t>,
      cute::SM90_64x128x16_F32BF16BF16_SS<cute::GMMA::Major::K, cute::GMMA::Major::K>,
      cute::SM90_64x128x8_F32TF32TF32_SS_TN<>>;
  using TiledMma = decltype(cute::make_tiled_mma(
      Atom{}, cute::Layout<cute::Shape<cute::Int<kConsumerWarpgroups>, cute::_1, cute::_1>>{}));
};

template <typename E>
struct Smem {
  alignas(1024) E a[kTileM * Traits<E>::kTk * kStages];
  alignas(1024) E b[kTileN * Traits<E>::kTk * kStages];
  alignas(16) float c[kTileM * kEpiPitch];
  alignas(8) uint64_t full[kStages];
  alignas(8) uint64_t empty[kStages];
};
// +1024: the dynamic buffer is aligned up to the 1024 bytes the 128-byte swizzle needs.
template <typename E>
constexpr int smem_bytes() {
  return int(sizeof(Smem<E>)) + 1024;
}

__device__ __forceinline__ void warpgroup_bar(int id) {
  asm volatile("bar.sync %0, 128;" ::"r"(id));
}

template <typename Out>
__device__ __forceinline__ Out to_out(float v) {
  if constexpr (std::is_same_v<Out, float>) {
    return v;
  } else {
    return Out(v);
  }
}

template <typename E, typename Out>
__global__ void __launch_bounds__(kThreads, 1)
    conv1d_sm90_kernel(const __grid_constant__ Args args) {
  using namespace cute;
  using T = Traits<E>;
  using FullBar = cutlass::arch::ClusterTransactionBarrier;
  using EmptyBar = cutlass::arch::ClusterBarrier;
  extern __shared__ char raw_smem[];
  Smem<E>& ss = *reinterpret_cast<Smem<E>*>((reinterpret_cast<uintptr_t>(raw_smem) + 1023) &
                                            ~uintptr_t{1023});
  const Geom& g = args.g;
  const int warpgroup = threadIdx.x / 128;
  const int iters = block_k_tiles(g, blockIdx.z);

  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) {
      FullBar::init(&ss.full[s], 1);
      EmptyBar::init(&ss.empty[s], kEmptyArrivals);
    }
    cutlass::arch::fence_barrier_init();
  }
  __syncthreads();

  if (warpgroup == 0) {
    // Producer: one thread issues both boxes of every K step.
    cutlass::arch::warpgroup_reg_dealloc<40>();
    if (threadIdx.x == 0) {
      constexpr int kStageElems = kTileM * T::kTk;
      const uint32_t bytes = stage_bytes(g);
      for (int it = 0; it < iters; ++it) {
        const int s = stage_of(it);
        EmptyBar::wait(&ss.empty[s], empty_parity(it));
        FullBar::arrive_and_expect_tx(&ss.full[s], bytes);
        Box a, b;
        k_step_boxes(g, blockIdx.x, blockIdx.y, blockIdx.z, it, &a, &b);
        SM90_TMA_LOAD_3D::copy(&args.map_a, &ss.full[s], 0, ss.a + s * kStageElems, a.c0, a.c1,
                               a.c2);
        SM90_TMA_LOAD_3D::copy(&args.map_b, &ss.full[s], 0, ss.b + s * kStageElems, b.c0, b.c1,
                               b.c2);
      }
    }
    return;
  }

  cutlass::arch::warpgroup_reg_alloc<232>();
  const int wg = warpgroup - 1;  // consumer index: rows wg*64 .. wg*64+63
  const int tid = threadIdx.x % 128;
  typename T::TiledMma mma;
  Tensor sA = make_tensor(make_smem_ptr(ss.a), typename T::SmemLayoutA{});
  Tensor sB = make_tensor(make_smem_ptr(ss.b), typename T::SmemLayoutB{});
  Tensor sC = make_tensor(make_smem_ptr(ss.c), make_layout(make_shape(Int<kTileM>{}, Int<kTileN>{}),
                                                           make_stride(Int<kEpiPitch>{}, _1{})));
  auto thr = mma.get_thread_slice(threadIdx.x - 128);
  Tensor tCsA = thr.partition_A(sA);
  Tensor tCsB = thr.partition_B(sB);
  Tensor tCsC = thr.partition_C(sC);
  Tensor tCrA = thr.make_fragment_A(tCsA);
  Tensor tCrB = thr.make_fragment_B(tCsB);
  Tensor acc = thr.make_fragment_C(tCsC);
  clear(acc);

  const bool lane0 = threadIdx.x % 32 == 0;
  for (int it = 0; it < iters; ++it) {
    const int s = stage_of(it);
    FullBar::wait(&ss.full[s], full_parity(it));
    warpgroup_fence_operand(acc);
    warpgroup_arrive();
    gemm(mma, tCrA(_, _, _, s), tCrB(_, _, _, s), acc);
    warpgroup_commit_batch();
    // One batch stays in flight; the one before it is done, so its stage goes back.
    warpgroup_wait<1>();
    warpgroup_fence_operand(acc);
    if (it > 0 && lane0) EmptyBar::arrive(&ss.empty[stage_of(it - 1)]);
  }
  warpgroup_wait<0>();
  warpgroup_fence_operand(acc);

  // Each warpgroup stages its own 64 rows of C in shared memory.
  copy(acc, tCsC);
  warpgroup_bar(1 + wg);

  const float* tile = ss.c;
  if (g.form == kWeightGradForm) {
    if (iters <= 0) return;
    const int t = blockIdx.z % g.taps;
    float* ws = static_cast<float*>(args.out);
    for (int idx = tid; idx < kWgradItems; idx += 128) {
      const int row = wg * 64 + idx / kTileN, col = idx % kTileN;
      const int co = blockIdx.y * kTileM + row, ci = blockIdx.x * kTileN + col;
      if (co < g.m && ci < g.n) {
        atomicAdd(ws + (int64_t{co} * g.n + ci) * g.taps + t, tile[row * kEpiPitch + col]);
      }
    }
    return;
  }

  const Out* bias = static_cast<const Out*>(args.bias);
  if (args.bn_sum) {
    const int row = stat_row(wg, tid), half = stat_half(tid);
    const int chan = blockIdx.y * kTileM + row;
    const float b = (bias && chan < g.m) ? float(bias[chan]) : 0.f;
    float s = 0.f, sq = 0.f;
    for (int j = half * 64; j < half * 64 + 64; ++j) {
      if (stat_col_valid(g, blockIdx.x, j)) {
        const float v = tile[row * kEpiPitch + j] + b;
        s += v;
        sq += v * v;
      }
    }
    const float s_other = __shfl_xor_sync(0xffffffffu, s, 1);
    const float sq_other = __shfl_xor_sync(0xffffffffu, sq, 1);
    if (half == 0 && chan < g.m) {
      atomicAdd(args.bn_sum + chan, s + s_other);
      atomicAdd(args.bn_sumsq + chan, sq + sq_other);
    }
  }
  Out* y = static_cast<Out*>(args.out);
  const int items = epi_items(g), plen = pooled_length(g);
  for (int idx = tid; idx < items; idx += 128) {
    const EpiItem e = epi_item(g, blockIdx.x, blockIdx.y, wg, idx);
    if (!e.valid) continue;
    const float b = bias ? float(bias[e.chan]) : 0.f;
    const float* src = tile + e.row * kEpiPitch + e.col * g.pool;
    float v = src[0] + b;
    for (int q = 1; q < g.pool; ++q) v = fmaxf(v, src[q] + b);
    if (args.relu) v = fmaxf(v, 0.f);  // max then ReLU: the same as ReLU then max
    y[(int64_t{blockIdx.z} * g.m + e.chan) * plen + e.pos] = to_out<Out>(v);
  }
}

template <typename E, typename Out>
void launch(const Args& args, cudaStream_t stream) {
  auto kernel = conv1d_sm90_kernel<E, Out>;
  constexpr int bytes = smem_bytes<E>();
  STRAND_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  const Grid grid = grid_of(args.g);
  kernel<<<dim3(grid.x, grid.y, grid.z), kThreads, bytes, stream>>>(args);
  STRAND_CUDA_CHECK_LAUNCH("conv1d_sm90_kernel");
}

}  // namespace strand::kernels::cuda::detail::sm90
