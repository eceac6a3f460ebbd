// Sequential container (see sequential.h).
#include "layers/sequential.h"

#include "core/error.h"
#include "layers/conv.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "runtime/autograd.h"
#include "runtime/cpu.h"
#include "runtime/ops.h"

namespace strand::layers {

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) : Module("Sequential") {
  for (auto& m : modules) add(std::move(m));
}

Sequential& Sequential::add(std::shared_ptr<Module> module) {
  STRAND_CHECK(module != nullptr, "Sequential: module {} is null", modules_.size());
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
  return *this;
}

namespace {

// BatchNorm1d -> ReLU -> MaxPool1d starting at modules[i], on x [N, C, L]: the pooling layer,
// else null. The three then run as one fused node (same values and gradients) in training, or as
// one inference pass (eval mode, CPU, no gradient recording).
const Pool1d* fusable_norm_relu_pool(const std::vector<std::shared_ptr<Module>>& modules, size_t i,
                                     const Tensor& x) {
  if (i + 2 >= modules.size() || x.dim() != 3) return nullptr;
  const auto* norm = dynamic_cast<const BatchNorm1d*>(modules[i].get());
  if (!norm || modules[i + 1]->type_name() != "ReLU") return nullptr;
  if (!norm->is_training() && (x.is_cuda() || runtime::grad_enabled())) return nullptr;
  const auto* pool = dynamic_cast<const Pool1d*>(modules[i + 2].get());
  return pool && pool->kind() == Pool1d::Kind::kMax ? pool : nullptr;
}

// ReLU -> MaxPool1d at modules[i] on x [N, C, L] during CPU inference (no gradient recording):
// the pooling layer, else null. They then run as one pass.
const Pool1d* fusable_relu_pool(const std::vector<std::shared_ptr<Module>>& modules, size_t i,
                                const Tensor& x) {
  if (i + 1 >= modules.size() || x.dim() != 3 || x.is_cuda() || runtime::grad_enabled())
    return nullptr;
  if (modules[i]->type_name() != "ReLU") return nullptr;
  const auto* pool = dynamic_cast<const Pool1d*>(modules[i + 1].get());
  return pool && pool->kind() == Pool1d::Kind::kMax ? pool : nullptr;
}

// Conv1d -> ReLU -> MaxPool1d (window = stride, no padding) at modules[i] on a CUDA x, float
// [N, C, L] or base codes [N, L], without gradient recording: the pooling layer, else null. They
// then run as one conv with the ReLU and pooling in its epilogue.
const Pool1d* fusable_conv_relu_pool(const std::vector<std::shared_ptr<Module>>& modules, size_t i,
                                     const Tensor& x) {
  const bool bases = x.dtype() == DType::kU8;
  if (i + 2 >= modules.size() || x.dim() != (bases ? 2 : 3) || !x.is_cuda() ||
      runtime::grad_enabled())
    return nullptr;
  const auto* conv = dynamic_cast<const Conv1d*>(modules[i].get());
  if (!conv || modules[i + 1]->type_name() != "ReLU") return nullptr;
  if (bases && (conv->config().in_channels != 4 || conv->config().groups != 1)) return nullptr;
  const auto* pool = dynamic_cast<const Pool1d*>(modules[i + 2].get());
  if (!pool || pool->kind() != Pool1d::Kind::kMax || pool->stride() != pool->kernel() ||
      pool->padding() != 0)
    return nullptr;
  return pool->kernel() <= conv->out_length(x.shape()[bases ? 1 : 2]) ? pool : nullptr;
}

}  // namespace

Tensor Sequential::forward(const Tensor& x) {
  const runtime::CpuInferenceScope inference(!is_training() && !runtime::grad_enabled());
  Tensor out = x;
  for (size_t i = 0; i < modules_.size(); ++i) {
    try {
      if (const Pool1d* pool = fusable_conv_relu_pool(modules_, i, out)) {
        out = static_cast<Conv1d&>(*modules_[i]).forward_relu_max_pool(out, pool->kernel());
        i += 2;
        continue;
      }
      if (const Pool1d* pool = fusable_norm_relu_pool(modules_, i, out)) {
        out = static_cast<BatchNorm1d&>(*modules_[i])
                  .forward_relu_max_pool(out, pool->kernel(), pool->stride(), pool->padding());
        i += 2;
        continue;
      }
      if (const Pool1d* pool = fusable_relu_pool(modules_, i, out)) {
        out = runtime::relu_max_pool1d_inference(out, pool->kernel(), pool->stride(),
                                                 pool->padding());
        i += 1;
        continue;
      }
      out = modules_[i]->forward(out);
    } catch (const Error& e) {
      // Say which layer failed: shape errors deep in a model are otherwise hard to place.
      throw Error(format("layer {} ({}): {}", i, modules_[i]->type_name(), e.message()), e.where());
    }
  }
  return out;
}

}  // namespace strand::layers
