// Tensor: a typed, strided view of reference-counted storage on a device, with the autograd
// fields (requires_grad, grad, the node that produced it). Copying a Tensor copies a handle.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "runtime/device.h"
#include "runtime/storage.h"

namespace strand::runtime {

using Shape = std::vector<int64_t>;
constexpr int kMaxTensorDims = 8;

class Node;
class Tensor;
class Generator;

struct TensorOptions {
  DType dtype = DType::kF32;
  Device device = Device::cpu();
  bool requires_grad = false;

  TensorOptions with_requires_grad(bool r) const {
    auto o = *this;
    o.requires_grad = r;
    return o;
  }
};

// Called with a leaf's accumulated gradient each time backward adds to it.
using GradHook = std::function<void(const Tensor& grad)>;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape, strides;
  DType dtype = DType::kF32;

  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<Node> grad_fn;     // null for leaves
  uint32_t output_nr = 0;            // which output of grad_fn this is
  std::weak_ptr<Node> accumulator;   // leaves: the node that accumulates into grad
  std::vector<GradHook> grad_hooks;  // leaves: run after each accumulation
};

class Tensor {
 public:
  Tensor() = default;  // undefined: no storage; means "zero" where a gradient is expected
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const;
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  bool is_cuda() const { return device().is_cuda(); }
  bool is_contiguous() const;
  int64_t offset() const { return impl().offset; }
  size_t element_size() const { return dtype_size(dtype()); }
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }

  // Pointer to the first element (device memory for CUDA tensors). data<T>() checks the dtype.
  void* raw_data() const;
  template <typename T>
  T* data() const {
    check_dtype(dtype_of<T>, "data<T>()");
    return static_cast<T*>(raw_data());
  }

  // Views: share storage, no copy. Autograd flows through them.
  Tensor reshape(const Shape& shape) const;  // view when possible, else a contiguous copy
  Tensor view(const Shape& shape) const;     // must be viewable; -1 infers one size
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;  // slice of one, dimension removed
  Tensor expand(const Shape& shape) const;          // broadcast size-1 dims (stride 0)
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start = 0, int64_t end = -1) const;

  Tensor contiguous() const;  // itself when already contiguous
  Tensor clone() const;       // always a new contiguous copy
  Tensor to(const Device& device, bool non_blocking = false) const;
  Tensor to(DType dtype) const;
  Tensor cpu() const { return to(Device::cpu()); }
  // Copies another tensor's values into this one (same shape; dtype and device converted).
  void copy_(const Tensor& src);
  void fill_(double value);
  void zero_() { fill_(0.0); }

  // Autograd.
  bool requires_grad() const { return defined() && impl().requires_grad; }
  Tensor& set_requires_grad(bool requires_grad);  // leaves only, floating dtypes only
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  Tensor grad() const;
  void set_grad(const Tensor& grad);
  void zero_grad();  // drops the gradient
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  Tensor detach() const;  // same data, cut from the graph
  // Backward from this tensor: a scalar needs no gradient, anything else needs one of its shape.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  // Leaves: hook run each time backward accumulates into grad (data-parallel buckets use it).
  void register_grad_hook(GradHook hook) const;

  // Values back on the host, converted to T.
  template <typename T>
  std::vector<T> to_vector() const;
  double item() const;  // one-element tensors

  std::string to_string() const;
  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  void check_dtype(DType expected, const char* what) const;
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::string shape_str(const Shape& shape);

// Contiguous strides of a shape; element count of a shape.
Shape contiguous_strides(const Shape& shape);
int64_t shape_numel(const Shape& shape);
// Wraps a possibly negative dimension index into [0, ndim), with an error naming op and value.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

// Factories.
Tensor empty(const Shape& shape, const TensorOptions& options = {});
Tensor empty_pinned(const Shape& shape, DType dtype);  // page-locked host memory (CUDA builds)
// Enqueues a copy of contiguous page-locked host src into contiguous device dst (same bytes) on
// stream, without waiting; src's storage stays alive until the copy has read it.
void copy_host_to_device_async(const Tensor& dst, const Tensor& src, kernels::Stream stream);
Tensor zeros(const Shape& shape, const TensorOptions& options = {});
Tensor ones(const Shape& shape, const TensorOptions& options = {});
Tensor full(const Shape& shape, double value, const TensorOptions& options = {});
Tensor arange(double start, double end, double step = 1, const TensorOptions& options = {});
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor empty_like(const Tensor& t);
// From host values: values.size() must equal the shape's element count.
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape,
                   const TensorOptions& options = {.dtype = dtype_of<T>});
// Uniform in [lo, hi) and standard normal, from the Philox stream of (seed, offset 0) unless a
// generator is given (see rng.h); the same seed gives the same values on CPU and CUDA.
Tensor rand(const Shape& shape, uint64_t seed, const TensorOptions& options = {}, double lo = 0.0,
            double hi = 1.0);
Tensor randn(const Shape& shape, uint64_t seed, const TensorOptions& options = {});
class Generator;
Tensor rand(const Shape& shape, Generator& gen, const TensorOptions& options = {}, double lo = 0.0,
            double hi = 1.0);
Tensor randn(const Shape& shape, Generator& gen, const TensorOptions& options = {});

}  // namespace strand::runtime

namespace strand {
using runtime::Device;
using runtime::Shape;
using runtime::Tensor;
using runtime::TensorOptions;
}  // namespace strand
