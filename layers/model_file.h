// YAML model files: a list of layers with their parameters, sized by shape inference from the
// input length (DNA: 4 channels) and the number of outputs. Errors name the file and line and
// suggest the closest valid layer or key. See examples/models/*.yaml.
//
//   name: small-cnn                 # optional
//   layers:
//     - conv1d: {out: 64, kernel: 11, padding: same}
//     - relu
//     - maxpool1d: {kernel: 4}
//     - lstm: {hidden: 32, bidirectional: true}   # [N, C, L] becomes [N, L, C] by itself
//     - flatten
//     - linear: {out: outputs}      # "outputs": the number of outputs of the task
//
// Layers and keys (required ones first, defaults in parentheses):
//   conv1d: out, kernel, stride (1), padding (0 or "same"), dilation (1), groups (1), bias (true)
//   maxpool1d, avgpool1d: kernel, stride (kernel), padding (0)
//   batchnorm1d: eps (1e-5), momentum (0.1)   layernorm: eps   groupnorm: groups, eps
//   dropout: p (0.5)   relu, sigmoid, tanh, gelu, softplus, flatten: no keys
//   lstm, gru: hidden, layers (1), bidirectional (false), dropout (0)
//   linear: out, bias (true)
// The last layer must give [N, outputs]. Parameter names follow the layer positions, as
// PyTorch's nn.Sequential names them ("0.weight", ...); an lstm/gru after a convolution takes
// one extra position for the transpose it needs.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "layers/sequential.h"

namespace strand::layers {

// Larger model files are refused before parsing (the examples are under 2 KiB).
constexpr size_t kMaxModelFileBytes = 1 << 20;

// True for names ending in .yaml or .yml.
bool is_model_file(const std::string& name);
// The text of a model file (an error names the file when it cannot be read).
std::string read_model_file(const std::string& path);
// Builds the model the YAML text describes; `source` names it in errors (a path, or where the text
// came from, e.g. a checkpoint).
std::shared_ptr<Sequential> build_model_from_yaml(const std::string& yaml_text,
                                                  int64_t input_length, int64_t outputs,
                                                  const std::string& source);
// The layer names a model file may use.
std::vector<std::string> model_file_layers();

}  // namespace strand::layers
