// strand's fast CPU conv1d kernels (im2col + GEMM, shifted-view GEMMs for wide stride-1 layers,
// direct loops for tiny groups), called by the public cpu:: functions in conv1d_cpu.cpp after they
// validate their arguments.
#pragma once

#include <cblas.h>

#include <vector>

#include "kernels/common/onednn.h"
#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_onehot.h"

namespace strand::kernels::cpu::fast {

template <typename T>
void forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void backward_data(const Conv1dShape& s, const T* dy, const T* w, T* dx);
template <typename T>
void backward_weight(const Conv1dShape& s, const T* x, const T* dy, T* dw, bool accumulate);

// Per-thread scratch buffer `slot` (0-3) of at least n elements, grown and reused across calls:
// the fast paths allocate nothing per call once warm. A call uses each slot for one purpose.
template <typename T>
T* scratch(int slot, size_t n) {
  thread_local std::vector<T> buffers[4];
  std::vector<T>& b = buffers[slot];
  if (b.size() < n) b.resize(n);
  return b.data();
}

// Row-major GEMM C = A B + beta C (A, B transposed as asked): oneDNN's sgemm for float (always
// fp32, also under bf16 math), OpenBLAS for double.
inline void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                 int64_t ldc) {
  sgemm(ta == CblasTrans, tb == CblasTrans, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}
inline void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k,
                 const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
                 int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
              1.0, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
              static_cast<int>(ldc));
}

// Shifted-view GEMMs (conv1d_shifted_gemm.cpp): for stride 1 and one group with many input
// channels, the convolution is K GEMMs over column-shifted views of a zero-gapped copy of the
// input, with no K-times-larger im2col matrix to write and read back.
bool shifted_gemm_applies(const Conv1dShape& s);
template <typename T>
void shifted_forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void shifted_backward_data(const Conv1dShape& s, const T* dy, const T* w, T* dx);
template <typename T>
void shifted_backward_weight(const Conv1dShape& s, const T* x, const T* dy, T* dw, bool accumulate);

// The one-hot first layer from its bases (conv1d_onehot_fast.cpp): im2col built from the bases per
// sample and one GEMM per sample, all samples in one parallel region.
template <typename T>
void onehot_forward(const Conv1dShape& s, BaseEncoding encoding, const uint8_t* bases, const T* w,
                    const T* bias, T* y);

}  // namespace strand::kernels::cpu::fast
