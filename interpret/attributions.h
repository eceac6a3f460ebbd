// Attributions of a model's outputs to the bases of its one-hot input (Rule 8): saliency, input x
// gradient, integrated gradients, and DeepLIFT/DeepSHAP with the rescale rule (each op's rule lives
// beside the op in runtime/ops; the engine pairs the input's and the reference's forward passes).
// Every method is written as multipliers m against references r: the hypothetical contribution of
// base b at position l is the mean over references of sum_c m[c, l] (onehot(b)[c] - r[c, l]), the
// attribution is that times the observed one-hot, and the convergence delta is the sum of the
// attributions minus (f(x) - mean f(r)).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "layers/module.h"

namespace strand::interpret {

enum class AttributionMethod { kSaliency, kInputXGradient, kIntegratedGradients, kDeepLift };
// "saliency", "input-x-gradient", "integrated-gradients", "deeplift" (else a one-line error).
AttributionMethod parse_attribution_method(const std::string& name);
const char* attribution_method_name(AttributionMethod method);

// The baseline of integrated gradients: dinucleotide shuffles of the sequence (averaged over
// `references` of them), all zeros, or 0.25 in every channel.
enum class Baseline { kShuffle, kZeros, kUniform };
Baseline parse_baseline(const std::string& name);  // "shuffle", "zeros", "uniform"

struct AttributionOptions {
  AttributionMethod method = AttributionMethod::kDeepLift;
  std::vector<int64_t> tasks;  // output columns; empty: every column
  int64_t references = 20;     // DeepLIFT; integrated gradients with the shuffle baseline
  int64_t steps = 50;          // integrated gradients
  Baseline baseline = Baseline::kShuffle;
  uint64_t seed = 1;
  int64_t batch_size =
      64;  // rows per forward pass (a row: one sequence-reference pair or path point)
};

// Results for N sequences of length L and T tasks.
struct Attributions {
  int64_t sequences = 0, tasks = 0, length = 0;
  std::vector<float> hypothetical;       // [N, T, 4, L]
  std::vector<float> attributions;       // [N, T, 4, L]: hypothetical x one-hot
  std::vector<double> output;            // [N, T]: f(x)
  std::vector<double> reference_output;  // [N, T]: mean f(reference) (the baseline's for IG;
                                         // all zeros' for the gradient methods)
  std::vector<double> total;             // [N, T]: sum of the attributions
  double delta(int64_t i, int64_t t) const {
    const size_t k = static_cast<size_t>(i * tasks + t);
    return total[k] - (output[k] - reference_output[k]);
  }
  // |delta| over max(|f(x)|, |mean f(r)|, 1): what a warning threshold compares.
  double relative_delta(int64_t i, int64_t t) const;
};

// Attributions of `model` (put in evaluation mode by the caller) for one-hot DNA x [N, 4, L]
// (float32 or float64) against references [N, K, 4, L] (DeepLIFT and integrated gradients; unused
// by the gradient methods, which take all zeros). progress(done, total) is called after each batch.
Attributions attribute(layers::Module& model, const runtime::Tensor& x,
                       const runtime::Tensor& references, const AttributionOptions& options,
                       const std::function<void(int64_t, int64_t)>& progress = {});

// The same for base codes [N, L] (data/encoding.h): one-hot input (unknown = 0.25 each) and the
// references the options ask for (dinucleotide shuffles seeded per sequence by options.seed and
// first_index + i, zeros or uniform). dtype: kF32 or kF64.
Attributions attribute_codes(layers::Module& model, const std::vector<uint8_t>& codes,
                             int64_t length, const AttributionOptions& options,
                             int64_t first_index = 0, DType dtype = DType::kF32,
                             const std::function<void(int64_t, int64_t)>& progress = {});

// One-hot [rows, 4, L] of codes [rows, L] (unknown = 0.25 in every channel).
runtime::Tensor one_hot_tensor(const std::vector<uint8_t>& codes, int64_t rows, int64_t length,
                               DType dtype = DType::kF32);

}  // namespace strand::interpret
