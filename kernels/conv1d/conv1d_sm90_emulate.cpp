// The Hopper conv1d kernel run on the host for float, for CPU tests: the same internal layouts,
// tensor maps, K-step box coordinates, grid, pipeline order and epilogue items as the kernel
// (all from conv1d_sm90_plan.h). TMA boxes are read with the copy engine's out-of-bounds zero
// fill; the pipeline runs as a model of its full/empty mbarriers with the producer and the two
// consumer warpgroups interleaved in a shuffled order, each consumer reading a stage only when its
// wgmma batch retires (one batch in flight, as the kernel's warpgroup_wait<1>), so a stage
// overwritten too early or a wrong phase shows up as a wrong tag or a deadlock. Not emulated:
// the 128-byte swizzle of a box in shared memory and the wgmma fragment layouts (CuTe's
// SmemLayout and partition_C mirror the copy engine and the tensor cores).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"
#include "kernels/conv1d/conv1d_cuda_impl.h"
#include "kernels/conv1d/conv1d_sm90_plan.h"

namespace strand::kernels::cuda::detail {
namespace {

using namespace sm90;

// A box read as the copy engine does: element (k, r) of the box is the map's element
// (b.c0 + k, b.c1 + r, b.c2), zero where any coordinate falls outside the map's dims.
void load_box(const float* base, const MapDesc& d, int elem_bytes, const Box& b, float* dst) {
  for (int r = 0; r < d.box[1]; ++r) {
    for (int k = 0; k < d.box[0]; ++k) {
      const int64_t c0 = b.c0 + k, c1 = b.c1 + r, c2 = b.c2;
      const bool in =
          c0 >= 0 && c0 < d.dims[0] && c1 >= 0 && c1 < d.dims[1] && c2 >= 0 && c2 < d.dims[2];
      dst[r * d.box[0] + k] = in ? base[c0 + c1 * (d.strides_bytes[0] / elem_bytes) +
                                        c2 * (d.strides_bytes[1] / elem_bytes)]
                                 : 0.f;
    }
  }
}

// An mbarrier: completes a phase when `count` arrivals and the expected bytes are in.
struct Mbarrier {
  int count = 1, arrived = 0, tx = 0, phase = 0;
  // try_wait.parity p: true once the phase with parity p has completed.
  bool passed(int parity) const { return (phase & 1) != parity; }
  void maybe_complete() {
    if (arrived == count && tx == 0) {
      arrived = 0;
      ++phase;
    }
  }
  void arrive() {
    STRAND_CHECK(arrived < count, "sm90 emulation: too many arrivals on an mbarrier");
    ++arrived;
    maybe_complete();
  }
};

struct Stage {
  std::vector<float> a, b;
  int tag = -1;  // the K step whose boxes it holds
};

// Runs block (bx, by, bz): fills tile [kTileM][kTileN] with its C.
void run_block(const Geom& g, const float* a_base, const float* b_base, int bx, int by, int bz,
               std::mt19937& rng, std::vector<float>& tile) {
  const MapDesc ma = map_a(g), mb = map_b(g);
  const int iters = block_k_tiles(g, bz);
  std::vector<Stage> stages(kStages);
  for (auto& s : stages) {
    s.a.assign(kTileM * g.tk, 0.f);
    s.b.assign(kTileN * g.tk, 0.f);
  }
  std::vector<Mbarrier> full(kStages), empty(kStages);
  for (auto& e : empty) e.count = kEmptyArrivals;
  std::fill(tile.begin(), tile.end(), 0.f);

  // Producer: next step to issue, and a copy in flight (lands on a later tick).
  int p_it = 0, in_flight = -1;
  // Consumers: next step to wait for, and the step whose wgmma batch is in flight.
  int c_it[kConsumerWarpgroups] = {}, c_pending[kConsumerWarpgroups];
  std::fill(c_pending, c_pending + kConsumerWarpgroups, -1);

  auto retire = [&](int wg, int it) {  // the batch of step `it` reads its stage, then frees it
    const Stage& st = stages[stage_of(it)];
    STRAND_CHECK(st.tag == it, "sm90 emulation: step {} read stage {} holding step {}", it,
                 stage_of(it), st.tag);
    for (int r = wg * 64; r < wg * 64 + 64; ++r) {
      for (int c = 0; c < kTileN; ++c) {
        float acc = 0.f;
        for (int k = 0; k < g.tk; ++k) acc += st.a[r * g.tk + k] * st.b[c * g.tk + k];
        tile[r * kTileN + c] += acc;
      }
    }
    for (int w = 0; w < 4; ++w) empty[stage_of(it)].arrive();
  };

  for (;;) {
    bool done = p_it == iters && in_flight < 0;
    for (int wg = 0; wg < kConsumerWarpgroups; ++wg)
      done = done && c_it[wg] == iters && c_pending[wg] < 0;
    if (done) break;
    // Agents that can move this tick: 0 = copy engine, 1 = producer, 2.. = consumers.
    std::vector<int> ready;
    if (in_flight >= 0) ready.push_back(0);
    if (p_it < iters && in_flight < 0 && empty[stage_of(p_it)].passed(empty_parity(p_it))) {
      ready.push_back(1);
    }
    for (int wg = 0; wg < kConsumerWarpgroups; ++wg) {
      const bool can_wait =
          c_it[wg] < iters && full[stage_of(c_it[wg])].passed(full_parity(c_it[wg]));
      if (can_wait || (c_it[wg] == iters && c_pending[wg] >= 0)) ready.push_back(2 + wg);
    }
    STRAND_CHECK(!ready.empty(), "sm90 emulation: pipeline deadlock in block ({}, {}, {})", bx, by,
                 bz);
    const int agent = ready[rng() % ready.size()];
    if (agent == 0) {  // both boxes of step in_flight land; the bytes complete the phase
      Stage& st = stages[stage_of(in_flight)];
      Box a, b;
      k_step_boxes(g, bx, by, bz, in_flight, &a, &b);
      load_box(a_base, ma, g.elem_bytes, a, st.a.data());
      load_box(b_base, mb, g.elem_bytes, b, st.b.data());
      st.tag = in_flight;
      Mbarrier& f = full[stage_of(in_flight)];
      f.tx -= stage_bytes(g);
      f.maybe_complete();
      in_flight = -1;
    } else if (agent == 1) {  // arrive_and_expect_tx, then issue the two copies
      Mbarrier& f = full[stage_of(p_it)];
      f.tx += stage_bytes(g);
      f.arrive();
      in_flight = p_it++;
    } else {
      const int wg = agent - 2;
      if (c_it[wg] < iters) {  // full barrier passed: issue step c_it, retire the one before
        const int it = c_it[wg]++;
        if (c_pending[wg] >= 0) retire(wg, c_pending[wg]);
        c_pending[wg] = it;
      } else {  // warpgroup_wait<0>: the last batch retires
        retire(wg, c_pending[wg]);
        c_pending[wg] = -1;
      }
    }
  }
}

// Forward form over NCL `in` (channels, g.lin) and PyTorch weights w [C_out][cin][K].
void emulate_forward_form(const Geom& g, int channels, int cin, const float* in, const float* w,
                          bool flip, const float* bias, float* out, const Conv1dEpilogue& epi) {
  std::vector<float> xcl(static_cast<size_t>(g.batch) * g.lin * g.kc);
  for (int b = 0; b < g.batch; ++b)
    for (int l = 0; l < g.lin; ++l)
      for (int c = 0; c < g.kc; ++c)
        xcl[(static_cast<size_t>(b) * g.lin + l) * g.kc + c] =
            c < channels ? in[channels_last_source(b, l, c, channels, g.lin)] : 0.f;
  std::vector<float> wt(static_cast<size_t>(g.taps) * g.m * g.kc);
  for (int t = 0; t < g.taps; ++t)
    for (int r = 0; r < g.m; ++r)
      for (int c = 0; c < g.kc; ++c)
        wt[(static_cast<size_t>(t) * g.m + r) * g.kc + c] =
            c < channels ? w[tap_major_source(flip, t, r, c, cin, g.taps)] : 0.f;

  std::mt19937 rng(1234);
  std::vector<float> tile(kTileM * kTileN);
  const Grid grid = grid_of(g);
  const int plen = pooled_length(g);
  for (int bz = 0; bz < grid.z; ++bz) {
    for (int by = 0; by < grid.y; ++by) {
      for (int bx = 0; bx < grid.x; ++bx) {
        run_block(g, wt.data(), xcl.data(), bx, by, bz, rng, tile);
        for (int wg = 0; wg < kConsumerWarpgroups; ++wg) {
          if (epi.bn_sum) {
            float half_sum[128], half_sq[128];
            for (int tid = 0; tid < 128; ++tid) {
              const int row = stat_row(wg, tid), half = stat_half(tid);
              const int chan = by * kTileM + row;
              const float b = (bias && chan < g.m) ? bias[chan] : 0.f;
              float s = 0.f, sq = 0.f;
              for (int j = half * 64; j < half * 64 + 64; ++j) {
                if (stat_col_valid(g, bx, j)) {
                  const float v = tile[row * kTileN + j] + b;
                  s += v;
                  sq += v * v;
                }
              }
              half_sum[tid] = s;
              half_sq[tid] = sq;
            }
            for (int tid = 0; tid < 128; tid += 2) {
              const int chan = by * kTileM + stat_row(wg, tid);
              if (chan < g.m) {
                epi.bn_sum[chan] += half_sum[tid] + half_sum[tid + 1];
                epi.bn_sumsq[chan] += half_sq[tid] + half_sq[tid + 1];
              }
            }
          }
          for (int tid = 0; tid < 128; ++tid) {
            for (int idx = tid; idx < epi_items(g); idx += 128) {
              const EpiItem e = epi_item(g, bx, by, wg, idx);
              if (!e.valid) continue;
              const float b = bias ? bias[e.chan] : 0.f;
              const float* src = tile.data() + e.row * kTileN + e.col * g.pool;
              float v = src[0] + b;
              for (int q = 1; q < g.pool; ++q) v = std::max(v, src[q] + b);
              if (epi.relu) v = std::max(v, 0.f);
              out[(static_cast<int64_t>(bz) * g.m + e.chan) * plen + e.pos] = v;
            }
          }
        }
      }
    }
  }
}

int i32(int64_t v) { return static_cast<int>(v); }

}  // namespace

void sm90_emulate_forward(const Conv1dShape& s, const float* x, const float* w, const float* bias,
                          float* y, const Conv1dEpilogue& epi, int elem_bytes) {
  const Geom g = forward_geom(i32(s.out_channels), i32(s.in_channels), i32(s.in_length),
                              i32(s.out_length()), i32(s.batch), i32(s.kernel_size),
                              i32(s.dilation), i32(-s.pad_left), i32(epi.pool), elem_bytes);
  emulate_forward_form(g, i32(s.in_channels), i32(s.in_channels), x, w, false, bias, y, epi);
}

void sm90_emulate_backward_data(const Conv1dShape& s, const float* dy, const float* w, float* dx,
                                int elem_bytes) {
  const Geom g = forward_geom(i32(s.in_channels), i32(s.out_channels), i32(s.out_length()),
                              i32(s.in_length), i32(s.batch), i32(s.kernel_size), i32(s.dilation),
                              i32(s.pad_left - s.dilation * (s.kernel_size - 1)), 1, elem_bytes);
  emulate_forward_form(g, i32(s.out_channels), i32(s.in_channels), dy, w, true, nullptr, dx,
                       Conv1dEpilogue{});
}

void sm90_emulate_backward_weight(const Conv1dShape& s, const float* x, const float* dy, float* dw,
                                  int elem_bytes, int sm_count) {
  const Geom g = weight_grad_geom(i32(s.out_channels), i32(s.in_channels), i32(s.in_length),
                                  i32(s.out_length()), i32(s.batch), i32(s.kernel_size),
                                  i32(s.dilation), i32(-s.pad_left), elem_bytes, sm_count);
  std::vector<float> ws(static_cast<size_t>(s.w_numel()), 0.f);
  // The pitched row copies the kernel reads when rows are not 16-byte multiples; their padding is
  // NaN here, so a box that read it would show.
  auto pitched = [](const float* src, int len, int pitch, int64_t rows) {
    std::vector<float> out(static_cast<size_t>(rows) * pitch,
                           std::numeric_limits<float>::quiet_NaN());
    for (int64_t r = 0; r < rows; ++r)
      std::copy(src + r * len, src + (r + 1) * len, &out[r * pitch]);
    return out;
  };
  const auto x_rows = pitched(x, g.lin, g.lin_pitch, s.batch * s.in_channels);
  const auto dy_rows = pitched(dy, g.lout, g.lout_pitch, s.batch * s.out_channels);
  std::mt19937 rng(99);
  std::vector<float> tile(kTileM * kTileN);
  const Grid grid = grid_of(g);
  for (int bz = 0; bz < grid.z; ++bz) {
    for (int by = 0; by < grid.y; ++by) {
      for (int bx = 0; bx < grid.x; ++bx) {
        if (block_k_tiles(g, bz) <= 0) continue;
        run_block(g, dy_rows.data(), x_rows.data(), bx, by, bz, rng, tile);
        const int t = bz % g.taps;
        for (int wg = 0; wg < kConsumerWarpgroups; ++wg) {
          for (int tid = 0; tid < 128; ++tid) {
            for (int idx = tid; idx < kWgradItems; idx += 128) {
              const int row = wg * 64 + idx / kTileN, col = idx % kTileN;
              const int co = by * kTileM + row, ci = bx * kTileN + col;
              if (co < g.m && ci < g.n) {
                ws[(static_cast<int64_t>(co) * g.n + ci) * g.taps + t] += tile[row * kTileN + col];
              }
            }
          }
        }
      }
    }
  }
  std::copy(ws.begin(), ws.end(), dw);
}

}  // namespace strand::kernels::cuda::detail
