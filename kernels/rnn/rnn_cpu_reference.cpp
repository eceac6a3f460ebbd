// CPU reference LSTM/GRU: plain loops over layers, directions, samples and steps, each gate row a
// dot product. Slow and obviously right; every faster path is tested against it.
#include <algorithm>
#include <vector>

#include "kernels/common/type_lists.h"
#include "kernels/rnn/rnn.h"
#include "kernels/rnn/rnn_detail.h"

namespace strand::kernels::cpu {
namespace {

using detail::gru_cell_backward;
using detail::gru_cell_forward;
using detail::lstm_cell_backward;
using detail::lstm_cell_forward;

// What one (layer, direction, sample, step) saw and produced, kept for backward.
template <typename T>
struct StepTrace {
  std::vector<T> h_prev, c_prev, act, c, hn;  // hn: GRU W_hn h + b_hn per unit
};

// Recorded forward pass: per layer, the time-major layer input; per (layer, dir, sample) the
// steps in processing order.
template <typename T>
struct Trace {
  std::vector<std::vector<T>> layer_in;                       // [l] -> [T][N][in_l]
  std::vector<std::vector<std::vector<StepTrace<T>>>> steps;  // [l*D+d][n][s]
};

template <typename T>
int64_t length_of(const RnnShape& s, const RnnInputs<T>& in, int64_t n) {
  return in.lengths.empty() ? s.seq_len : in.lengths[n];
}

template <typename T>
Trace<T> run_forward(const RnnShape& sh, const RnnInputs<T>& in, const RnnOutputs<T>& out) {
  const int64_t T_ = sh.seq_len, N = sh.batch, H = sh.hidden_size, D = sh.dirs(), G = sh.gates();
  const bool lstm = sh.mode == RnnMode::kLstm;
  Trace<T> tr;
  tr.steps.resize(sh.num_layers * D);
  std::vector<T> x(T_ * N * sh.input_size);
  for (int64_t t = 0; t < T_; ++t)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < sh.input_size; ++k)
        x[(t * N + n) * sh.input_size + k] =
            in.input[(sh.batch_first ? n * T_ + t : t * N + n) * sh.input_size + k];
  std::vector<T> y;
  for (int64_t l = 0; l < sh.num_layers; ++l) {
    const int64_t I = sh.layer_input_size(l);
    if (l > 0) {
      x = y;
      if (!in.dropout_masks.empty())
        for (size_t i = 0; i < x.size(); ++i) x[i] *= in.dropout_masks[l - 1][i];
    }
    tr.layer_in.push_back(x);
    y.assign(T_ * N * D * H, T(0));
    for (int64_t d = 0; d < D; ++d) {
      const RnnLayerWeights<T>& w = in.weights[l * D + d];
      const int64_t state = (l * D + d) * N * H;
      auto& per_sample = tr.steps[l * D + d];
      per_sample.assign(N, {});
      for (int64_t n = 0; n < N; ++n) {
        const int64_t len = length_of(sh, in, n);
        std::vector<T> h(H, T(0)), c(H, T(0));
        for (int64_t j = 0; j < H; ++j) {
          if (in.h0) h[j] = in.h0[state + n * H + j];
          if (in.c0) c[j] = in.c0[state + n * H + j];
        }
        for (int64_t s = 0; s < len; ++s) {
          const int64_t t = d == 1 ? len - 1 - s : s;
          const T* xt = &x[(t * N + n) * I];
          std::vector<T> ih(G * H), hh(G * H);
          for (int64_t r = 0; r < G * H; ++r) {
            T a = w.bias_ih ? w.bias_ih[r] : T(0), b = w.bias_hh ? w.bias_hh[r] : T(0);
            for (int64_t k = 0; k < I; ++k) a += w.weight_ih[r * I + k] * xt[k];
            for (int64_t k = 0; k < H; ++k) b += w.weight_hh[r * H + k] * h[k];
            ih[r] = a;
            hh[r] = b;
          }
          StepTrace<T> st{h, c, std::vector<T>(G * H), c, std::vector<T>(H)};
          for (int64_t j = 0; j < H; ++j) {
            T act[4], cj = T(0), hj;
            if (lstm) {
              const T pre[4] = {ih[j] + hh[j], ih[H + j] + hh[H + j], ih[2 * H + j] + hh[2 * H + j],
                                ih[3 * H + j] + hh[3 * H + j]};
              lstm_cell_forward(pre, c[j], act, cj, hj);
              st.c[j] = c[j] = cj;
            } else {
              gru_cell_forward(ih[j], ih[H + j], ih[2 * H + j], hh[j], hh[H + j], hh[2 * H + j],
                               h[j], act, hj);
              st.hn[j] = hh[2 * H + j];
            }
            for (int64_t k = 0; k < G; ++k) st.act[k * H + j] = act[k];
            y[(t * N + n) * D * H + d * H + j] = hj;
          }
          for (int64_t j = 0; j < H; ++j) h[j] = y[(t * N + n) * D * H + d * H + j];
          per_sample[n].push_back(std::move(st));
        }
        for (int64_t j = 0; j < H; ++j) {
          if (out.h_n) out.h_n[state + n * H + j] = h[j];
          if (lstm && out.c_n) out.c_n[state + n * H + j] = c[j];
        }
      }
    }
  }
  if (out.output) {
    for (int64_t t = 0; t < T_; ++t)
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < D * H; ++k)
          out.output[(sh.batch_first ? n * T_ + t : t * N + n) * D * H + k] =
              y[(t * N + n) * D * H + k];
  }
  return tr;
}

}  // namespace

template <typename T>
void rnn_forward_reference(const RnnShape& shape, const RnnInputs<T>& in,
                           const RnnOutputs<T>& out) {
  detail::check_rnn_inputs(shape, in);
  STRAND_CHECK(out.output != nullptr, "RNN output is null");
  run_forward(shape, in, out);
}

template <typename T>
void rnn_backward_reference(const RnnShape& sh, const RnnInputs<T>& in,
                            const RnnGradOutputs<T>& dout, const RnnGradInputs<T>& din) {
  detail::check_rnn_inputs(sh, in);
  detail::check_rnn_grad_args(sh, dout, din);
  const Trace<T> tr = run_forward(sh, in, RnnOutputs<T>{});
  const int64_t T_ = sh.seq_len, N = sh.batch, H = sh.hidden_size, D = sh.dirs(), G = sh.gates();
  const bool lstm = sh.mode == RnnMode::kLstm;
  // Gradient of the top layer's output, time-major.
  std::vector<T> dy(T_ * N * D * H);
  for (int64_t t = 0; t < T_; ++t)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < D * H; ++k)
        dy[(t * N + n) * D * H + k] =
            dout.d_output[(sh.batch_first ? n * T_ + t : t * N + n) * D * H + k];
  for (int64_t l = sh.num_layers - 1; l >= 0; --l) {
    const int64_t I = sh.layer_input_size(l);
    const std::vector<T>& x = tr.layer_in[l];
    std::vector<T> dx(T_ * N * I, T(0));
    for (int64_t d = 0; d < D; ++d) {
      const RnnLayerWeights<T>& w = in.weights[l * D + d];
      const RnnLayerGrads<T> g = din.weights.empty() ? RnnLayerGrads<T>{} : din.weights[l * D + d];
      const int64_t state = (l * D + d) * N * H;
      for (int64_t n = 0; n < N; ++n) {
        const int64_t len = length_of(sh, in, n);
        std::vector<T> dh(H, T(0)), dc(H, T(0));
        for (int64_t j = 0; j < H; ++j) {
          if (dout.d_h_n) dh[j] = dout.d_h_n[state + n * H + j];
          if (lstm && dout.d_c_n) dc[j] = dout.d_c_n[state + n * H + j];
        }
        for (int64_t s = len - 1; s >= 0; --s) {
          const int64_t t = d == 1 ? len - 1 - s : s;
          const StepTrace<T>& st = tr.steps[l * D + d][n][s];
          std::vector<T> dgx(G * H), dgh(G * H), dh_prev(H, T(0));
          for (int64_t j = 0; j < H; ++j) {
            dh[j] += dy[(t * N + n) * D * H + d * H + j];
            T act[4], gx[4], gh[4];
            for (int64_t k = 0; k < G; ++k) act[k] = st.act[k * H + j];
            if (lstm) {
              T dc_prev;
              lstm_cell_backward(act, st.c_prev[j], st.c[j], dh[j], dc[j], gx, dc_prev);
              for (int k = 0; k < 4; ++k) gh[k] = gx[k];
              dc[j] = dc_prev;
            } else {
              gru_cell_backward(act, st.hn[j], st.h_prev[j], dh[j], gx, gh, dh_prev[j]);
            }
            for (int64_t k = 0; k < G; ++k) {
              dgx[k * H + j] = gx[k];
              dgh[k * H + j] = gh[k];
            }
          }
          const T* xt = &x[(t * N + n) * I];
          for (int64_t r = 0; r < G * H; ++r) {
            for (int64_t k = 0; k < I; ++k) {
              dx[(t * N + n) * I + k] += dgx[r] * w.weight_ih[r * I + k];
              if (g.weight_ih) g.weight_ih[r * I + k] += dgx[r] * xt[k];
            }
            for (int64_t k = 0; k < H; ++k) {
              dh_prev[k] += dgh[r] * w.weight_hh[r * H + k];
              if (g.weight_hh) g.weight_hh[r * H + k] += dgh[r] * st.h_prev[k];
            }
            if (g.bias_ih) g.bias_ih[r] += dgx[r];
            if (g.bias_hh) g.bias_hh[r] += dgh[r];
          }
          dh = dh_prev;
        }
        for (int64_t j = 0; j < H; ++j) {
          if (din.d_h0) din.d_h0[state + n * H + j] = dh[j];
          if (din.d_c0) din.d_c0[state + n * H + j] = dc[j];
        }
      }
    }
    if (l > 0) {
      dy = dx;
      if (!in.dropout_masks.empty())
        for (size_t i = 0; i < dy.size(); ++i) dy[i] *= in.dropout_masks[l - 1][i];
    } else if (din.d_input) {
      for (int64_t t = 0; t < T_; ++t)
        for (int64_t n = 0; n < N; ++n)
          for (int64_t k = 0; k < I; ++k)
            din.d_input[(sh.batch_first ? n * T_ + t : t * N + n) * I + k] =
                dx[(t * N + n) * I + k];
    }
  }
}

#define INSTANTIATE(T)                                                                             \
  template void rnn_forward_reference(const RnnShape&, const RnnInputs<T>&, const RnnOutputs<T>&); \
  template void rnn_backward_reference(const RnnShape&, const RnnInputs<T>&,                       \
                                       const RnnGradOutputs<T>&, const RnnGradInputs<T>&);
STRAND_CPU_F32_F64_TYPES(INSTANTIATE)
#undef INSTANTIATE

}  // namespace strand::kernels::cpu
