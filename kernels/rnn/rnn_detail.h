// Internals shared by the RNN implementations: argument checks, the reserve layout, and the
// per-unit steps around the cell math of lstm_cell.h and gru_cell.h (compiled for both host and
// device, so the CPU fast path, the CUDA step-GEMM path and the persistent kernel run the same
// arithmetic).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/rnn/gru_cell.h"
#include "kernels/rnn/lstm_cell.h"
#include "kernels/rnn/rnn.h"

namespace strand::kernels::detail {

template <typename T>
void check_rnn_inputs(const RnnShape& s, const RnnInputs<T>& in);
template <typename T>
void check_rnn_grad_args(const RnnShape& s, const RnnGradOutputs<T>& dout,
                         const RnnGradInputs<T>& din);

// Element offsets into the reserve (element type: T on CPU, float on CUDA). Orders:
// "time" is indexed by the real time step t, "step" by the processing step s of a direction
// (t = s forward; t = len-1-s in reverse, so step s of every sample is its s-th update).
//   x       [T][N][in]         layer-0 input, time-major copy (time)
//   y(l)    [T][N][dirs*H]     layer l output before dropout (time); zero past each length
//   hs(l,d) [T+1][N][H]        hidden state after step s at slot s+1, slot 0 = h0 (step)
//   cs(l,d) [T+1][N][H]        LSTM cell state, same (step)
//   gates   [T][N][G*H]        activated gates (step)
//   hn(l,d) [T][N][H]          GRU: W_hn h + b_hn (step)
struct RnnReserveLayout {
  explicit RnnReserveLayout(const RnnShape& s) : shape(s) {
    const size_t TN = static_cast<size_t>(s.seq_len * s.batch);
    const size_t H = static_cast<size_t>(s.hidden_size);
    per_dir = (TN + s.batch) * H * (s.mode == RnnMode::kLstm ? 2 : 1) +
              TN * static_cast<size_t>(s.gates()) * H + (s.mode == RnnMode::kGru ? TN * H : 0);
    per_layer = TN * static_cast<size_t>(s.output_size()) + per_dir * s.dirs();
    x_elems = TN * static_cast<size_t>(s.input_size);
    total = x_elems + per_layer * s.num_layers;
  }
  size_t x() const { return 0; }
  size_t y(int64_t l) const { return x_elems + per_layer * l; }
  size_t dir_base(int64_t l, int64_t d) const {
    return y(l) + static_cast<size_t>(shape.seq_len * shape.batch * shape.output_size()) +
           per_dir * d;
  }
  size_t state_elems() const {
    return static_cast<size_t>((shape.seq_len + 1) * shape.batch * shape.hidden_size);
  }
  size_t hs(int64_t l, int64_t d) const { return dir_base(l, d); }
  size_t cs(int64_t l, int64_t d) const { return dir_base(l, d) + state_elems(); }
  size_t gates(int64_t l, int64_t d) const {
    return dir_base(l, d) + state_elems() * (shape.mode == RnnMode::kLstm ? 2 : 1);
  }
  size_t hn(int64_t l, int64_t d) const {
    return gates(l, d) +
           static_cast<size_t>(shape.seq_len * shape.batch * shape.gates() * shape.hidden_size);
  }

  RnnShape shape;
  size_t per_dir = 0, per_layer = 0, x_elems = 0, total = 0;
};

// Pointers of one (layer, direction) for the per-unit steps below; y is offset by dir*H.
template <typename A>
struct RnnDirBuffers {
  const A* gx = nullptr;  // [T][N][G*H] (time): W_ih x + b_ih, plus b_hh (LSTM) / b_hr, b_hz (GRU)
  const A* b_hn = nullptr;  // GRU: b_hh + 2H, or null
  A* hs = nullptr;
  A* cs = nullptr;
  A* gates = nullptr;
  A* hn = nullptr;
  A* y = nullptr;
  A* h_n = nullptr;  // [N][H] or null
  A* c_n = nullptr;
};

// The buffers of (layer l, direction d) inside a reserve R laid out by lay; h_n/c_n left null.
template <typename A>
RnnDirBuffers<A> rnn_dir_buffers(const RnnShape& s, A* R, const RnnReserveLayout& lay, int64_t l,
                                 int64_t d, const A* gx, const A* b_hh) {
  RnnDirBuffers<A> b;
  b.gx = gx;
  b.b_hn = (s.mode == RnnMode::kGru && b_hh) ? b_hh + 2 * s.hidden_size : nullptr;
  b.hs = R + lay.hs(l, d);
  b.cs = R + lay.cs(l, d);
  b.gates = R + lay.gates(l, d);
  b.hn = R + lay.hn(l, d);
  b.y = R + lay.y(l) + d * s.hidden_size;
  return b;
}

struct RnnDims {
  int64_t T, N, H, D;  // D = dirs (row stride of y is D*H)
  bool lstm;
  bool reverse;
};

// Forward update of unit (n, j) at an active step s (s < len). hh: the W_hh h_prev products of
// the unit's gates (without b_hh); h_prev: hs at slot s. Returns the new h.
template <typename A>
STRAND_RNN_HD A rnn_forward_unit_active(const RnnDirBuffers<A>& b, const RnnDims& d, int64_t s,
                                        int64_t n, int64_t j, int64_t len, const A hh[4],
                                        A h_prev) {
  const int64_t NH = d.N * d.H, G = d.lstm ? 4 : 3, GH = G * d.H, DH = d.D * d.H;
  const int64_t here = s * NH + n * d.H + j, next = here + NH;
  const int64_t t = d.reverse ? len - 1 - s : s;
  const A* g = b.gx + (t * d.N + n) * GH + j;
  A* act_out = b.gates + (s * d.N + n) * GH + j;
  A h, c = A(0);
  if (d.lstm) {
    A pre[4], act[4];
    for (int k = 0; k < 4; ++k) pre[k] = g[k * d.H] + hh[k];
    lstm_cell_forward(pre, b.cs[here], act, c, h);
    for (int k = 0; k < 4; ++k) act_out[k * d.H] = act[k];
    b.cs[next] = c;
  } else {
    A act[3];
    const A hn = hh[2] + (b.b_hn ? b.b_hn[j] : A(0));
    gru_cell_forward(g[0], g[d.H], g[2 * d.H], hh[0], hh[1], hn, h_prev, act, h);
    for (int k = 0; k < 3; ++k) act_out[k * d.H] = act[k];
    b.hn[here] = hn;
  }
  b.hs[next] = h;
  b.y[(t * d.N + n) * DH + j] = h;
  if (s == len - 1) {
    if (b.h_n) b.h_n[n * d.H + j] = h;
    if (d.lstm && b.c_n) b.c_n[n * d.H + j] = c;
  }
  return h;
}

// Past the sample's length the state is carried through and the output is zero.
template <typename A>
STRAND_RNN_HD A rnn_forward_unit_inactive(const RnnDirBuffers<A>& b, const RnnDims& d, int64_t s,
                                          int64_t n, int64_t j, A h_prev) {
  const int64_t NH = d.N * d.H, DH = d.D * d.H;
  const int64_t here = s * NH + n * d.H + j, next = here + NH;
  b.hs[next] = h_prev;
  if (d.lstm) b.cs[next] = b.cs[here];
  b.y[(s * d.N + n) * DH + j] = A(0);
  return h_prev;
}

// Forward update of unit (n, j) at step s, active or not; returns the new h.
template <typename A>
STRAND_RNN_HD A rnn_forward_unit(const RnnDirBuffers<A>& b, const RnnDims& d, int64_t s, int64_t n,
                                 int64_t j, int64_t len, const A hh[4], A h_prev) {
  if (s >= len) return rnn_forward_unit_inactive(b, d, s, n, j, h_prev);
  return rnn_forward_unit_active(b, d, s, n, j, len, hh, h_prev);
}

// Backward of unit (n, j) at step s (steps run from T-1 down to 0). dh_rec: (W_hh^T dgh of step
// s+1) for this unit. dh_carry/dc_carry [N][H]: gradients reaching h_s/c_s by other routes
// (updated in place). dy: output gradient (time, offset by dir*H). Writes dgx [T][N][G*H] in
// time order and dgh in step order; both are zero where the step is past the length.
template <typename A>
STRAND_RNN_HD void rnn_backward_unit(const RnnDirBuffers<A>& b, const RnnDims& d, int64_t s,
                                     int64_t n, int64_t j, int64_t len, A dh_rec, A* dh_carry,
                                     A* dc_carry, const A* dy, A* dgx, A* dgh) {
  const int64_t NH = d.N * d.H, G = d.lstm ? 4 : 3, GH = G * d.H, DH = d.D * d.H;
  const int64_t u = n * d.H + j;
  A dh = dh_carry[u] + dh_rec;
  A* dgh_out = dgh + (s * d.N + n) * GH + j;
  if (s >= len) {
    dh_carry[u] = dh;
    A* dgx_out = dgx + (s * d.N + n) * GH + j;
    for (int64_t k = 0; k < G; ++k) dgx_out[k * d.H] = dgh_out[k * d.H] = A(0);
    return;
  }
  const int64_t t = d.reverse ? len - 1 - s : s;
  dh += dy[(t * d.N + n) * DH + j];
  A* dgx_out = dgx + (t * d.N + n) * GH + j;
  const A* act_in = b.gates + (s * d.N + n) * GH + j;
  if (d.lstm) {
    A act[4], dpre[4], dc_prev;
    for (int k = 0; k < 4; ++k) act[k] = act_in[k * d.H];
    lstm_cell_backward(act, b.cs[s * NH + u], b.cs[(s + 1) * NH + u], dh, dc_carry[u], dpre,
                       dc_prev);
    for (int k = 0; k < 4; ++k) dgx_out[k * d.H] = dgh_out[k * d.H] = dpre[k];
    dh_carry[u] = A(0);
    dc_carry[u] = dc_prev;
  } else {
    A act[3], gx3[3], gh3[3], dh_direct;
    for (int k = 0; k < 3; ++k) act[k] = act_in[k * d.H];
    gru_cell_backward(act, b.hn[s * NH + u], b.hs[s * NH + u], dh, gx3, gh3, dh_direct);
    for (int k = 0; k < 3; ++k) {
      dgx_out[k * d.H] = gx3[k];
      dgh_out[k * d.H] = gh3[k];
    }
    dh_carry[u] = dh_direct;
  }
}

}  // namespace strand::kernels::detail
