// The fast CPU conv1d path (im2col + OpenBLAS GEMM, direct loops for tiny groups), called by the
// public cpu:: functions in conv1d_cpu.cpp after they validate their arguments.
#pragma once

#include "kernels/conv1d.h"

namespace strand::kernels::cpu::fast {

template <typename T>
void forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void backward_data(const Conv1dShape& s, const T* dy, const T* w, T* dx);
template <typename T>
void backward_weight(const Conv1dShape& s, const T* x, const T* dy, T* dw, bool accumulate);

}  // namespace strand::kernels::cpu::fast
