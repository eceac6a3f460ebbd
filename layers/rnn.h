// LSTM and GRU layers: PyTorch's nn.LSTM / nn.GRU parameters (weight_ih_l0, weight_hh_l0_reverse,
// ...; gates i, f, g, o and r, z, n; uniform +-1/sqrt(hidden) initialisation). forward() returns
// the output sequence; run() also gives the final states and takes initial states and lengths.
#pragma once

#include <vector>

#include "layers/module.h"
#include "runtime/ops.h"

namespace strand::layers {

struct RnnConfig {
  int64_t input_size = 0, hidden_size = 0, num_layers = 1;
  bool bidirectional = false, batch_first = false, bias = true;
  double dropout = 0.0;  // between layers
  kernels::RnnAlgo algo = kernels::RnnAlgo::kAuto;
};

class Recurrent : public Module {
 public:
  Recurrent(kernels::RnnMode mode, const RnnConfig& config);
  Tensor forward(const Tensor& x) override { return run(x).output; }
  runtime::RnnResult run(const Tensor& x, const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor(),
                         const std::vector<int32_t>& lengths = {});
  const RnnConfig& config() const { return config_; }
  void set_algo(kernels::RnnAlgo algo) { config_.algo = algo; }  // the CUDA implementation

 protected:
  std::string extra_repr() const override;

 private:
  kernels::RnnMode mode_;
  RnnConfig config_;
  std::vector<Tensor> weights_;  // in kernels::rnn_parameters order
};

inline std::shared_ptr<Recurrent> LSTM(const RnnConfig& config) {
  return std::make_shared<Recurrent>(kernels::RnnMode::kLstm, config);
}
inline std::shared_ptr<Recurrent> GRU(const RnnConfig& config) {
  return std::make_shared<Recurrent>(kernels::RnnMode::kGru, config);
}

}  // namespace strand::layers
