// A random LSTM/GRU problem for the RNN tests: shape, lengths, input, parameters in PyTorch's
// state_dict order, initial states, dropout masks, and the kernel argument structs over them.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/rnn/rnn.h"
#include "tests/support/test_support.h"

namespace strand::testing {

// A shape in one line: mode, T, N, input, hidden, layers, bidirectional.
inline kernels::RnnShape rnn_shape(kernels::RnnMode mode, int64_t T, int64_t N, int64_t I,
                                   int64_t H, int64_t layers = 1, bool bidirectional = false) {
  kernels::RnnShape s;
  s.mode = mode;
  s.seq_len = T;
  s.batch = N;
  s.input_size = I;
  s.hidden_size = H;
  s.num_layers = layers;
  s.bidirectional = bidirectional;
  return s;
}

template <typename T>
struct RnnProblem {
  kernels::RnnShape shape;
  std::vector<int32_t> lengths;  // empty: all T
  std::vector<T> x, h0, c0;
  std::vector<std::vector<T>> params;  // rnn_parameters(shape) order
  std::vector<std::vector<T>> masks;   // num_layers-1, or empty
  bool use_h0 = true;

  RnnProblem(const kernels::RnnShape& s, std::vector<int32_t> lens, uint64_t seed, bool with_h0,
             bool with_masks, double weight_scale = 0.5)
      : shape(s), lengths(std::move(lens)), use_h0(with_h0) {
    x = random_vector<T>(s.seq_len * s.batch * s.input_size, seed);
    const int64_t state = s.num_layers * s.dirs() * s.batch * s.hidden_size;
    h0 = random_vector<T>(state, seed + 1);
    c0 = random_vector<T>(state, seed + 2);
    uint64_t k = seed + 3;
    for (const auto& info : kernels::rnn_parameters(s)) {
      int64_t count = 1;
      for (int64_t d : info.shape) count *= d;
      params.push_back(random_vector<T>(count, k++, -weight_scale, weight_scale));
    }
    if (with_masks) {
      for (int64_t l = 0; l + 1 < s.num_layers; ++l) {
        // Inverted dropout with p = 0.25: entries 0 or 4/3.
        std::vector<T> m = random_vector<T>(s.seq_len * s.batch * s.output_size(), k++, 0.0, 1.0);
        for (auto& v : m) v = static_cast<double>(v) < 0.25 ? T(0) : T(1.0 / 0.75);
        masks.push_back(std::move(m));
      }
    }
  }

  int64_t per_set() const { return shape.bias ? 4 : 2; }

  // Parameter pointers for (layer, dir) from any per-parameter storage (host vectors, device
  // buffers) via get(index) -> pointer.
  template <typename P, typename Get>
  std::vector<P> sets(Get get) const {
    std::vector<P> out;
    for (int64_t i = 0; i < shape.num_layers * shape.dirs(); ++i) {
      const int64_t b = i * per_set();
      P w{get(b), get(b + 1), nullptr, nullptr};
      if (shape.bias) {
        w.bias_ih = get(b + 2);
        w.bias_hh = get(b + 3);
      }
      out.push_back(w);
    }
    return out;
  }

  std::vector<kernels::RnnLayerWeights<T>> weights() const {
    return sets<kernels::RnnLayerWeights<T>>([&](int64_t i) { return params[i].data(); });
  }
  std::vector<const T*> mask_ptrs() const {
    std::vector<const T*> out;
    for (const auto& m : masks) out.push_back(m.data());
    return out;
  }
  bool lstm() const { return shape.mode == kernels::RnnMode::kLstm; }
  int64_t out_count() const { return shape.seq_len * shape.batch * shape.output_size(); }
  int64_t state_count() const { return static_cast<int64_t>(h0.size()); }
};

}  // namespace strand::testing
