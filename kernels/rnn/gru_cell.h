// The GRU cell, forward and backward, per hidden unit: the arithmetic every GRU path runs (CPU
// reference and fast path, CUDA step-GEMM and persistent kernels). The sequence-level GRU is the
// rnn family with RnnMode::kGru (rnn.h).
#pragma once

#include "kernels/rnn/rnn_activations.h"

namespace strand::kernels::detail {

// GRU, gates r, z, n (PyTorch): x* = W_i* x + b_i* (+ b_hr, b_hz folded into xr, xz), h* = W_h* h,
// hn = W_hn h + b_hn, r = sig(xr + hr), z = sig(xz + hz), n = tanh(xn + r*hn), h' = (1-z)n + z h.
template <typename A>
STRAND_RNN_HD void gru_cell_forward(A xr, A xz, A xn, A hr, A hz, A hn, A h_prev, A act[3], A& h) {
  act[0] = rnn_sigmoid(xr + hr);
  act[1] = rnn_sigmoid(xz + hz);
  act[2] = rnn_tanh(xn + act[0] * hn);
  h = (A(1) - act[1]) * act[2] + act[1] * h_prev;
}

// dgx: gradients of the W_ih-side pre-activations (r, z, n); dgh: of the W_hh products (r, z,
// and hn); dh_direct: the part of dh_prev that does not go through W_hh.
template <typename A>
STRAND_RNN_HD void gru_cell_backward(const A act[3], A hn, A h_prev, A dh, A dgx[3], A dgh[3],
                                     A& dh_direct) {
  const A r = act[0], z = act[1], nn = act[2];
  const A dn_pre = dh * (A(1) - z) * (A(1) - nn * nn);
  const A dz_pre = dh * (h_prev - nn) * z * (A(1) - z);
  const A dr_pre = dn_pre * hn * r * (A(1) - r);
  dgx[0] = dr_pre;
  dgx[1] = dz_pre;
  dgx[2] = dn_pre;
  dgh[0] = dr_pre;
  dgh[1] = dz_pre;
  dgh[2] = dn_pre * r;
  dh_direct = dh * z;
}

}  // namespace strand::kernels::detail
