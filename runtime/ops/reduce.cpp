// Reductions (sum, mean, max, argmax) and softmax / log-softmax, with their backward formulas.
#include "kernels/reduce/reduce.h"

#include <algorithm>

#include "kernels/index/index.h"
#include "kernels/reduce/softmax.h"
#include "runtime/autograd.h"
#include "runtime/dispatch.h"
#include "runtime/ops.h"

namespace strand::runtime {
namespace {

std::vector<int64_t> normalize_dims(const std::vector<int64_t>& dims, int64_t ndim,
                                    const char* op) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(wrap_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  STRAND_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(),
               "{}: dimension repeated in {}", op, dims);
  return out;
}

// Sum over a run of adjacent dimensions, keepdim, no autograd.
Tensor sum_range(const Tensor& x_in, int64_t first, int64_t last) {
  const Tensor x = x_in.contiguous();
  Shape shape = x.shape();
  const DimSplit s = split_at(shape, first, last);
  for (int64_t d = first; d <= last; ++d) shape[d] = 1;
  Tensor out = empty(shape, {.dtype = x.dtype(), .device = x.device()});
  const kernels::Context ctx = context_for(x.device());
  dispatch_floating(x.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    STRAND_DISPATCH_DEVICE(x.device(), reduce<T>, ctx, kernels::ReduceOp::kSum, s.outer, s.dim,
                           s.inner, x.data<T>(), out.data<T>(), nullptr);
  });
  return out;
}

Tensor sum_values(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  if (x.dim() == 0) return x.clone();
  // Reduce runs of adjacent dimensions in one kernel call each, last run first.
  Tensor out = x.detach();
  size_t i = dims.size();
  while (i > 0) {
    size_t j = i - 1;
    while (j > 0 && dims[j - 1] == dims[j] - 1) --j;
    out = sum_range(out, dims[j], dims[i - 1]);
    i = j;
  }
  if (!keepdim) {
    Shape shape;
    for (int64_t d = 0; d < x.dim(); ++d) {
      if (!std::binary_search(dims.begin(), dims.end(), d)) shape.push_back(x.shape()[d]);
    }
    out = out.reshape(shape);
  }
  return out;
}

Shape keepdim_shape(const Shape& shape, const std::vector<int64_t>& dims) {
  Shape out = shape;
  for (int64_t d : dims) out[d] = 1;
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims_in, bool keepdim) {
  check_floating_same("sum", {&x});
  const std::vector<int64_t> dims = normalize_dims(dims_in, x.dim(), "sum");
  Tensor out = sum_values(x, dims, keepdim);
  const Shape in_shape = x.shape(), kept = keepdim_shape(x.shape(), dims);
  auto node = record_node("sum", {&x}, 1, [in_shape, kept](Node&, const Grads& g) -> Grads {
    return {g[0].reshape(kept).expand(in_shape).contiguous()};
  });
  if (node) node->set_deeplift_linear();
  set_outputs(node, {&out});
  return out;
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims_in, bool keepdim) {
  const std::vector<int64_t> dims = normalize_dims(dims_in, x.dim(), "mean");
  int64_t count = 1;
  for (int64_t d : dims) count *= x.shape()[d];
  STRAND_CHECK(count > 0, "mean: reducing over zero elements (shape {})", x.shape());
  return mul(sum(x, dims, keepdim), 1.0 / static_cast<double>(count));
}

MaxResult max(const Tensor& x_in, int64_t dim, bool keepdim) {
  check_floating_same("max", {&x_in});
  dim = wrap_dim(dim, x_in.dim(), "max");
  STRAND_CHECK(x_in.dim() > 0 && x_in.shape()[dim] > 0, "max: dimension {} of shape {} is empty",
               dim, x_in.shape());
  const Tensor x = x_in.contiguous();
  const DimSplit s = split_at(x.shape(), dim, dim);
  Shape kept = x.shape();
  kept[dim] = 1;
  Tensor values = empty(kept, {.dtype = x.dtype(), .device = x.device()});
  Tensor indices = empty(kept, {.dtype = DType::kI64, .device = x.device()});
  const kernels::Context ctx = context_for(x.device());
  dispatch_floating(x.dtype(), "max", [&](auto tag) {
    using T = decltype(tag);
    STRAND_DISPATCH_DEVICE(x.device(), reduce<T>, ctx, kernels::ReduceOp::kMax, s.outer, s.dim,
                           s.inner, x.data<T>(), values.data<T>(), indices.data<int64_t>());
  });
  const Shape in_shape = x.shape();
  auto node =
      record_node("max", {&x_in}, 1, [in_shape, dim, kept](Node& n, const Grads& g) -> Grads {
        const Tensor& idx = n.saved("indices");
        const Tensor grad = g[0].reshape(kept).contiguous();
        Tensor dx = zeros(in_shape, {.dtype = grad.dtype(), .device = grad.device()});
        const DimSplit s = split_at(in_shape, dim, dim);
        const kernels::Context ctx = context_for(grad.device());
        dispatch_floating(grad.dtype(), "max_backward", [&](auto tag) {
          using T = decltype(tag);
          STRAND_DISPATCH_DEVICE(grad.device(), scatter_add<T>, ctx, s.outer, s.dim, s.inner,
                                 grad.data<T>(), 1, idx.data<int64_t>(), dx.data<T>());
        });
        return {dx};
      });
  if (node) node->save("indices", indices);
  set_outputs(node, {&values});
  if (!keepdim) {
    values = values.squeeze(dim);
    indices = indices.squeeze(dim);
  }
  return {values, indices};
}

Tensor max(const Tensor& x) {
  STRAND_CHECK(x.numel() > 0, "max: tensor is empty");
  return max(x.reshape({-1}), 0).values;
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  NoGradGuard no_grad;
  return max(x, dim, keepdim).indices;
}

namespace {

Tensor softmax_impl(const Tensor& x_in, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  check_floating_same(name, {&x_in});
  dim = wrap_dim(dim, x_in.dim(), name);
  const Tensor x = x_in.contiguous();
  const DimSplit s = split_at(x.shape(), dim, dim);
  Tensor y = empty_like(x);
  const kernels::Context ctx = context_for(x.device());
  dispatch_floating(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    STRAND_DISPATCH_DEVICE(x.device(), softmax<T>, ctx, log, s.outer, s.dim, s.inner, x.data<T>(),
                           y.data<T>());
  });
  auto node = record_node(name, {&x_in}, 1, [s, log, name](Node& n, const Grads& g) -> Grads {
    const Tensor& y = n.saved("output");
    const Tensor dy = g[0].contiguous();
    Tensor dx = empty_like(dy);
    const kernels::Context ctx = context_for(dy.device());
    dispatch_floating(dy.dtype(), name, [&](auto tag) {
      using T = decltype(tag);
      STRAND_DISPATCH_DEVICE(dy.device(), softmax_backward<T>, ctx, log, s.outer, s.dim, s.inner,
                             y.data<T>(), dy.data<T>(), dx.data<T>());
    });
    return {dx};
  });
  if (node) node->save("output", y);
  set_outputs(node, {&y});
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace strand::runtime
