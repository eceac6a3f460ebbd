// Saliency, input x gradient, integrated gradients and DeepLIFT (see attributions.h).
#include "interpret/attributions.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "interpret/shuffle.h"
#include "runtime/autograd.h"
#include "runtime/ops.h"

namespace strand::interpret {
namespace {

using runtime::Tensor;

// Parameters are constants to an attribution: no node computes their gradients meanwhile.
class FrozenParameters {
 public:
  explicit FrozenParameters(layers::Module& model) {
    for (Tensor& p : model.parameters()) {
      if (p.requires_grad()) p.set_requires_grad(false), frozen_.push_back(p);
    }
  }
  ~FrozenParameters() {
    for (Tensor& p : frozen_) p.set_requires_grad(true);
  }
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<Tensor> frozen_;
};

Tensor requiring_grad(const Tensor& t) {
  Tensor leaf = t.detach().contiguous().clone();
  leaf.set_requires_grad(true);
  return leaf;
}

// The model's [B, tasks] outputs (a [B] output is one task).
Tensor outputs_of(layers::Module& model, const Tensor& x) {
  Tensor y = model(x);
  if (y.dim() == 1) y = y.unsqueeze(1);
  STRAND_CHECK(y.dim() == 2 && y.size(0) == x.size(0),
               "attributions: the model's output must be [batch, tasks], got shape {}",
               runtime::shape_str(y.shape()));
  return y;
}

std::vector<double> host(const Tensor& t) {
  return t.detach().to(Device::cpu()).to(DType::kF64).contiguous().to_vector<double>();
}

// The output gradient that selects column `task` of every row.
Tensor column(const Tensor& y, int64_t task) {
  std::vector<double> g(static_cast<size_t>(y.numel()), 0.0);
  for (int64_t r = 0; r < y.size(0); ++r) g[r * y.size(1) + task] = 1.0;
  return runtime::from_vector(g, y.shape()).to(y.dtype()).to(y.device());
}

// Multipliers [B, T, 4, L] of a batch of rows, and f(x), f(reference) per row and task.
struct BatchResult {
  std::vector<double> multipliers;
  std::vector<double> output, reference_output;  // [B, T]
};

std::vector<double> select_tasks(const std::vector<double>& all, int64_t rows, int64_t columns,
                                 const std::vector<int64_t>& tasks) {
  std::vector<double> out;
  out.reserve(rows * tasks.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t t : tasks) out.push_back(all[r * columns + t]);
  }
  return out;
}

// Per task t: rows' multipliers from backward passes, into out[B, T, 4, L].
template <typename Backward>
void per_task(const Tensor& y, const std::vector<int64_t>& tasks, int64_t rows, int64_t per_row,
              std::vector<double>& out, Backward&& backward) {
  const int64_t T = static_cast<int64_t>(tasks.size());
  out.assign(static_cast<size_t>(rows * T * per_row), 0.0);
  for (int64_t t = 0; t < T; ++t) {
    const std::vector<double> m = host(backward(column(y, tasks[t]), t + 1 < T));
    for (int64_t r = 0; r < rows; ++r) {
      std::copy(m.begin() + r * per_row, m.begin() + (r + 1) * per_row,
                out.begin() + (r * T + t) * per_row);
    }
  }
}

BatchResult deeplift_batch(layers::Module& model, const Tensor& x, const Tensor& r,
                           const std::vector<int64_t>& tasks) {
  const int64_t rows = x.size(0), per_row = x.numel() / rows;
  BatchResult b;
  runtime::DeepLiftRecorder reference;
  const Tensor r_in = requiring_grad(r);
  const Tensor y_ref = outputs_of(model, r_in);
  reference.stop();
  runtime::DeepLiftRecorder actual;
  const Tensor x_in = requiring_grad(x);
  const Tensor y = outputs_of(model, x_in);
  actual.stop();
  b.output = select_tasks(host(y), rows, y.size(1), tasks);
  b.reference_output = select_tasks(host(y_ref), rows, y.size(1), tasks);
  per_task(y, tasks, rows, per_row, b.multipliers, [&](const Tensor& g, bool retain) {
    return runtime::deeplift_grad({y}, {x_in}, {g}, actual, reference, retain)[0];
  });
  return b;
}

// Gradients at x (saliency, input x gradient), against all-zero references.
BatchResult gradient_batch(layers::Module& model, const Tensor& x, const Tensor& r,
                           const std::vector<int64_t>& tasks) {
  const int64_t rows = x.size(0), per_row = x.numel() / rows;
  BatchResult b;
  const Tensor x_in = requiring_grad(x);
  const Tensor y = outputs_of(model, x_in);
  b.output = select_tasks(host(y), rows, y.size(1), tasks);
  {
    runtime::NoGradGuard no_grad;
    b.reference_output = select_tasks(host(outputs_of(model, r)), rows, y.size(1), tasks);
  }
  per_task(y, tasks, rows, per_row, b.multipliers, [&](const Tensor& g, bool retain) {
    return runtime::grad({y}, {x_in}, {g}, retain)[0];
  });
  return b;
}

// Integrated gradients: the mean gradient at steps midpoints r + (s + 1/2) / steps * (x - r).
BatchResult integrated_batch(layers::Module& model, const Tensor& x, const Tensor& r,
                             const std::vector<int64_t>& tasks, int64_t steps) {
  const int64_t rows = x.size(0), per_row = x.numel() / rows;
  const int64_t T = static_cast<int64_t>(tasks.size());
  BatchResult b;
  {
    runtime::NoGradGuard no_grad;
    const Tensor y = outputs_of(model, x), y_ref = outputs_of(model, r);
    b.output = select_tasks(host(y), rows, y.size(1), tasks);
    b.reference_output = select_tasks(host(y_ref), rows, y.size(1), tasks);
  }
  std::vector<Tensor> points;
  for (int64_t s = 0; s < steps; ++s) {
    const double alpha = (static_cast<double>(s) + 0.5) / static_cast<double>(steps);
    runtime::NoGradGuard no_grad;
    points.push_back(r + (x - r) * alpha);
  }
  const Tensor path = requiring_grad(runtime::cat(points, 0));  // [steps * rows, 4, L]
  const Tensor y = outputs_of(model, path);
  std::vector<double> all;
  per_task(y, tasks, steps * rows, per_row, all, [&](const Tensor& g, bool retain) {
    return runtime::grad({y}, {path}, {g}, retain)[0];
  });
  b.multipliers.assign(static_cast<size_t>(rows * T * per_row), 0.0);
  for (int64_t s = 0; s < steps; ++s) {
    for (size_t k = 0; k < b.multipliers.size(); ++k) {
      b.multipliers[k] += all[s * b.multipliers.size() + k] / static_cast<double>(steps);
    }
  }
  return b;
}

}  // namespace

AttributionMethod parse_attribution_method(const std::string& name) {
  if (name == "saliency") return AttributionMethod::kSaliency;
  if (name == "input-x-gradient") return AttributionMethod::kInputXGradient;
  if (name == "integrated-gradients") return AttributionMethod::kIntegratedGradients;
  if (name == "deeplift") return AttributionMethod::kDeepLift;
  STRAND_FAIL(
      "unknown attribution method '{}': expected saliency, input-x-gradient, "
      "integrated-gradients or deeplift",
      name);
}

const char* attribution_method_name(AttributionMethod method) {
  switch (method) {
    case AttributionMethod::kSaliency:
      return "saliency";
    case AttributionMethod::kInputXGradient:
      return "input-x-gradient";
    case AttributionMethod::kIntegratedGradients:
      return "integrated-gradients";
    case AttributionMethod::kDeepLift:
      return "deeplift";
  }
  return "?";
}

Baseline parse_baseline(const std::string& name) {
  if (name == "shuffle") return Baseline::kShuffle;
  if (name == "zeros") return Baseline::kZeros;
  if (name == "uniform") return Baseline::kUniform;
  STRAND_FAIL("unknown baseline '{}': expected shuffle, zeros or uniform", name);
}

double Attributions::relative_delta(int64_t i, int64_t t) const {
  const size_t k = static_cast<size_t>(i * tasks + t);
  const double scale = std::max({std::abs(output[k]), std::abs(reference_output[k]), 1.0});
  return std::abs(delta(i, t)) / scale;
}

Tensor one_hot_tensor(const std::vector<uint8_t>& codes, int64_t rows, int64_t length,
                      DType dtype) {
  STRAND_CHECK(static_cast<int64_t>(codes.size()) == rows * length,
               "one_hot_tensor: {} codes for {} rows of length {}", codes.size(), rows, length);
  std::vector<double> v(static_cast<size_t>(rows * 4 * length), 0.0);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t l = 0; l < length; ++l) {
      const uint8_t c = codes[i * length + l];
      for (int64_t ch = 0; ch < 4; ++ch) {
        v[(i * 4 + ch) * length + l] = c < 4 ? (c == ch ? 1.0 : 0.0) : 0.25;
      }
    }
  }
  return runtime::from_vector(v, {rows, 4, length}).to(dtype);
}

Attributions attribute(layers::Module& model, const Tensor& x, const Tensor& references,
                       const AttributionOptions& options,
                       const std::function<void(int64_t, int64_t)>& progress) {
  STRAND_CHECK(x.dim() == 3 && x.size(1) == 4,
               "attributions: input must be one-hot DNA [N, 4, L], got shape {}",
               runtime::shape_str(x.shape()));
  STRAND_CHECK(!model.is_training(),
               "attributions: the model is in training mode (dropout masks and batch statistics "
               "would differ between the input and its references); call eval() first");
  const int64_t N = x.size(0), L = x.size(2);
  const bool gradients = options.method == AttributionMethod::kSaliency ||
                         options.method == AttributionMethod::kInputXGradient;
  Tensor refs = references;
  if (gradients) refs = runtime::zeros({N, 1, 4, L}, {.dtype = x.dtype(), .device = x.device()});
  STRAND_CHECK(refs.defined() && refs.dim() == 4 && refs.size(0) == N && refs.size(2) == 4 &&
                   refs.size(3) == L && refs.size(1) > 0,
               "attributions: references must be [{}, K, 4, {}], got shape {}", N, L,
               refs.defined() ? runtime::shape_str(refs.shape()) : "none");
  STRAND_CHECK(options.steps > 0, "attributions: --steps must be positive, got {}", options.steps);
  STRAND_CHECK(options.batch_size > 0, "attributions: the batch size must be positive, got {}",
               options.batch_size);
  const int64_t K = refs.size(1);

  std::vector<int64_t> tasks = options.tasks;
  FrozenParameters frozen(model);
  if (tasks.empty()) {
    runtime::NoGradGuard no_grad;
    const int64_t columns = outputs_of(model, x.slice(0, 0, std::min<int64_t>(N, 1))).size(1);
    for (int64_t t = 0; t < columns; ++t) tasks.push_back(t);
  }
  const int64_t T = static_cast<int64_t>(tasks.size()), per_row = 4 * L;

  Attributions a;
  a.sequences = N, a.tasks = T, a.length = L;
  std::vector<double> hyp(static_cast<size_t>(N * T * per_row), 0.0);
  a.output.assign(static_cast<size_t>(N * T), 0.0);
  a.reference_output.assign(static_cast<size_t>(N * T), 0.0);

  // Rows are (sequence, reference) pairs; integrated gradients spends `steps` model rows on each.
  const int64_t cost =
      options.method == AttributionMethod::kIntegratedGradients ? options.steps : 1;
  const int64_t pairs_per_batch = std::max<int64_t>(1, options.batch_size / cost);
  const Tensor flat_refs = refs.reshape({N * K, 4, L});
  const std::vector<double> ref_host = host(flat_refs);
  for (int64_t begin = 0; begin < N * K; begin += pairs_per_batch) {
    const int64_t end = std::min(N * K, begin + pairs_per_batch), rows = end - begin;
    std::vector<int64_t> seq_index;
    for (int64_t p = begin; p < end; ++p) seq_index.push_back(p / K);
    const Tensor xs = runtime::index_select(x.detach(), 0,
                                            runtime::from_vector(seq_index, {rows}).to(x.device()));
    const Tensor rs = flat_refs.slice(0, begin, end).detach().contiguous();
    BatchResult b;
    switch (options.method) {
      case AttributionMethod::kDeepLift:
        b = deeplift_batch(model, xs, rs, tasks);
        break;
      case AttributionMethod::kIntegratedGradients:
        b = integrated_batch(model, xs, rs, tasks, options.steps);
        break;
      default:
        b = gradient_batch(model, xs, rs, tasks);
    }
    // Hypothetical contribution of base c at l: m[c, l] - sum_c' m[c', l] r[c', l].
    for (int64_t row = 0; row < rows; ++row) {
      const int64_t i = seq_index[row];
      const double* r = ref_host.data() + (begin + row) * per_row;
      for (int64_t t = 0; t < T; ++t) {
        const double* m = b.multipliers.data() + (row * T + t) * per_row;
        double* h = hyp.data() + (i * T + t) * per_row;
        for (int64_t l = 0; l < L; ++l) {
          double base = 0;
          for (int64_t c = 0; c < 4; ++c) base += m[c * L + l] * r[c * L + l];
          for (int64_t c = 0; c < 4; ++c) h[c * L + l] += (m[c * L + l] - base) / K;
        }
        a.output[i * T + t] = b.output[row * T + t];
        a.reference_output[i * T + t] += b.reference_output[row * T + t] / K;
      }
    }
    if (progress) progress(end, N * K);
  }
  const std::vector<double> xh = host(x);
  a.hypothetical.resize(hyp.size());
  a.attributions.resize(hyp.size());
  a.total.assign(static_cast<size_t>(N * T), 0.0);
  for (int64_t i = 0; i < N; ++i) {
    for (int64_t t = 0; t < T; ++t) {
      double total = 0;
      for (int64_t k = 0; k < per_row; ++k) {
        const size_t at = static_cast<size_t>((i * T + t) * per_row + k);
        const double contribution = hyp[at] * xh[i * per_row + k];
        a.hypothetical[at] = static_cast<float>(hyp[at]);
        a.attributions[at] = static_cast<float>(contribution);
        total += contribution;
      }
      a.total[i * T + t] = total;
    }
  }
  return a;
}

Attributions attribute_codes(layers::Module& model, const std::vector<uint8_t>& codes,
                             int64_t length, const AttributionOptions& options, int64_t first_index,
                             DType dtype, const std::function<void(int64_t, int64_t)>& progress) {
  STRAND_CHECK(length > 0 && codes.size() % length == 0,
               "attributions: {} base codes are not whole sequences of length {}", codes.size(),
               length);
  const int64_t N = static_cast<int64_t>(codes.size()) / length;
  const Tensor x = one_hot_tensor(codes, N, length, dtype);
  Tensor refs;
  const bool uses_refs = options.method == AttributionMethod::kDeepLift ||
                         options.method == AttributionMethod::kIntegratedGradients;
  if (uses_refs) {
    const bool shuffle =
        options.method == AttributionMethod::kDeepLift || options.baseline == Baseline::kShuffle;
    if (shuffle) {
      STRAND_CHECK(options.references > 0, "attributions: --references must be positive, got {}",
                   options.references);
      const auto shuffled =
          dinucleotide_shuffles(codes, N, length, options.references, options.seed, first_index);
      refs = one_hot_tensor(shuffled, N * options.references, length, dtype)
                 .reshape({N, options.references, 4, length});
    } else {
      const double fill = options.baseline == Baseline::kUniform ? 0.25 : 0.0;
      refs = runtime::full({N, 1, 4, length}, fill, {.dtype = dtype});
    }
  }
  const Device device = model.parameters().empty() ? Device::cpu() : model.parameters()[0].device();
  return attribute(model, x.to(device), refs.defined() ? refs.to(device) : refs, options, progress);
}

}  // namespace strand::interpret
