// Concatenation, stacking, index_select and gather, with their backward formulas.
#include "kernels/index/index.h"

#include "runtime/autograd.h"
#include "runtime/dispatch.h"
#include "runtime/ops.h"

namespace strand::runtime {
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  STRAND_CHECK(!tensors.empty(), "cat: no tensors given");
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : tensors) ptrs.push_back(&t);
  check_same_device("cat", ptrs);
  const Tensor& first = tensors[0];
  dim = wrap_dim(dim, first.dim(), "cat");
  Shape shape = first.shape();
  shape[dim] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    STRAND_CHECK(t.dtype() == first.dtype(), "cat: tensor {} has dtype {}, tensor 0 has {}", i,
                 t.dtype(), first.dtype());
    STRAND_CHECK(t.dim() == first.dim(), "cat: tensor {} has {} dimensions, tensor 0 has {}", i,
                 t.dim(), first.dim());
    for (int64_t d = 0; d < t.dim(); ++d) {
      STRAND_CHECK(d == dim || t.shape()[d] == first.shape()[d],
                   "cat: tensor {} has shape {}, which differs from tensor 0's {} outside "
                   "dimension {}",
                   i, t.shape(), first.shape(), dim);
    }
    shape[dim] += t.shape()[dim];
  }
  Tensor out = empty(shape, {.dtype = first.dtype(), .device = first.device()});
  std::vector<int64_t> offsets;
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    offsets.push_back(at);
    out.slice(dim, at, at + t.shape()[dim]).copy_(t);
    at += t.shape()[dim];
  }
  offsets.push_back(at);
  auto node = record_node("cat", ptrs, 1, [dim, offsets](Node& n, const Grads& g) -> Grads {
    Grads out;
    for (size_t i = 0; i + 1 < offsets.size(); ++i) {
      out.push_back(n.needs_input_grad(i) ? g[0].slice(dim, offsets[i], offsets[i + 1]).contiguous()
                                          : Tensor());
    }
    return out;
  });
  if (node) node->set_deeplift_linear();
  set_outputs(node, {&out});
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  STRAND_CHECK(!tensors.empty(), "stack: no tensors given");
  dim = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (size_t i = 0; i < tensors.size(); ++i) {
    STRAND_CHECK(tensors[i].shape() == tensors[0].shape(),
                 "stack: tensor {} has shape {}, tensor 0 has {}", i, tensors[i].shape(),
                 tensors[0].shape());
    expanded.push_back(tensors[i].unsqueeze(dim));
  }
  return cat(expanded, dim);
}

Tensor index_select(const Tensor& x_in, int64_t dim, const Tensor& index_in) {
  check_floating_same("index_select", {&x_in});
  check_same_device("index_select", {&x_in, &index_in});
  check_dtype("index_select", "index", index_in, DType::kI64);
  STRAND_CHECK(index_in.dim() == 1, "index_select: index must be 1-D, got shape {}",
               index_in.shape());
  dim = wrap_dim(dim, x_in.dim(), "index_select");
  const Tensor x = x_in.contiguous(), index = index_in.contiguous();
  const DimSplit s = split_at(x.shape(), dim, dim);
  Shape shape = x.shape();
  shape[dim] = index.numel();
  Tensor out = empty(shape, {.dtype = x.dtype(), .device = x.device()});
  const kernels::Context ctx = context_for(x.device());
  dispatch_floating(x.dtype(), "index_select", [&](auto tag) {
    using T = decltype(tag);
    STRAND_DISPATCH_DEVICE(x.device(), index_select<T>, ctx, s.outer, s.dim, s.inner, x.data<T>(),
                           index.numel(), index.data<int64_t>(), out.data<T>());
  });
  const Shape in_shape = x.shape();
  auto node =
      record_node("index_select", {&x_in}, 1, [in_shape, s](Node& n, const Grads& g) -> Grads {
        const Tensor& index = n.saved("index");
        const Tensor grad = g[0].contiguous();
        Tensor dx = zeros(in_shape, {.dtype = grad.dtype(), .device = grad.device()});
        const kernels::Context ctx = context_for(grad.device());
        dispatch_floating(grad.dtype(), "index_select_backward", [&](auto tag) {
          using T = decltype(tag);
          STRAND_DISPATCH_DEVICE(grad.device(), index_add<T>, ctx, s.outer, s.dim, s.inner,
                                 grad.data<T>(), index.numel(), index.data<int64_t>(),
                                 dx.data<T>());
        });
        return {dx};
      });
  if (node) node->save("index", index);
  if (node) node->set_deeplift_linear();
  set_outputs(node, {&out});
  return out;
}

Tensor gather(const Tensor& x_in, int64_t dim, const Tensor& index_in) {
  check_floating_same("gather", {&x_in});
  check_same_device("gather", {&x_in, &index_in});
  check_dtype("gather", "index", index_in, DType::kI64);
  dim = wrap_dim(dim, x_in.dim(), "gather");
  STRAND_CHECK(index_in.dim() == x_in.dim(), "gather: index has {} dimensions, input has {}",
               index_in.dim(), x_in.dim());
  for (int64_t d = 0; d < x_in.dim(); ++d) {
    STRAND_CHECK(d == dim || index_in.shape()[d] == x_in.shape()[d],
                 "gather: index shape {} must match input shape {} outside dimension {}",
                 index_in.shape(), x_in.shape(), dim);
  }
  const Tensor x = x_in.contiguous(), index = index_in.contiguous();
  const DimSplit s = split_at(x.shape(), dim, dim);
  const int64_t count = index.shape()[dim];
  Tensor out = empty(index.shape(), {.dtype = x.dtype(), .device = x.device()});
  const kernels::Context ctx = context_for(x.device());
  dispatch_floating(x.dtype(), "gather", [&](auto tag) {
    using T = decltype(tag);
    STRAND_DISPATCH_DEVICE(x.device(), gather<T>, ctx, s.outer, s.dim, s.inner, x.data<T>(), count,
                           index.data<int64_t>(), out.data<T>());
  });
  const Shape in_shape = x.shape();
  auto node =
      record_node("gather", {&x_in}, 1, [in_shape, s, count](Node& n, const Grads& g) -> Grads {
        const Tensor& index = n.saved("index");
        const Tensor grad = g[0].contiguous();
        Tensor dx = zeros(in_shape, {.dtype = grad.dtype(), .device = grad.device()});
        const kernels::Context ctx = context_for(grad.device());
        dispatch_floating(grad.dtype(), "gather_backward", [&](auto tag) {
          using T = decltype(tag);
          STRAND_DISPATCH_DEVICE(grad.device(), scatter_add<T>, ctx, s.outer, s.dim, s.inner,
                                 grad.data<T>(), count, index.data<int64_t>(), dx.data<T>());
        });
        return {dx};
      });
  if (node) node->save("index", index);
  if (node) node->set_deeplift_linear();
  set_outputs(node, {&out});
  return out;
}

}  // namespace strand::runtime
