// The LSTM cell, forward and backward, per hidden unit: the arithmetic every LSTM path runs (CPU
// reference and fast path, CUDA step-GEMM and persistent kernels). The sequence-level LSTM is the
// rnn family with RnnMode::kLstm (rnn.h).
#pragma once

#include "kernels/rnn/rnn_activations.h"

namespace strand::kernels::detail {

// LSTM, gates i, f, g, o: pre = W_ih x + b_ih + W_hh h + b_hh.
template <typename A>
STRAND_RNN_HD void lstm_cell_forward(const A pre[4], A c_prev, A act[4], A& c, A& h) {
  act[0] = rnn_sigmoid(pre[0]);
  act[1] = rnn_sigmoid(pre[1]);
  act[2] = rnn_tanh(pre[2]);
  act[3] = rnn_sigmoid(pre[3]);
  c = act[1] * c_prev + act[0] * act[2];
  h = act[3] * rnn_tanh(c);
}

// dh, dc: gradients arriving at this step's h and c. dpre: gradients of the pre-activations
// (the same for the W_ih and W_hh products); dc_prev flows to the previous cell state.
template <typename A>
STRAND_RNN_HD void lstm_cell_backward(const A act[4], A c_prev, A c, A dh, A dc, A dpre[4],
                                      A& dc_prev) {
  const A tc = rnn_tanh(c);
  const A dct = dc + dh * act[3] * (A(1) - tc * tc);
  dpre[0] = dct * act[2] * act[0] * (A(1) - act[0]);
  dpre[1] = dct * c_prev * act[1] * (A(1) - act[1]);
  dpre[2] = dct * act[0] * (A(1) - act[2] * act[2]);
  dpre[3] = dh * tc * act[3] * (A(1) - act[3]);
  dc_prev = dct * act[1];
}

}  // namespace strand::kernels::detail
