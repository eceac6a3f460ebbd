// CPU fast path for LSTM/GRU: input projections of all steps as one GEMM, one GEMM per step for
// the recurrence (both directions), fused gate updates in OpenMP loops, and weight gradients as
// one GEMM over all steps. Mirrors the CUDA step-GEMM path, with the same reserve layout.
// Comparisons may not trap here, so the gate loops with their clamps can be vectorized; nothing in
// this file relies on floating-point exceptions.
// No FMA contraction either: the AVX-512/AVX2 variants (STRAND_CPU_CLONES) round exactly as the
// baseline build, which has no FMA, so results do not depend on the CPU.
#pragma GCC optimize("no-trapping-math", "fp-contract=off")

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <bit>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/common/cpu_clones.h"
#include "kernels/common/onednn.h"
#include "kernels/common/type_lists.h"
#include "kernels/rnn/rnn.h"
#include "kernels/rnn/rnn_detail.h"

namespace strand::kernels::cpu {
namespace {

using detail::RnnDims;
using detail::RnnDirBuffers;
using detail::RnnReserveLayout;

// Row-major C = alpha op(A) op(B) + beta C: oneDNN for float (kernels/common/onednn.h), OpenBLAS
// for double.
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  GemmShape s;  // one product; under bf16 math it runs in bf16 where that pays (sgemm_batched)
  s.m = m, s.n = n, s.k = k, s.trans_a = ta, s.trans_b = tb, s.lda = lda, s.ldb = ldb, s.ldc = ldc;
  sgemm_batched(s, alpha, a, b, beta, c);
}
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
          int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
              k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// y += A^T x for row-major A [m][n].
void gemv_t(int64_t m, int64_t n, const float* a, const float* x, float* y) {
  sgemm(false, false, 1, n, m, 1.f, x, m, a, n, 1.f, y, n);
}
void gemv_t(int64_t m, int64_t n, const double* a, const double* x, double* y) {
  cblas_dgemv(CblasRowMajor, CblasTrans, m, n, 1.0, a, n, x, 1, 1.0, y, 1);
}

// Copies a [T][N][F] sequence between time-major and (when batch_first) [N][T][F]; to_time
// says which way.
template <typename T>
void relayout(const T* src, T* dst, int64_t T_, int64_t N, int64_t F, bool batch_first,
              bool to_time) {
  if (!batch_first) {
    std::memcpy(dst, src, sizeof(T) * T_ * N * F);
    return;
  }
#pragma omp parallel for
  for (int64_t t = 0; t < T_; ++t) {
    for (int64_t n = 0; n < N; ++n) {
      const int64_t tm = (t * N + n) * F, bf = (n * T_ + t) * F;
      std::memcpy(dst + (to_time ? tm : bf), src + (to_time ? bf : tm), sizeof(T) * F);
    }
  }
}

// exp for float in a form the compiler vectorizes (no libm call): Cephes' range reduction and
// degree-6 polynomial, ~2 ulp; double keeps libm.
inline float fast_exp(float x) {
  x = x < -87.f ? -87.f : (x > 88.f ? 88.f : x);
  const float t = x * 1.44269504088896341f;
  const float n = static_cast<float>(static_cast<int32_t>(t + (t >= 0.f ? 0.5f : -0.5f)));
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  return p * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
}

struct FastMath {
  static float sigmoid(float x) { return 1.f / (1.f + fast_exp(-x)); }
  static float tanh(float x) { return 1.f - 2.f / (1.f + fast_exp(2.f * x)); }
  static double sigmoid(double x) { return detail::rnn_sigmoid(x); }
  static double tanh(double x) { return detail::rnn_tanh(x); }
};

// Sets the calling thread's OpenMP team size (oneDNN's sgemm) and OpenBLAS's thread count for a
// scope (0: leave them alone) and restores them after.
class BlasThreads {
 public:
  explicit BlasThreads(int threads)
      : saved_(openblas_get_num_threads()), saved_omp_(omp_get_max_threads()), set_(threads > 0) {
    if (!set_) return;
    openblas_set_num_threads(threads);
    omp_set_num_threads(threads);
  }
  ~BlasThreads() {
    if (!set_) return;
    openblas_set_num_threads(saved_);
    omp_set_num_threads(saved_omp_);
  }
  BlasThreads(const BlasThreads&) = delete;
  BlasThreads& operator=(const BlasThreads&) = delete;

 private:
  int saved_, saved_omp_;
  bool set_;
};

// The second thread of for_each_direction, kept for the life of the process: its thread-local
// state (oneDNN primitives, converted weights, scratch buffers) persists from
// call to call, where a fresh thread rebuilt all of it on every call. One caller at a time.
class DirectionWorker {
 public:
  static DirectionWorker& get() {
    static DirectionWorker* w = new DirectionWorker();  // never destroyed: the thread never ends
    return *w;
  }
  std::mutex& in_use() { return in_use_; }
  // Runs task on the worker; wait() blocks (no spinning) until it ends and rethrows its error.
  void start(std::function<void()> task) {
    std::lock_guard lock(mutex_);
    task_ = std::move(task);
    done_ = false;
    error_ = nullptr;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return done_; });
    if (error_) std::rethrow_exception(error_);
  }

 private:
  DirectionWorker() {
    std::thread([this] {
      omp_set_num_threads(1);  // single-threaded BLAS inside, as on the caller's side
      for (;;) {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return task_ != nullptr; });
        std::function<void()> task = std::move(task_);
        task_ = nullptr;
        lock.unlock();
        std::exception_ptr error;
        try {
          task();
        } catch (...) {
          error = std::current_exception();
        }
        lock.lock();
        error_ = error;
        done_ = true;
        cv_.notify_all();
      }
    }).detach();
  }
  std::mutex in_use_, mutex_;
  std::condition_variable cv_;
  std::function<void()> task_;
  bool done_ = true;
  std::exception_ptr error_;
};

// Runs fn(d) for every direction. Two directions run on two threads (their recurrences are
// independent, so the T steps need no synchronization), with single-threaded BLAS inside; the
// join blocks instead of spinning, which matters on a loaded machine. The weights do not change
// meanwhile, so the per-step products check each weight's converted copy once.
template <typename Fn>
void for_each_direction(int64_t dirs, Fn&& fn) {
  const UnchangedWeightsScope unchanged;
  DirectionWorker& worker = DirectionWorker::get();
  std::unique_lock busy(worker.in_use(), std::try_to_lock);  // else another caller has it
  if (dirs == 2 && omp_get_max_threads() >= 2 && busy.owns_lock()) {
    const BlasThreads single(1);
    const bool bf16 = bf16_math(), inference = inference_hint();
    worker.start([&] {
      const Bf16MathScope math(bf16);  // the caller's thread-local switches
      const InferenceScope hint(inference);
      const UnchangedWeightsScope unchanged_here;
      fn(int64_t{1});
    });
    std::exception_ptr error;
    try {
      fn(int64_t{0});
    } catch (...) {
      error = std::current_exception();
    }
    worker.wait();  // rethrows the reverse direction's error
    if (error) std::rethrow_exception(error);
    return;
  }
  for (int64_t d = 0; d < dirs; ++d) fn(d);
}

// Grow-only per-thread scratch (slot per buffer): the large buffers of a call are reused by the
// next call instead of being faulted in again each time.
template <typename T>
T* scratch_buffer(int slot, int64_t count) {
  thread_local std::vector<T> buffers[8];
  std::vector<T>& b = buffers[slot];
  if (static_cast<int64_t>(b.size()) < count) b.resize(count);
  return b.data();
}

struct Lengths {
  std::vector<int64_t> len;
  int64_t max = 0;
};
Lengths lengths_of(const RnnShape& s, std::span<const int32_t> lengths) {
  Lengths out;
  out.len.assign(s.batch, s.seq_len);
  if (!lengths.empty()) std::copy(lengths.begin(), lengths.end(), out.len.begin());
  out.max = *std::max_element(out.len.begin(), out.len.end());
  return out;
}

// Layer l's input (time-major): the reserve's x for layer 0, else the previous layer's output
// times the dropout mask (into scratch when there is a mask).
template <typename T>
const T* layer_input(const RnnShape& s, const RnnInputs<T>& in, const T* R,
                     const RnnReserveLayout& lay, int64_t l, T* scratch) {
  if (l == 0) return R + lay.x();
  const T* prev = R + lay.y(l - 1);
  if (in.dropout_masks.empty()) return prev;
  const int64_t count = s.seq_len * s.batch * s.output_size();
  const T* mask = in.dropout_masks[l - 1];
#pragma omp parallel for
  for (int64_t i = 0; i < count; ++i) scratch[i] = prev[i] * mask[i];
  return scratch;
}

// One sample's row of units at an active forward step: the equations of detail::lstm_cell_forward
// and gru_cell_forward written out over contiguous arrays, so the compiler vectorizes them (the
// tests hold this path to the reference at 1e-11 in double).
template <typename T>
STRAND_CPU_CLONES void forward_row(const RnnDirBuffers<T>& b, const RnnDims& d, int64_t s,
                                   int64_t n, int64_t len, const T* hh, const T* h_prev) {
  const int64_t H = d.H, NH = d.N * H, G = d.lstm ? 4 : 3, GH = G * H;
  const int64_t t = d.reverse ? len - 1 - s : s;
  const T* g = b.gx + (t * d.N + n) * GH;
  T* act = b.gates + (s * d.N + n) * GH;
  T* h_out = b.hs + (s + 1) * NH + n * H;
  T* y = b.y + (t * d.N + n) * d.D * H;
  if (d.lstm) {
    const T* c_prev = b.cs + s * NH + n * H;
    T* c_out = b.cs + (s + 1) * NH + n * H;
    // Pre-activations, then each gate block's nonlinearity, then the state update: three
    // contiguous loops the compiler vectorizes.
#pragma omp simd
    for (int64_t r = 0; r < GH; ++r) act[r] = g[r] + hh[r];
#pragma omp simd
    for (int64_t r = 0; r < 2 * H; ++r) act[r] = FastMath::sigmoid(act[r]);
#pragma omp simd
    for (int64_t r = 2 * H; r < 3 * H; ++r) act[r] = FastMath::tanh(act[r]);
#pragma omp simd
    for (int64_t r = 3 * H; r < GH; ++r) act[r] = FastMath::sigmoid(act[r]);
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T c = act[H + j] * c_prev[j] + act[j] * act[2 * H + j];
      c_out[j] = c;
      h_out[j] = y[j] = act[3 * H + j] * FastMath::tanh(c);
    }
    if (s == len - 1 && b.c_n) std::copy(c_out, c_out + H, b.c_n + n * H);
  } else {
    T* hn_out = b.hn + s * NH + n * H;
    const T* b_hn = b.b_hn;  // never null here (zeros without bias)
#pragma omp simd
    for (int64_t r = 0; r < 2 * H; ++r) act[r] = FastMath::sigmoid(g[r] + hh[r]);
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T hn = hh[2 * H + j] + b_hn[j];
      const T nn = FastMath::tanh(g[2 * H + j] + act[j] * hn);
      const T z = act[H + j];
      act[2 * H + j] = nn;
      hn_out[j] = hn;
      h_out[j] = y[j] = (T(1) - z) * nn + z * h_prev[j];
    }
  }
  if (s == len - 1 && b.h_n) std::copy(h_out, h_out + H, b.h_n + n * H);
}

// One sample's row at backward step s; rec: the row of W_hh^T dgh(s+1) (zeros for none).
// dh_carry/dc_carry point at the sample's row. Mirrors detail::rnn_backward_unit.
template <typename T>
STRAND_CPU_CLONES void backward_row(const RnnDirBuffers<T>& b, const RnnDims& d, int64_t s,
                                    int64_t n, int64_t len, const T* rec, T* dh_carry, T* dc_carry,
                                    const T* dy, T* dgx, T* dgh) {
  const int64_t H = d.H, NH = d.N * H, G = d.lstm ? 4 : 3, GH = G * H;
  T* gh = dgh + (s * d.N + n) * GH;
  if (s >= len) {
    for (int64_t j = 0; j < H; ++j) dh_carry[j] += rec[j];
    std::fill_n(gh, GH, T(0));
    std::fill_n(dgx + (s * d.N + n) * GH, GH, T(0));
    return;
  }
  const int64_t t = d.reverse ? len - 1 - s : s;
  T* gx = dgx + (t * d.N + n) * GH;
  const T* act = b.gates + (s * d.N + n) * GH;
  const T* dyr = dy + (t * d.N + n) * d.D * H;
  if (d.lstm) {
    const T* c_prev = b.cs + s * NH + n * H;
    const T* c = b.cs + (s + 1) * NH + n * H;
    // detail::lstm_cell_backward written out over plain arrays so the loop vectorizes.
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T dh = dh_carry[j] + rec[j] + dyr[j];
      const T i = act[j], f = act[H + j], gg = act[2 * H + j], o = act[3 * H + j];
      const T tc = FastMath::tanh(c[j]);
      const T dct = dc_carry[j] + dh * o * (T(1) - tc * tc);
      gx[j] = gh[j] = dct * gg * i * (T(1) - i);
      gx[H + j] = gh[H + j] = dct * c_prev[j] * f * (T(1) - f);
      gx[2 * H + j] = gh[2 * H + j] = dct * i * (T(1) - gg * gg);
      gx[3 * H + j] = gh[3 * H + j] = dh * tc * o * (T(1) - o);
      dh_carry[j] = T(0);
      dc_carry[j] = dct * f;
    }
  } else {
    const T* hn = b.hn + s * NH + n * H;
    const T* h_prev = b.hs + s * NH + n * H;
    // detail::gru_cell_backward written out over plain arrays so the loop vectorizes.
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T dh = dh_carry[j] + rec[j] + dyr[j];
      const T r = act[j], z = act[H + j], nn = act[2 * H + j];
      const T dn_pre = dh * (T(1) - z) * (T(1) - nn * nn);
      const T dr_pre = dn_pre * hn[j] * r * (T(1) - r);
      gx[j] = gh[j] = dr_pre;
      gx[H + j] = gh[H + j] = dh * (h_prev[j] - nn) * z * (T(1) - z);
      gx[2 * H + j] = dn_pre;
      gh[2 * H + j] = dn_pre * r;
      dh_carry[j] = dh * z;
    }
  }
}

}  // namespace

size_t rnn_reserve_bytes(const RnnShape& shape, DType dtype) {
  validate(shape);
  STRAND_CHECK(dtype == DType::kF32 || dtype == DType::kF64, "CPU RNN supports f32 and f64, got {}",
               dtype_name(dtype));
  return RnnReserveLayout(shape).total * dtype_size(dtype);
}

template <typename T>
void rnn_forward(const Context&, const RnnShape& sh, const RnnInputs<T>& in,
                 const RnnOutputs<T>& out, void* reserve) {
  detail::check_rnn_inputs(sh, in);
  STRAND_CHECK(out.output != nullptr, "RNN output is null");
  STRAND_CHECK(reserve != nullptr, "RNN reserve is null (size it with rnn_reserve_bytes)");
  const int64_t T_ = sh.seq_len, N = sh.batch, H = sh.hidden_size, D = sh.dirs(), G = sh.gates();
  const int64_t GH = G * H, NH = N * H, TN = T_ * N;
  const bool lstm = sh.mode == RnnMode::kLstm;
  const RnnReserveLayout lay(sh);
  T* R = static_cast<T*>(reserve);
  const Lengths lens = lengths_of(sh, in.lengths);
  relayout(in.input, R + lay.x(), T_, N, sh.input_size, sh.batch_first, true);
  // Padding may hold anything (even NaN); zero it so the weight-gradient GEMM, which multiplies
  // it by zero gate gradients, stays finite.
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = lens.len[n]; t < T_; ++t)
      std::fill_n(R + lay.x() + (t * N + n) * sh.input_size, sh.input_size, T(0));

  const int64_t Imax = std::max(sh.input_size, sh.output_size());
  T* gx = scratch_buffer<T>(0, D * TN * GH);
  T* hh = scratch_buffer<T>(1, D * N * GH);
  T* scratch = scratch_buffer<T>(2, TN * Imax);
  const std::vector<T> zeros(H, T(0));
  for (int64_t l = 0; l < sh.num_layers; ++l) {
    const int64_t I = sh.layer_input_size(l);
    const T* xin = layer_input(sh, in, R, lay, l, scratch);
    RnnDirBuffers<T> bufs[2];
    RnnDims dims[2];
    for (int64_t d = 0; d < D; ++d) {
      const RnnLayerWeights<T>& w = in.weights[l * D + d];
      T* g = gx + d * TN * GH;
      // Biases folded into the projection: all of b_hh for LSTM, b_hr and b_hz for GRU (b_hn is
      // multiplied by r, so it stays apart).
      std::vector<T> bias(GH, T(0));
      for (int64_t r = 0; r < GH; ++r) {
        if (w.bias_ih) bias[r] += w.bias_ih[r];
        if (w.bias_hh && (lstm || r < 2 * H)) bias[r] += w.bias_hh[r];
      }
#pragma omp parallel for
      for (int64_t row = 0; row < TN; ++row) std::copy(bias.begin(), bias.end(), g + row * GH);
      gemm(false, true, TN, GH, I, T(1), xin, I, w.weight_ih, I, T(1), g, GH);
      bufs[d] = detail::rnn_dir_buffers(sh, R, lay, l, d, g, w.bias_hh);
      if (!lstm && !bufs[d].b_hn) bufs[d].b_hn = zeros.data();
      const int64_t state = (l * D + d) * NH;
      bufs[d].h_n = out.h_n ? out.h_n + state : nullptr;
      bufs[d].c_n = out.c_n ? out.c_n + state : nullptr;
      dims[d] = RnnDims{T_, N, H, D, lstm, d == 1};
      for (int64_t i = 0; i < NH; ++i) {
        bufs[d].hs[i] = in.h0 ? in.h0[state + i] : T(0);
        if (lstm) bufs[d].cs[i] = in.c0 ? in.c0[state + i] : T(0);
      }
    }
    for_each_direction(D, [&](int64_t d) {
      T* hhd = hh + d * N * GH;
      for (int64_t s = 0; s < T_; ++s) {
        const bool any_active = s < lens.max;
        if (any_active) {
          gemm(false, true, N, GH, H, T(1), bufs[d].hs + s * NH, H, in.weights[l * D + d].weight_hh,
               H, T(0), hhd, GH);
        }
        for (int64_t n = 0; n < N; ++n) {
          const T* hrow = hhd + n * GH;
          const int64_t len = lens.len[n];
          T* h_prev = bufs[d].hs + s * NH + n * H;
          if (s >= len) {
            for (int64_t j = 0; j < H; ++j)
              detail::rnn_forward_unit_inactive(bufs[d], dims[d], s, n, j, h_prev[j]);
            continue;
          }
          forward_row(bufs[d], dims[d], s, n, len, hrow, h_prev);
        }
      }
    });
  }
  relayout(R + lay.y(sh.num_layers - 1), out.output, T_, N, sh.output_size(), sh.batch_first,
           false);
}

template <typename T>
void rnn_backward(const Context&, const RnnShape& sh, const RnnInputs<T>& in, const void* reserve,
                  const RnnGradOutputs<T>& dout, const RnnGradInputs<T>& din) {
  detail::check_rnn_inputs(sh, in);
  detail::check_rnn_grad_args(sh, dout, din);
  STRAND_CHECK(reserve != nullptr, "RNN reserve is null (pass the forward call's reserve)");
  const int64_t T_ = sh.seq_len, N = sh.batch, H = sh.hidden_size, D = sh.dirs(), G = sh.gates();
  const int64_t GH = G * H, NH = N * H, TN = T_ * N, DH = D * H;
  const bool lstm = sh.mode == RnnMode::kLstm;
  const RnnReserveLayout lay(sh);
  // The reserve is read-only here; the shared buffer struct just has mutable pointers.
  T* R = const_cast<T*>(static_cast<const T*>(reserve));
  const Lengths lens = lengths_of(sh, in.lengths);

  const int64_t Imax = std::max(sh.input_size, sh.output_size());
  T* dy = scratch_buffer<T>(0, TN * DH);
  T* dgx = scratch_buffer<T>(1, D * TN * GH);
  T* dgh = scratch_buffer<T>(2, D * TN * GH);
  T* dh_rec = scratch_buffer<T>(3, D * NH);
  T* dh_carry = scratch_buffer<T>(4, D * NH);
  T* dc_carry = scratch_buffer<T>(5, D * NH);
  T* dx = scratch_buffer<T>(6, TN * Imax);
  T* scratch = scratch_buffer<T>(7, TN * Imax);
  relayout(dout.d_output, dy, T_, N, DH, sh.batch_first, true);
  const std::vector<T> ones(TN, T(1));
  for (int64_t l = sh.num_layers - 1; l >= 0; --l) {
    const int64_t I = sh.layer_input_size(l);
    RnnDirBuffers<T> bufs[2];
    RnnDims dims[2];
    for (int64_t d = 0; d < D; ++d) {
      bufs[d] = detail::rnn_dir_buffers(sh, R, lay, l, d, static_cast<const T*>(nullptr),
                                        in.weights[l * D + d].bias_hh);
      dims[d] = RnnDims{T_, N, H, D, lstm, d == 1};
      const int64_t state = (l * D + d) * NH;
      for (int64_t i = 0; i < NH; ++i) {
        dh_carry[d * NH + i] = dout.d_h_n ? dout.d_h_n[state + i] : T(0);
        dc_carry[d * NH + i] = (lstm && dout.d_c_n) ? dout.d_c_n[state + i] : T(0);
      }
    }
    {
      for_each_direction(D, [&](int64_t d) {
        T* rec_d = dh_rec + d * NH;
        T* dgx_d = dgx + d * TN * GH;
        T* dgh_d = dgh + d * TN * GH;
        for (int64_t s = T_ - 1; s >= 0; --s) {
          const bool rec = s + 1 < lens.max;  // step s+1 had an active sample
          if (rec) {
            gemm(false, false, N, H, GH, T(1), dgh_d + (s + 1) * N * GH, GH,
                 in.weights[l * D + d].weight_hh, H, T(0), rec_d, H);
          } else {
            std::fill_n(rec_d, NH, T(0));
          }
          for (int64_t n = 0; n < N; ++n) {
            backward_row(bufs[d], dims[d], s, n, lens.len[n], rec_d + n * H,
                         dh_carry + d * NH + n * H, dc_carry + d * NH + n * H, dy + d * H, dgx_d,
                         dgh_d);
          }
        }
      });
    }
    const T* xin = layer_input(sh, in, R, lay, l, scratch);
    for (int64_t d = 0; d < D; ++d) {
      const RnnLayerWeights<T>& w = in.weights[l * D + d];
      const T* gxd = dgx + d * TN * GH;
      const T* ghd = dgh + d * TN * GH;
      const int64_t state = (l * D + d) * NH;
      if (din.d_h0) {
        T* dh0 = din.d_h0 + state;
        std::copy(dh_carry + d * NH, dh_carry + (d + 1) * NH, dh0);
        gemm(false, false, N, H, GH, T(1), ghd, GH, w.weight_hh, H, T(1), dh0, H);
      }
      if (din.d_c0) std::copy(dc_carry + d * NH, dc_carry + (d + 1) * NH, din.d_c0 + state);
      if (!din.weights.empty()) {
        const RnnLayerGrads<T>& g = din.weights[l * D + d];
        if (g.weight_ih) gemm(true, false, GH, I, TN, T(1), gxd, GH, xin, I, T(1), g.weight_ih, I);
        if (g.weight_hh)
          gemm(true, false, GH, H, TN, T(1), ghd, GH, bufs[d].hs, H, T(1), g.weight_hh, H);
        // Bias gradients: column sums over all steps, as dg^T * ones.
        if (g.bias_ih) gemv_t(TN, GH, gxd, ones.data(), g.bias_ih);
        if (g.bias_hh) gemv_t(TN, GH, ghd, ones.data(), g.bias_hh);
      }
      if (!din.taps.empty()) {
        const RnnLayerTaps<T>& tap = din.taps[l * D + d];
        std::copy(gxd, gxd + TN * GH, tap.d_gates_ih);
        std::copy(ghd, ghd + TN * GH, tap.d_gates_hh);
        std::copy(xin, xin + TN * I, tap.input);
        std::copy(bufs[d].hs, bufs[d].hs + TN * H, tap.h_prev);
      }
      if (l > 0 || din.d_input)
        gemm(false, false, TN, I, GH, T(1), gxd, GH, w.weight_ih, I, d == 0 ? T(0) : T(1), dx, I);
    }
    if (l > 0) {
      std::copy(dx, dx + TN * DH, dy);
      if (!in.dropout_masks.empty()) {
        const T* mask = in.dropout_masks[l - 1];
#pragma omp parallel for
        for (int64_t i = 0; i < TN * DH; ++i) dy[i] *= mask[i];
      }
    } else if (din.d_input) {
      relayout(dx, din.d_input, T_, N, I, sh.batch_first, false);
    }
  }
}

#define INSTANTIATE(T)                                                                          \
  template void rnn_forward(const Context&, const RnnShape&, const RnnInputs<T>&,               \
                            const RnnOutputs<T>&, void*);                                       \
  template void rnn_backward(const Context&, const RnnShape&, const RnnInputs<T>&, const void*, \
                             const RnnGradOutputs<T>&, const RnnGradInputs<T>&);
STRAND_CPU_F32_F64_TYPES(INSTANTIATE)
#undef INSTANTIATE

}  // namespace strand::kernels::cpu
