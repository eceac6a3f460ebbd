// The cluster recurrence (rnn_cluster.cu) replayed on the CPU through the same tiling, fragment
// maps and shared-memory layouts (rnn_persistent_tiling.h): the fragment maps against the PTX
// ISA's tables, then whole forward passes where each CTA's shared memory is a buffer laid out as
// the kernel lays it out, each mma is emulated from the lanes' registers, the cell update is the
// shared per-unit step, and h is exchanged into every CTA's buffer for the next step. Every read of
// an exchanged h checks it was written in the previous step (the double buffer's order), every
// element is delivered exactly once per step, and the outputs match the CPU reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/bfloat16.h"
#include "kernels/rnn/rnn.h"
#include "kernels/rnn/rnn_persistent_tiling.h"
#include "tests/kernels/rnn_problem.h"
#include "tests/support/test_support.h"

namespace strand::kernels::detail {
namespace {

constexpr int kH100Sms = 132;
constexpr int kH100MaxSmem = 232448;

// ---- The fragment maps, against the PTX ISA's mma fragment tables written out independently --

TEST(RnnClusterEmulation, FragmentMapsMatchThePtxLayouts) {
  for (int lane = 0; lane < 32; ++lane) {
    const int group = lane >> 2, tig = lane % 4;
    for (int i = 0; i < 8; ++i) {  // m16n8k16 .bf16 A: a0..a7
      const int row = (i < 2 || (i >= 4 && i < 6)) ? group : group + 8;
      const int col = tig * 2 + (i & 1) + (i >= 4 ? 8 : 0);
      const MmaCoord c = mma_a_coord(true, lane, i / 2, i % 2);
      EXPECT_EQ(c.row, row) << "bf16 A lane " << lane << " a" << i;
      EXPECT_EQ(c.col, col) << "bf16 A lane " << lane << " a" << i;
    }
    for (int i = 0; i < 4; ++i) {  // m16n8k16 .bf16 B: b0..b3 (row = k, col = n)
      const MmaCoord c = mma_b_coord(true, lane, i / 2, i % 2);
      EXPECT_EQ(c.row, tig * 2 + (i & 1) + (i >= 2 ? 8 : 0)) << "bf16 B lane " << lane;
      EXPECT_EQ(c.col, group) << "bf16 B lane " << lane;
    }
    for (int i = 0; i < 4; ++i) {  // m16n8k8 .tf32 A: a0..a3
      const MmaCoord c = mma_a_coord(false, lane, i, 0);
      EXPECT_EQ(c.row, (i == 0 || i == 2) ? group : group + 8) << "tf32 A lane " << lane;
      EXPECT_EQ(c.col, (i < 2) ? tig : tig + 4) << "tf32 A lane " << lane;
    }
    for (int i = 0; i < 2; ++i) {  // m16n8k8 .tf32 B: b0, b1
      const MmaCoord c = mma_b_coord(false, lane, i, 0);
      EXPECT_EQ(c.row, i == 0 ? tig : tig + 4) << "tf32 B lane " << lane;
      EXPECT_EQ(c.col, group) << "tf32 B lane " << lane;
    }
    for (int i = 0; i < 4; ++i) {  // f32 C/D: c0..c3
      const MmaCoord c = mma_c_coord(lane, i);
      EXPECT_EQ(c.row, i < 2 ? group : group + 8) << "C lane " << lane;
      EXPECT_EQ(c.col, tig * 2 + (i & 1)) << "C lane " << lane;
    }
  }
}

TEST(RnnClusterEmulation, Tf32SplitKeepsFloatPrecision) {
  for (float x : {1.f, -3.14159265f, 1e-7f, 123456.789f, -0.3333333f}) {
    float big, small;
    tf32_split(x, big, small);
    uint32_t bits;
    std::memcpy(&bits, &big, 4);
    EXPECT_EQ(bits & 0x1fffu, 0u) << x << ": the high part is not tf32";
    std::memcpy(&bits, &small, 4);
    EXPECT_EQ(bits & 0x1fffu, 0u) << x << ": the remainder is not tf32";
    EXPECT_NEAR(big + small, x, std::abs(x) * 1e-6f) << x;
  }
}

// ---- Tiling --------------------------------------------------------------------------------

RnnShape lstm(int64_t batch, int64_t hidden, bool bidirectional, RnnMode mode = RnnMode::kLstm) {
  return strand::testing::rnn_shape(mode, 75, batch, hidden, hidden, 1, bidirectional);
}

TEST(RnnClusterEmulation, TilingOfTheDanQAndSweepShapes) {
  for (int64_t n : {64, 256}) {
    for (int64_t h : {128, 256, 320}) {
      for (size_t wb : {size_t{2}, size_t{4}}) {
        for (bool backward : {false, true}) {
          if (backward && wb == 4 && h == 320) continue;  // f32 DanQ backward: checked below
          const ClusterTiling t =
              cluster_tiling(lstm(n, h, true), wb, backward, kH100Sms, kH100MaxSmem, 16);
          SCOPED_TRACE(::testing::Message()
                       << "N " << n << " H " << h << " bytes " << wb << " backward " << backward);
          ASSERT_TRUE(t.fits);
          EXPECT_LE(t.cluster, 16);
          EXPECT_GE(t.cluster * t.unit_blocks * kClusterUnits, h);
          EXPECT_LT((t.cluster - 1) * t.unit_blocks * kClusterUnits, h) << "a CTA without units";
          EXPECT_LE(t.smem, static_cast<size_t>(kH100MaxSmem));
          EXPECT_EQ(t.batch_tile % kClusterSamples, 0);
          EXPECT_GE(t.batch_tile * t.batch_tiles, n);
          EXPECT_LT(t.batch_tile * (t.batch_tiles - 1), n);
          EXPECT_EQ(t.w_bytes % 16, 0u);
          EXPECT_EQ(t.h_bytes % 16, 0u);
          // 16 bytes of padding per h row: B loads of the 8 samples of an n-tile hit distinct
          // banks.
          EXPECT_EQ(t.h_stride * wb, t.k_pad * wb + 16);
          EXPECT_EQ(t.k_pad, (backward ? 4 * h : h));
        }
      }
    }
  }
  // DanQ in bf16 fits the portable 8-CTA cluster; in f32 W_hh (1.6 MB) needs 16 CTAs, and its
  // backward (W_hh^T plus 1280 gate gradients per sample, twice) fits no cluster.
  EXPECT_TRUE(cluster_tiling(lstm(64, 320, true), 2, false, kH100Sms, kH100MaxSmem, 8).fits);
  EXPECT_FALSE(cluster_tiling(lstm(64, 320, true), 4, false, kH100Sms, kH100MaxSmem, 8).fits);
  EXPECT_FALSE(cluster_tiling(lstm(64, 320, true), 4, true, kH100Sms, kH100MaxSmem, 16).fits);
  // H = 1024 f32 LSTM: W_hh (16 MB) fits no cluster.
  EXPECT_FALSE(cluster_tiling(lstm(64, 1024, false), 4, false, kH100Sms, kH100MaxSmem, 16).fits);
}

// ---- The recurrences, CTA by CTA, warp by warp, lane by lane ----------------------------------

template <typename W>
constexpr bool kBf16 = std::is_same_v<W, uint16_t>;

template <typename W>
float value_of(W v) {
  if constexpr (kBf16<W>) {
    return static_cast<float>(BFloat16::from_bits(v));
  } else {
    return v;
  }
}
template <typename W>
W exchanged(float v) {
  if constexpr (kBf16<W>) {
    return BFloat16(v).bits;
  } else {
    return v;
  }
}

// One CTA's shared memory as the kernel lays it out, and the step that wrote each exchanged
// element.
template <typename W>
struct Cta {
  std::vector<uint32_t> w;   // A fragments, w_bytes / 4 words
  std::vector<W> h[2];       // the two exchange buffers
  std::vector<int> step[2];  // step whose output each element holds (-1: initial / padding)
};

// One cluster (a batch tile of one direction) of either kernel. The kernel-specific parts are
// callables: the A element (fragment gate, unit, k) and, per step, the epilogue of one C position.
template <typename W>
struct ClusterSim {
  ClusterTiling t;
  int H = 0, N = 0, n0 = 0, valid = 0, k_extent = 0;
  std::vector<Cta<W>> ctas;

  ClusterSim(const ClusterTiling& tiling, int hidden, int batch, int cluster_id, int k_ext)
      : t(tiling), H(hidden), N(batch), k_extent(k_ext), ctas(tiling.cluster) {
    n0 = cluster_first_sample(cluster_id, t.batch_tiles, t.batch_tile);
    valid = std::min(t.batch_tile, N - n0);
  }

  // The kernels' load_fragments loop: decode each word index, place its elements by the A map.
  template <typename Value>
  void load_fragments(Value value) {
    const int words = t.unit_blocks * t.frag_gates * t.k_steps() * kClusterFragWords;
    ASSERT_EQ(static_cast<size_t>(words) * 4, t.w_bytes);
    const size_t elems = t.h_bytes / sizeof(W);
    ASSERT_EQ(elems, static_cast<size_t>(t.batch_tile) * t.h_stride);
    for (int rank = 0; rank < t.cluster; ++rank) {
      Cta<W>& c = ctas[rank];
      c.w.assign(words, 0xffffffffu);  // poisoned: every word must be written
      for (int idx = 0; idx < words; ++idx) {
        const int reg = idx & 3, lane = (idx >> 2) & 31, frag = idx >> 7;
        const int kk = frag % t.k_steps(), f = frag / t.k_steps() % t.frag_gates;
        const int ub = frag / t.k_steps() / t.frag_gates;
        uint32_t word = 0;
        for (int half = 0; half < (kBf16<W> ? 2 : 1); ++half) {
          const MmaCoord mc = mma_a_coord(kBf16<W>, lane, reg, half);
          const int j = cluster_unit(rank, ub, mc.row, t.unit_blocks);
          const int k = kk * t.k_step + mc.col;
          if (j < H && k < k_extent) {
            const W v = exchanged<W>(value(f, j, k));
            if constexpr (kBf16<W>) {
              word |= static_cast<uint32_t>(v) << (16 * half);
            } else {
              std::memcpy(&word, &v, 4);
            }
          }
        }
        c.w.at(cluster_w_word(ub, f, kk, lane, reg, t.frag_gates, t.k_steps())) = word;
      }
      for (uint32_t v : c.w) ASSERT_NE(v, 0xffffffffu) << "a fragment word never written";
      for (int i = 0; i < 2; ++i) {
        c.h[i].assign(elems, exchanged<W>(0.f));
        c.step[i].assign(elems, -1);
      }
    }
  }

  // Step s: every CTA (in `order`), warp and item forms acc[frag gate][lane][4] from buffer `in`
  // (whose valid elements must hold step `expect`'s values) and hands each valid C position to
  // epilogue(rank, ub, j, nl, acc values per fragment gate, send), where send(col, value) stores
  // into buffer `out` of every CTA; after the step each CTA holds each valid element once.
  template <typename Epilogue>
  void step(int s, int in, int out, int expect, bool reverse_order, Epilogue epilogue) {
    std::vector<std::vector<int>> delivered(t.cluster, std::vector<int>(ctas[0].h[0].size(), 0));
    for (int visit = 0; visit < t.cluster; ++visit) {
      const int rank = reverse_order ? t.cluster - 1 - visit : visit;
      Cta<W>& c = ctas[rank];
      for (int warp = 0; warp < kClusterWarps; ++warp) {
        for (int item = warp; item < t.items(); item += kClusterWarps) {
          const int ub = cluster_item_block(item, t.n_tiles());
          const int n_base = cluster_item_tile(item, t.n_tiles()) * kClusterSamples;
          const int F = t.frag_gates;
          std::vector<float> acc(static_cast<size_t>(F) * 32 * 4, 0.f);
          for (int kk = 0; kk < t.k_steps(); ++kk) {
            // B tile from the exchange buffer through the B map (k_step x 8).
            std::vector<float> bt(static_cast<size_t>(t.k_step) * 8, NAN);
            for (int lane = 0; lane < 32; ++lane)
              for (int reg = 0; reg < 2; ++reg)
                for (int half = 0; half < (kBf16<W> ? 2 : 1); ++half) {
                  const MmaCoord mc = mma_b_coord(kBf16<W>, lane, reg, half);
                  const int nl = n_base + mc.col, k = kk * t.k_step + mc.row;
                  const size_t e = cluster_h_index(nl, k, t.h_stride);
                  const W v = c.h[in].at(e);
                  if (nl >= valid || k >= k_extent) {
                    ASSERT_EQ(value_of(v), 0.f) << "padding of an exchange buffer is not zero";
                  } else {
                    ASSERT_EQ(c.step[in][e], expect)
                        << "step " << s << " CTA " << rank << " read (" << nl << ", " << k
                        << ") of step " << c.step[in][e];
                  }
                  bt[mc.row * 8 + mc.col] = value_of(v);
                }
            for (int f = 0; f < F; ++f) {
              // A tile from the lanes' registers through the A map (16 x k_step).
              std::vector<float> at(static_cast<size_t>(16) * t.k_step, NAN);
              for (int lane = 0; lane < 32; ++lane)
                for (int reg = 0; reg < 4; ++reg) {
                  const uint32_t word =
                      c.w.at(cluster_w_word(ub, f, kk, lane, reg, F, t.k_steps()));
                  for (int half = 0; half < (kBf16<W> ? 2 : 1); ++half) {
                    const MmaCoord mc = mma_a_coord(kBf16<W>, lane, reg, half);
                    float v;
                    if constexpr (kBf16<W>) {
                      v = value_of<W>(static_cast<uint16_t>(word >> (16 * half)));
                    } else {
                      std::memcpy(&v, &word, 4);
                    }
                    at[mc.row * t.k_step + mc.col] = v;
                  }
                }
              // D = A B + C, scattered to the lanes through the C map; f32 as 3xTF32.
              for (int lane = 0; lane < 32; ++lane)
                for (int i = 0; i < 4; ++i) {
                  const MmaCoord mc = mma_c_coord(lane, i);
                  float& d = acc[(static_cast<size_t>(f) * 32 + lane) * 4 + i];
                  for (int k = 0; k < t.k_step; ++k) {
                    const float a = at[mc.row * t.k_step + k], bv = bt[k * 8 + mc.col];
                    if constexpr (kBf16<W>) {
                      d += a * bv;
                    } else {
                      float ab, as, bb, bs;
                      tf32_split(a, ab, as);
                      tf32_split(bv, bb, bs);
                      d += as * bb + ab * bs + ab * bb;
                    }
                  }
                }
            }
          }
          for (int lane = 0; lane < 32; ++lane)
            for (int i = 0; i < 4; ++i) {
              const MmaCoord mc = mma_c_coord(lane, i);
              const int j = cluster_unit(rank, ub, mc.row, t.unit_blocks);
              const int nl = n_base + mc.col;
              if (j >= H || n0 + nl >= N) continue;
              float vals[4] = {0.f, 0.f, 0.f, 0.f};
              for (int f = 0; f < F; ++f)
                vals[f] = acc[(static_cast<size_t>(f) * 32 + lane) * 4 + i];
              epilogue(j, nl, vals, [&](int col, float v) {
                const size_t e = cluster_h_index(nl, col, t.h_stride);
                for (int r = 0; r < t.cluster; ++r) {
                  ctas[r].h[out].at(e) = exchanged<W>(v);
                  ctas[r].step[out][e] = s;
                  ++delivered[r][e];
                }
              });
            }
        }
      }
    }
    // After the barrier: every CTA holds every valid element of this step exactly once.
    for (int r = 0; r < t.cluster; ++r)
      for (int nl = 0; nl < valid; ++nl)
        for (int k = 0; k < k_extent; ++k)
          ASSERT_EQ(delivered[r][cluster_h_index(nl, k, t.h_stride)], 1)
              << "step " << s << " CTA " << r << " got (" << nl << ", " << k << ") "
              << delivered[r][cluster_h_index(nl, k, t.h_stride)] << " times";
  }
};

// One direction's forward buffers, as rnn.cu hands them to the kernels.
struct DirState {
  std::vector<float> gx, hs, cs, gates, hn;
  RnnDirBuffers<float> b;
  RnnDims dims{};
};

// gx = W_ih x + folded biases (time order), h0/c0 in slot 0; y, h_n, c_n the layer's outputs.
DirState dir_state(const RnnShape& s, const strand::testing::RnnProblem<float>& p, int dir,
                   std::vector<float>& y, std::vector<float>& h_n, std::vector<float>& c_n) {
  const int T = static_cast<int>(s.seq_len), N = static_cast<int>(s.batch);
  const int H = static_cast<int>(s.hidden_size), I = static_cast<int>(s.input_size);
  const int G = static_cast<int>(s.gates()), D = static_cast<int>(s.dirs());
  const bool lstm = s.mode == RnnMode::kLstm;
  const size_t NH = static_cast<size_t>(N) * H;
  const RnnLayerWeights<float> w = p.weights()[dir];
  DirState d;
  d.gx.resize(static_cast<size_t>(T) * N * G * H);
  for (int tt = 0; tt < T; ++tt)
    for (int n = 0; n < N; ++n)
      for (int r = 0; r < G * H; ++r) {
        double acc = w.bias_ih[r] + ((lstm || r < 2 * H) ? w.bias_hh[r] : 0.f);
        for (int i = 0; i < I; ++i)
          acc += double(w.weight_ih[static_cast<size_t>(r) * I + i]) *
                 p.x[(static_cast<size_t>(tt) * N + n) * I + i];
        d.gx[(static_cast<size_t>(tt) * N + n) * G * H + r] = static_cast<float>(acc);
      }
  d.hs.assign((T + 1) * NH, 0.f);
  d.cs.assign((T + 1) * NH, 0.f);
  d.gates.assign(T * NH * G, 0.f);
  d.hn.assign(T * NH, 0.f);
  std::copy_n(p.h0.begin() + dir * NH, NH, d.hs.begin());
  std::copy_n(p.c0.begin() + dir * NH, NH, d.cs.begin());
  d.b.gx = d.gx.data();
  d.b.b_hn = lstm ? nullptr : w.bias_hh + 2 * H;
  d.b.hs = d.hs.data();
  d.b.cs = d.cs.data();
  d.b.gates = d.gates.data();
  d.b.hn = d.hn.data();
  d.b.y = y.data() + dir * H;
  d.b.h_n = h_n.data() + dir * NH;
  d.b.c_n = c_n.data() + dir * NH;
  d.dims = RnnDims{T, N, H, D, lstm, dir == 1};
  return d;
}

std::vector<int32_t> lengths_of(const strand::testing::RnnProblem<float>& p) {
  return p.lengths.empty() ? std::vector<int32_t>(p.shape.batch, p.shape.seq_len) : p.lengths;
}

// The forward of one layer (both directions) through the cluster kernel's loops.
template <typename W>
void emulate_forward(const RnnShape& s, const strand::testing::RnnProblem<float>& p,
                     const ClusterTiling& t, std::vector<DirState>& dirs, std::vector<float>& y,
                     std::vector<float>& h_n, std::vector<float>& c_n) {
  const int T = static_cast<int>(s.seq_len), N = static_cast<int>(s.batch);
  const int H = static_cast<int>(s.hidden_size), G = static_cast<int>(s.gates());
  const size_t NH = static_cast<size_t>(N) * H;
  const auto lengths = lengths_of(p);
  y.assign(static_cast<size_t>(T) * N * s.output_size(), 0.f);
  h_n.assign(s.dirs() * NH, 0.f);
  c_n.assign(s.dirs() * NH, 0.f);
  dirs.clear();
  for (int dir = 0; dir < s.dirs(); ++dir) dirs.push_back(dir_state(s, p, dir, y, h_n, c_n));
  for (int dir = 0; dir < s.dirs(); ++dir) {
    DirState& d = dirs[dir];
    const float* w_hh = p.weights()[dir].weight_hh;
    for (int tile = 0; tile < t.batch_tiles; ++tile) {
      const int id = dir * t.batch_tiles + tile;
      ASSERT_EQ(cluster_dir(id, t.batch_tiles), dir);
      ClusterSim<W> sim(t, H, N, id, H);
      sim.load_fragments(
          [&](int gate, int j, int k) { return w_hh[static_cast<size_t>(gate * H + j) * H + k]; });
      if (::testing::Test::HasFatalFailure()) return;
      for (Cta<W>& c : sim.ctas)
        for (int nl = 0; nl < sim.valid; ++nl)
          for (int k = 0; k < H; ++k)
            c.h[0][cluster_h_index(nl, k, t.h_stride)] =
                exchanged<W>(d.hs[static_cast<size_t>(sim.n0 + nl) * H + k]);
      for (int s_ = 0; s_ < T; ++s_) {
        sim.step(s_, s_ & 1, (s_ + 1) & 1, s_ - 1, s_ % 2 == 1,
                 [&](int j, int nl, const float* acc, auto send) {
                   const int n = sim.n0 + nl;
                   float hh[4] = {0.f, 0.f, 0.f, 0.f};
                   for (int g = 0; g < G; ++g) hh[g] = acc[g];
                   const float h_prev = d.hs[s_ * NH + static_cast<size_t>(n) * H + j];
                   send(j, rnn_forward_unit(d.b, d.dims, s_, n, j, lengths[n], hh, h_prev));
                 });
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
}

// The backward recurrence of one direction: through the cluster kernel's loops (emulated) or as
// the plain per-step product (reference), over the same forward buffers; dgx, dgh and the carries
// come out.
struct BackwardOut {
  std::vector<float> dgx, dgh, dh_carry, dc_carry;
};

template <typename W>
BackwardOut backward_dir(const RnnShape& s, const strand::testing::RnnProblem<float>& p,
                         const DirState& d, int dir, const std::vector<float>& dy,
                         const ClusterTiling* t) {
  const int T = static_cast<int>(s.seq_len), N = static_cast<int>(s.batch);
  const int H = static_cast<int>(s.hidden_size), G = static_cast<int>(s.gates()), GH = G * H;
  const size_t NH = static_cast<size_t>(N) * H;
  const auto lengths = lengths_of(p);
  const float* w_hh = p.weights()[dir].weight_hh;
  BackwardOut o;
  o.dgx.assign(static_cast<size_t>(T) * N * GH, NAN);
  o.dgh.assign(static_cast<size_t>(T) * N * GH, NAN);
  o.dh_carry = strand::testing::random_vector<float>(NH, 300 + dir);  // d_h_n
  o.dc_carry = strand::testing::random_vector<float>(NH, 400 + dir);  // d_c_n
  const float* dyd = dy.data() + dir * H;
  auto unit = [&](int s_, int n, int j, float dh_rec) {
    rnn_backward_unit(d.b, d.dims, s_, n, j, lengths[n], dh_rec, o.dh_carry.data(),
                      o.dc_carry.data(), dyd, o.dgx.data(), o.dgh.data());
  };
  if (!t) {
    for (int s_ = T - 1; s_ >= 0; --s_)
      for (int n = 0; n < N; ++n)
        for (int j = 0; j < H; ++j) {
          double acc = 0;
          if (s_ + 1 < T)
            for (int r = 0; r < GH; ++r)
              acc += double(o.dgh[(static_cast<size_t>(s_ + 1) * N + n) * GH + r]) *
                     w_hh[static_cast<size_t>(r) * H + j];
          unit(s_, n, j, static_cast<float>(acc));
        }
    return o;
  }
  for (int tile = 0; tile < t->batch_tiles; ++tile) {
    ClusterSim<W> sim(*t, H, N, dir * t->batch_tiles + tile, GH);
    sim.load_fragments([&](int, int j, int r) { return w_hh[static_cast<size_t>(r) * H + j]; });
    if (::testing::Test::HasFatalFailure()) return o;
    for (int s_ = T - 1; s_ >= 0; --s_) {
      // Buffer (s+1)%2 holds dgh of step s+1 (zero, never written, before the first step).
      sim.step(s_, (s_ + 1) & 1, s_ & 1, s_ + 1 < T ? s_ + 1 : -1, s_ % 2 == 0,
               [&](int j, int nl, const float* acc, auto send) {
                 const int n = sim.n0 + nl;
                 unit(s_, n, j, s_ + 1 < T ? acc[0] : 0.f);
                 for (int g = 0; g < G; ++g)
                   send(g * H + j, o.dgh[(static_cast<size_t>(s_) * N + n) * GH + g * H + j]);
               });
      if (::testing::Test::HasFatalFailure()) return o;
    }
  }
  return o;
}

struct EmulationCase {
  RnnMode mode;
  int64_t T, N, I, H;
  bool bidirectional;
  int sms, max_cluster;
};

template <typename W>
void check_against_reference(const EmulationCase& c) {
  const RnnShape s = strand::testing::rnn_shape(c.mode, c.T, c.N, c.I, c.H, 1, c.bidirectional);
  std::vector<int32_t> lengths(c.N);
  for (int64_t n = 0; n < c.N; ++n) lengths[n] = static_cast<int32_t>(1 + (n * 5 + 2) % c.T);
  strand::testing::RnnProblem<float> p(s, lengths, 17, true, false, 0.5);
  if constexpr (kBf16<W>) {  // the reference sees the bf16 weights the kernel sees
    for (auto& v : p.params)
      for (auto& e : v) e = static_cast<float>(BFloat16(e));
  }
  const ClusterTiling t = cluster_tiling(s, sizeof(W), false, c.sms, kH100MaxSmem, c.max_cluster);
  const ClusterTiling tb = cluster_tiling(s, sizeof(W), true, c.sms, kH100MaxSmem, c.max_cluster);
  SCOPED_TRACE(::testing::Message()
               << (c.mode == RnnMode::kLstm ? "LSTM" : "GRU") << " T " << c.T << " N " << c.N
               << " H " << c.H << (kBf16<W> ? " bf16" : " f32") << ": cluster " << t.cluster
               << " x " << t.unit_blocks << " unit blocks, batch tile " << t.batch_tile << " x "
               << t.batch_tiles << " (backward " << tb.batch_tile << " x " << tb.batch_tiles
               << ")");
  ASSERT_TRUE(t.fits);
  ASSERT_TRUE(tb.fits);
  std::vector<DirState> dirs;
  std::vector<float> y, h_n, c_n;
  emulate_forward<W>(s, p, t, dirs, y, h_n, c_n);
  if (::testing::Test::HasFatalFailure()) return;

  std::vector<float> ry(y.size()), rh(h_n.size()), rc(c_n.size());
  const bool lstm = c.mode == RnnMode::kLstm;
  const auto w = p.weights();
  RnnInputs<float> in{p.x.data(), p.lengths, p.h0.data(), lstm ? p.c0.data() : nullptr, w, {}};
  cpu::rnn_forward_reference(s, in, {ry.data(), rh.data(), lstm ? rc.data() : nullptr});
  // f32: 3xTF32 is fp32-accurate. bf16: what is exchanged (h, dgh) is rounded to bf16, as on the
  // GPU.
  const double tol = kBf16<W> ? 2e-2 : 2e-5;
  EXPECT_TRUE(strand::testing::all_close(y, ry, tol, tol)) << "output";
  EXPECT_TRUE(strand::testing::all_close(h_n, rh, tol, tol)) << "h_n";
  if (lstm) {
    EXPECT_TRUE(strand::testing::all_close(c_n, rc, tol, tol)) << "c_n";
  }

  // Backward over the emulated forward's buffers, against the plain per-step recurrence.
  const auto dy = strand::testing::random_vector<float>(y.size(), 23);
  for (int dir = 0; dir < s.dirs(); ++dir) {
    const BackwardOut got = backward_dir<W>(s, p, dirs[dir], dir, dy, &tb);
    if (::testing::Test::HasFatalFailure()) return;
    const BackwardOut want = backward_dir<W>(s, p, dirs[dir], dir, dy, nullptr);
    EXPECT_TRUE(strand::testing::all_close(got.dgx, want.dgx, tol, tol)) << "dgx dir " << dir;
    EXPECT_TRUE(strand::testing::all_close(got.dgh, want.dgh, tol, tol)) << "dgh dir " << dir;
    EXPECT_TRUE(strand::testing::all_close(got.dh_carry, want.dh_carry, tol, tol)) << "dh0";
    EXPECT_TRUE(strand::testing::all_close(got.dc_carry, want.dc_carry, tol, tol)) << "dc0";
  }
}

// Small shapes that still take every path: several CTAs per cluster with a padded last unit
// block and a CTA of padding rows, a batch tile with padding samples, several batch tiles,
// per-sample lengths in both directions, LSTM and GRU.
const EmulationCase kCases[] = {
    {RnnMode::kLstm, 6, 11, 5, 37, true, 8, 2},   // 3 unit blocks on 2 CTAs x 2: one all padding
    {RnnMode::kGru, 5, 9, 4, 20, false, 4, 16},   // 2 CTAs, 2 batch tiles of 8
    {RnnMode::kLstm, 4, 40, 3, 64, false, 2, 2},  // 10 items per CTA: warps take two
    {RnnMode::kGru, 4, 6, 7, 45, true, 132, 8},
};

TEST(RnnClusterEmulation, Bf16ForwardAndBackwardMatchTheReference) {
  for (const EmulationCase& c : kCases) check_against_reference<uint16_t>(c);
}

TEST(RnnClusterEmulation, F32ThreeTf32ForwardAndBackwardMatchTheReference) {
  for (const EmulationCase& c : kCases) check_against_reference<float>(c);
}

}  // namespace
}  // namespace strand::kernels::detail
