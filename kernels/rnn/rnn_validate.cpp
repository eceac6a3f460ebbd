// RNN shape validation, PyTorch parameter names and shapes, and the argument checks every
// implementation (CPU, CUDA, cuDNN) runs before touching memory.
#include "kernels/common/type_lists.h"
#include "kernels/rnn/rnn.h"
#include "kernels/rnn/rnn_detail.h"

namespace strand::kernels {

void validate(const RnnShape& s) {
  STRAND_CHECK(s.seq_len > 0, "RNN seq_len must be positive, got {}", s.seq_len);
  STRAND_CHECK(s.batch > 0, "RNN batch must be positive, got {}", s.batch);
  STRAND_CHECK(s.input_size > 0, "RNN input_size must be positive, got {}", s.input_size);
  STRAND_CHECK(s.hidden_size > 0, "RNN hidden_size must be positive, got {}", s.hidden_size);
  STRAND_CHECK(s.num_layers > 0, "RNN num_layers must be positive, got {}", s.num_layers);
  STRAND_CHECK(s.mode == RnnMode::kLstm || s.mode == RnnMode::kGru, "RNN mode {} is unknown",
               static_cast<int>(s.mode));
  // Index arithmetic is int64 on the host but int32 inside CUDA kernels for the state tensors.
  STRAND_CHECK(s.seq_len * s.batch * s.gates() * s.hidden_size * s.dirs() < (int64_t{1} << 31),
               "RNN too large: T*N*G*H*dirs = {} must stay below 2^31",
               s.seq_len * s.batch * s.gates() * s.hidden_size * s.dirs());
}

std::vector<int64_t> rnn_tensor_shape(const RnnShape& s, RnnTensor which) {
  switch (which) {
    case RnnTensor::kInput:
      return s.batch_first ? std::vector<int64_t>{s.batch, s.seq_len, s.input_size}
                           : std::vector<int64_t>{s.seq_len, s.batch, s.input_size};
    case RnnTensor::kOutput:
      return s.batch_first ? std::vector<int64_t>{s.batch, s.seq_len, s.output_size()}
                           : std::vector<int64_t>{s.seq_len, s.batch, s.output_size()};
    case RnnTensor::kState:
      return {s.num_layers * s.dirs(), s.batch, s.hidden_size};
    case RnnTensor::kDropoutMask:
      return {s.seq_len, s.batch, s.output_size()};
  }
  STRAND_FAIL("unknown RNN tensor {}", static_cast<int>(which));
}

namespace {

const char* tensor_name(RnnTensor which) {
  switch (which) {
    case RnnTensor::kInput:
      return "input";
    case RnnTensor::kOutput:
      return "output";
    case RnnTensor::kState:
      return "state (h0/c0/h_n/c_n)";
    case RnnTensor::kDropoutMask:
      return "dropout mask";
  }
  return "?";
}

std::string param_name(RnnParamKind kind, int64_t layer, int64_t dir) {
  static const char* kNames[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  return format("{}_l{}{}", kNames[static_cast<int>(kind)], layer, dir == 1 ? "_reverse" : "");
}

std::vector<int64_t> param_shape(const RnnShape& s, int64_t layer, RnnParamKind kind) {
  const int64_t rows = s.gates() * s.hidden_size;
  switch (kind) {
    case RnnParamKind::kWeightIh:
      return {rows, s.layer_input_size(layer)};
    case RnnParamKind::kWeightHh:
      return {rows, s.hidden_size};
    case RnnParamKind::kBiasIh:
    case RnnParamKind::kBiasHh:
      return {rows};
  }
  return {};
}

}  // namespace

void check_rnn_tensor_shape(const RnnShape& s, RnnTensor which, std::span<const int64_t> dims) {
  const std::vector<int64_t> expected = rnn_tensor_shape(s, which);
  const std::vector<int64_t> actual(dims.begin(), dims.end());
  if (actual == expected) return;
  if (which != RnnTensor::kDropoutMask && actual.size() == 3 && expected.size() == 3) {
    const int64_t batch_axis = which == RnnTensor::kState ? 1 : (s.batch_first ? 0 : 1);
    STRAND_CHECK(actual[batch_axis] == expected[batch_axis],
                 "RNN batch mismatch: {} has batch {} (shape {}), expected {}", tensor_name(which),
                 actual[batch_axis], actual, expected[batch_axis]);
  }
  STRAND_FAIL("RNN {} has shape {}, expected {}", tensor_name(which), actual, expected);
}

std::vector<RnnParamInfo> rnn_parameters(const RnnShape& s) {
  validate(s);
  std::vector<RnnParamInfo> out;
  for (int64_t layer = 0; layer < s.num_layers; ++layer) {
    for (int64_t dir = 0; dir < s.dirs(); ++dir) {
      for (int k = 0; k < (s.bias ? 4 : 2); ++k) {
        const auto kind = static_cast<RnnParamKind>(k);
        out.push_back(
            {param_name(kind, layer, dir), param_shape(s, layer, kind), layer, dir, kind});
      }
    }
  }
  return out;
}

void check_rnn_parameter_shape(const RnnShape& s, int64_t layer, int64_t dir, RnnParamKind kind,
                               std::span<const int64_t> dims) {
  STRAND_CHECK(layer >= 0 && layer < s.num_layers, "RNN layer {} out of range [0, {})", layer,
               s.num_layers);
  STRAND_CHECK(dir >= 0 && dir < s.dirs(), "RNN direction {} out of range [0, {})", dir, s.dirs());
  const std::vector<int64_t> expected = param_shape(s, layer, kind);
  const std::vector<int64_t> actual(dims.begin(), dims.end());
  STRAND_CHECK(actual == expected, "RNN weight shape mismatch: {} has shape {}, expected {}",
               param_name(kind, layer, dir), actual, expected);
}

void check_rnn_lengths(const RnnShape& s, std::span<const int32_t> lengths) {
  if (lengths.empty()) return;
  STRAND_CHECK(static_cast<int64_t>(lengths.size()) == s.batch,
               "RNN batch mismatch: {} sequence lengths for batch {}", lengths.size(), s.batch);
  for (size_t n = 0; n < lengths.size(); ++n) {
    STRAND_CHECK(lengths[n] > 0, "RNN sequence length of sample {} is {}; lengths must be >= 1", n,
                 lengths[n]);
    STRAND_CHECK(lengths[n] <= s.seq_len,
                 "RNN sequence length of sample {} is {}, longer than seq_len {}", n, lengths[n],
                 s.seq_len);
  }
}

namespace detail {

template <typename T>
void check_rnn_inputs(const RnnShape& s, const RnnInputs<T>& in) {
  validate(s);
  STRAND_CHECK(in.input != nullptr, "RNN input is null");
  check_rnn_lengths(s, in.lengths);
  STRAND_CHECK(static_cast<int64_t>(in.weights.size()) == s.num_layers * s.dirs(),
               "RNN expects {} weight sets (layers*dirs), got {}", s.num_layers * s.dirs(),
               in.weights.size());
  for (int64_t layer = 0; layer < s.num_layers; ++layer) {
    for (int64_t dir = 0; dir < s.dirs(); ++dir) {
      const RnnLayerWeights<T>& w = in.weights[layer * s.dirs() + dir];
      STRAND_CHECK(w.weight_ih && w.weight_hh, "RNN {} or {} is null",
                   param_name(RnnParamKind::kWeightIh, layer, dir),
                   param_name(RnnParamKind::kWeightHh, layer, dir));
      STRAND_CHECK((w.bias_ih != nullptr) == s.bias && (w.bias_hh != nullptr) == s.bias,
                   "RNN {}/{} must be {} because shape.bias is {}",
                   param_name(RnnParamKind::kBiasIh, layer, dir),
                   param_name(RnnParamKind::kBiasHh, layer, dir), s.bias ? "set" : "null", s.bias);
    }
  }
  STRAND_CHECK(s.mode == RnnMode::kLstm || in.c0 == nullptr, "RNN c0 given for a GRU");
  STRAND_CHECK(
      in.dropout_masks.empty() || static_cast<int64_t>(in.dropout_masks.size()) == s.num_layers - 1,
      "RNN expects 0 or {} dropout masks (num_layers-1), got {}", s.num_layers - 1,
      in.dropout_masks.size());
  for (const T* mask : in.dropout_masks) STRAND_CHECK(mask != nullptr, "RNN dropout mask is null");
}

template <typename T>
void check_rnn_grad_args(const RnnShape& s, const RnnGradOutputs<T>& dout,
                         const RnnGradInputs<T>& din) {
  STRAND_CHECK(dout.d_output != nullptr, "RNN d_output is null");
  STRAND_CHECK(s.mode == RnnMode::kLstm || (dout.d_c_n == nullptr && din.d_c0 == nullptr),
               "RNN d_c_n/d_c0 given for a GRU");
  STRAND_CHECK(
      din.weights.empty() || static_cast<int64_t>(din.weights.size()) == s.num_layers * s.dirs(),
      "RNN expects 0 or {} weight-gradient sets (layers*dirs), got {}", s.num_layers * s.dirs(),
      din.weights.size());
  for (const auto& g : din.weights) {
    STRAND_CHECK(s.bias || (g.bias_ih == nullptr && g.bias_hh == nullptr),
                 "RNN bias gradients given but shape.bias is false");
  }
}

#define INSTANTIATE(T)                                                         \
  template void check_rnn_inputs(const RnnShape&, const RnnInputs<T>&);        \
  template void check_rnn_grad_args(const RnnShape&, const RnnGradOutputs<T>&, \
                                    const RnnGradInputs<T>&);
STRAND_FLOATING_TYPES(INSTANTIATE)
#undef INSTANTIATE

}  // namespace detail
}  // namespace strand::kernels
