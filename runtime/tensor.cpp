// Tensor: metadata, views with their backward, copies across dtypes and devices, factories,
// and printing.
#include "runtime/tensor.h"

#include <cstring>
#include <iomanip>
#include <numeric>
#include <sstream>

#include "core/checked.h"
#include "core/error.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/index/index.h"
#include "kernels/random/random.h"
#include "runtime/autograd.h"
#include "runtime/iter.h"
#include "runtime/ops.h"
#include "runtime/per_example.h"
#include "runtime/rng.h"

#if STRAND_WITH_CUDA
#include <cuda_runtime.h>

#include "kernels/common/cuda_check.h"
#endif

namespace strand::runtime {

// ---- shapes ----------------------------------------------------------------------------------

std::string shape_str(const Shape& shape) { return format("{}", shape); }

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = s;
    s = checked_mul(s, std::max<int64_t>(shape[d], 1), "tensor strides");
  }
  return strides;
}

int64_t shape_numel(const Shape& shape) {
  // Shapes come from files (safetensors headers, YAML models): overflow is an error, not UB.
  int64_t n = 1;
  for (int64_t d : shape) {
    STRAND_CHECK(d >= 0, "tensor shape {} has a negative size", shape);
    STRAND_CHECK(!__builtin_mul_overflow(n, d, &n), "tensor shape {} has more than 2^63 elements",
                 shape);
  }
  return n;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  const int64_t wrapped = dim < 0 ? dim + ndim : dim;
  STRAND_CHECK(wrapped >= 0 && wrapped < std::max<int64_t>(ndim, 1),
               "{}: dimension {} is out of range for a tensor with {} dimension(s)", op, dim, ndim);
  return wrapped;
}

namespace {

void check_shape(const Shape& shape, const char* op) {
  STRAND_CHECK(shape.size() <= kMaxTensorDims, "{}: {} dimensions exceed the limit of {}", op,
               shape.size(), kMaxTensorDims);
  for (int64_t s : shape) STRAND_CHECK(s >= 0, "{}: negative size in shape {}", op, shape);
}

Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = base.dtype();
  return Tensor(impl);
}

// Records a view op whose backward maps the output gradient back to the input's shape.
std::shared_ptr<Node> record_view(const char* name, const Tensor& input, Tensor& out,
                                  std::function<Tensor(const Tensor& grad)> back) {
  auto node = record_node(name, {&input}, 1,
                          [back](Node&, const Grads& g) -> Grads { return {back(g[0])}; });
  if (node) node->set_deeplift_linear();  // views and copies move values, never change them
  set_outputs(node, {&out});
  return node;
}

// Strides for viewing a tensor of (shape, strides) as new_shape without copying, if possible.
std::optional<Shape> view_strides(const Shape& shape, const Shape& strides,
                                  const Shape& new_shape) {
  if (shape_numel(shape) <= 1) return contiguous_strides(new_shape);  // any layout will do
  // Walk chunks of old dimensions that are contiguous among themselves (PyTorch's algorithm).
  Shape out(new_shape.size());
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Shape infer_shape(const Shape& requested, int64_t numel, const char* op) {
  Shape shape = requested;
  int64_t infer = -1, known = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      STRAND_CHECK(infer < 0, "{}: only one dimension can be -1 in {}", op, requested);
      infer = static_cast<int64_t>(d);
    } else {
      STRAND_CHECK(shape[d] >= 0, "{}: invalid size {} in {}", op, shape[d], requested);
      known *= shape[d];
    }
  }
  if (infer >= 0) {
    STRAND_CHECK(known != 0 && numel % known == 0, "{}: cannot infer -1 in {} for {} elements", op,
                 requested, numel);
    shape[infer] = numel / known;
  }
  STRAND_CHECK(shape_numel(shape) == numel, "{}: shape {} is invalid for a tensor of {} elements",
               op, requested, numel);
  check_shape(shape, op);
  return shape;
}

// Copies src into dst (same shape, dtype and device), any strides.
void copy_same(const Tensor& dst, const Tensor& src) {
  const auto it = make_iter<2>(dst.shape(), {dst.strides(), src.strides()});
  const kernels::Context ctx = context_for(dst.device());
  auto run = [&](auto tag) {
    using U = decltype(tag);
    const U* in = static_cast<const U*>(src.raw_data());
    U* out = static_cast<U*>(dst.raw_data());
    if (dst.is_cuda()) {
      STRAND_CUDA_CALL(kernels::cuda::strided_copy<U>(ctx, it, in, out));
    } else {
      kernels::cpu::strided_copy<U>(ctx, it, in, out);
    }
  };
  switch (dst.element_size()) {
    case 1:
      run(uint8_t{});
      break;
    case 2:
      run(uint16_t{});
      break;
    case 4:
      run(uint32_t{});
      break;
    case 8:
      run(uint64_t{});
      break;
    default:
      STRAND_FAIL("unsupported element size {}", dst.element_size());
  }
}

// Contiguous src -> contiguous dst of the same dtype and size, across devices.
void copy_bytes_across(const Tensor& dst, const Tensor& src, bool non_blocking) {
  const size_t bytes = static_cast<size_t>(src.numel()) * src.element_size();
  if (bytes == 0) return;
  if (dst.device().is_cpu() && src.device().is_cpu()) {
    std::memcpy(dst.raw_data(), src.raw_data(), bytes);
    return;
  }
#if STRAND_WITH_CUDA
  if (dst.is_cuda() && src.is_cuda()) {
    const kernels::Context ctx = context_for(dst.device());
    if (dst.device() == src.device()) {
      STRAND_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), bytes,
                                        cudaMemcpyDeviceToDevice, ctx.stream));
    } else {
      // The source device's pending work must finish before the peer copy reads it.
      synchronize(src.device());
      STRAND_CUDA_CHECK(cudaMemcpyPeerAsync(dst.raw_data(), dst.device().index, src.raw_data(),
                                            src.device().index, bytes, ctx.stream));
    }
    return;
  }
  if (dst.is_cuda()) {  // host -> device, through page-locked memory
    const kernels::Context ctx = context_for(dst.device());
    if (src.storage()->pinned()) {
      STRAND_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), bytes,
                                        cudaMemcpyHostToDevice, ctx.stream));
      src.storage()->record_async_read(ctx.stream);
      if (!non_blocking) STRAND_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
      return;
    }
    const Tensor staging = empty_pinned(src.shape(), src.dtype());
    std::memcpy(staging.raw_data(), src.raw_data(), bytes);
    STRAND_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), staging.raw_data(), bytes,
                                      cudaMemcpyHostToDevice, ctx.stream));
    staging.storage()->record_async_read(ctx.stream);  // released once the copy is done
    return;
  }
  // device -> host: wait for the device's work, then copy through page-locked memory.
  const kernels::Context ctx = context_for(src.device());
  // Having waited, raise what the device's index checks found (kernels/index/index.h).
  if (dst.storage()->pinned()) {
    STRAND_CUDA_CHECK(
        cudaMemcpyAsync(dst.raw_data(), src.raw_data(), bytes, cudaMemcpyDeviceToHost, ctx.stream));
    if (!non_blocking) {
      STRAND_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
      kernels::cuda::raise_index_errors(ctx.device);
    }
    return;
  }
  const Tensor staging = empty_pinned(src.shape(), src.dtype());
  STRAND_CUDA_CHECK(cudaMemcpyAsync(staging.raw_data(), src.raw_data(), bytes,
                                    cudaMemcpyDeviceToHost, ctx.stream));
  STRAND_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  kernels::cuda::raise_index_errors(ctx.device);
  std::memcpy(dst.raw_data(), staging.raw_data(), bytes);
#else
  (void)non_blocking;
  throw_no_cuda("a copy between " + src.device().str() + " and " + dst.device().str());
#endif
}

// A contiguous tensor holding src's values converted to dtype (same device).
Tensor cast_values(const Tensor& src, DType dtype) {
  const Tensor in = src.contiguous();
  Tensor out = empty(in.shape(), {.dtype = dtype, .device = in.device()});
  const kernels::Context ctx = context_for(in.device());
  if (in.is_cuda()) {
    STRAND_CUDA_CALL(
        kernels::cuda::cast(ctx, in.numel(), in.dtype(), in.raw_data(), dtype, out.raw_data()));
  } else {
    kernels::cpu::cast(ctx, in.numel(), in.dtype(), in.raw_data(), dtype, out.raw_data());
  }
  return out;
}

}  // namespace

// ---- Tensor basics ---------------------------------------------------------------------------

TensorImpl& Tensor::impl() const {
  STRAND_CHECK(impl_ != nullptr, "operation on an undefined tensor");
  return *impl_;
}

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }

int64_t Tensor::numel() const { return shape_numel(shape()); }

bool Tensor::is_contiguous() const {
  if (numel() == 0) return true;
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (shape()[d] == 1) continue;
    if (strides()[d] != expected) return false;
    expected *= shape()[d];
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl().storage->data()) + impl().offset * element_size();
}

void Tensor::check_dtype(DType expected, const char* what) const {
  STRAND_CHECK(dtype() == expected, "{}: tensor has dtype {}, not {}", what, dtype(), expected);
}

// ---- views -----------------------------------------------------------------------------------

Tensor Tensor::view(const Shape& requested) const {
  const Shape shape = infer_shape(requested, numel(), "view");
  const auto strides = view_strides(this->shape(), this->strides(), shape);
  STRAND_CHECK(strides.has_value(),
               "view: a tensor of shape {} and strides {} cannot be viewed as {} without a copy; "
               "use reshape",
               this->shape(), this->strides(), shape);
  Tensor out = make_view(*this, shape, *strides, offset());
  const Shape in_shape = this->shape();
  const auto node =
      record_view("view", *this, out, [in_shape](const Tensor& g) { return g.reshape(in_shape); });
  // DP-SGD looks through a view to the parameter it reshapes (a norm's per-channel weight).
  if (node) node->set_per_example(per_example_view());
  return out;
}

Tensor Tensor::reshape(const Shape& requested) const {
  const Shape shape = infer_shape(requested, numel(), "reshape");
  if (view_strides(this->shape(), this->strides(), shape)) return view(shape);
  return contiguous().view(shape);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  STRAND_CHECK(static_cast<int64_t>(dims.size()) == dim(),
               "permute: {} dimensions given for a tensor with {}", dims.size(), dim());
  Shape shape(dims.size()), strides(dims.size());
  std::vector<int64_t> inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = wrap_dim(dims[i], dim(), "permute");
    STRAND_CHECK(inverse[d] < 0, "permute: dimension {} repeated in {}", d, dims);
    inverse[d] = static_cast<int64_t>(i);
    shape[i] = this->shape()[d];
    strides[i] = this->strides()[d];
  }
  Tensor out = make_view(*this, shape, strides, offset());
  record_view("permute", *this, out, [inverse](const Tensor& g) { return g.permute(inverse); });
  return out;
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  std::vector<int64_t> dims(dim());
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[wrap_dim(d0, dim(), "transpose")], dims[wrap_dim(d1, dim(), "transpose")]);
  return permute(dims);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  d = wrap_dim(d, dim(), "slice");
  const int64_t n = shape()[d];
  STRAND_CHECK(step > 0, "slice: step must be positive, got {}", step);
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape shape = this->shape(), strides = this->strides();
  shape[d] = (end - start + step - 1) / step;
  strides[d] *= step;
  Tensor out = make_view(*this, shape, strides, offset() + start * this->strides()[d]);
  const Shape in_shape = this->shape();
  record_view("slice", *this, out, [in_shape, d, start, end, step](const Tensor& g) {
    Tensor full = zeros(in_shape, {.dtype = g.dtype(), .device = g.device()});
    full.slice(d, start, end, step).copy_(g);
    return full;
  });
  return out;
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = wrap_dim(d, dim(), "select");
  const int64_t n = shape()[d];
  STRAND_CHECK(index >= -n && index < n,
               "select: index {} out of range for dimension {} of size {}", index, d, n);
  if (index < 0) index += n;
  return slice(d, index, index + 1).squeeze(d);
}

Tensor Tensor::expand(const Shape& target) const {
  STRAND_CHECK(static_cast<int64_t>(target.size()) >= dim(),
               "expand: target {} has fewer dimensions than the tensor's shape {}", target,
               shape());
  const size_t lead = target.size() - dim();
  Shape shape(target.size()), strides(target.size(), 0);
  for (size_t d = 0; d < target.size(); ++d) {
    if (d < lead) {
      STRAND_CHECK(target[d] >= 0, "expand: invalid size {} in {}", target[d], target);
      shape[d] = target[d];
      continue;
    }
    const int64_t have = this->shape()[d - lead];
    const int64_t want = target[d] == -1 ? have : target[d];
    STRAND_CHECK(have == want || have == 1, "expand: cannot expand shape {} to {}", this->shape(),
                 target);
    shape[d] = want;
    strides[d] = have == want ? this->strides()[d - lead] : 0;
  }
  Tensor out = make_view(*this, shape, strides, offset());
  const Shape in_shape = this->shape();
  record_view("expand", *this, out, [in_shape](const Tensor& g) { return sum_to(g, in_shape); });
  return out;
}

Tensor Tensor::squeeze(int64_t d) const {
  d = wrap_dim(d, dim(), "squeeze");
  if (shape()[d] != 1) return *this;
  Shape shape = this->shape(), strides = this->strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  Tensor out = make_view(*this, shape, strides, offset());
  const Shape in_shape = this->shape();
  record_view("squeeze", *this, out, [in_shape](const Tensor& g) { return g.reshape(in_shape); });
  return out;
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape shape = this->shape(), strides = this->strides();
  const int64_t stride = d < dim() ? strides[d] * shape[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  Tensor out = make_view(*this, shape, strides, offset());
  const Shape in_shape = this->shape();
  record_view("unsqueeze", *this, out, [in_shape](const Tensor& g) { return g.reshape(in_shape); });
  return out;
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
  if (dim() == 0) return reshape({1});
  start = wrap_dim(start, dim(), "flatten");
  end = wrap_dim(end, dim(), "flatten");
  STRAND_CHECK(start <= end, "flatten: start {} is after end {}", start, end);
  Shape shape(this->shape().begin(), this->shape().begin() + start);
  int64_t merged = 1;
  for (int64_t d = start; d <= end; ++d) merged *= this->shape()[d];
  shape.push_back(merged);
  shape.insert(shape.end(), this->shape().begin() + end + 1, this->shape().end());
  return reshape(shape);
}

// ---- copies ----------------------------------------------------------------------------------

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), {.dtype = dtype(), .device = device()});
  copy_same(out, *this);
  record_view("clone", *this, out, [](const Tensor& g) { return g; });
  return out;
}

Tensor Tensor::to(const Device& target, bool non_blocking) const {
  if (device() == target) return *this;
  check_device(target);
  const Tensor src = contiguous();
  Tensor out = empty(shape(), {.dtype = dtype(), .device = target});
  copy_bytes_across(out, src.detach(), non_blocking);
  const Device source = device();
  record_view("to_device", *this, out, [source](const Tensor& g) { return g.to(source); });
  return out;
}

Tensor Tensor::to(DType target) const {
  if (dtype() == target) return *this;
  Tensor out = cast_values(detach(), target);
  if (is_floating(target) && is_floating(dtype())) {
    const DType source = dtype();
    record_view("to_dtype", *this, out, [source](const Tensor& g) { return g.to(source); });
  }
  return out;
}

void Tensor::copy_(const Tensor& src) {
  STRAND_CHECK(src.shape() == shape(), "copy_: source shape {} does not match destination shape {}",
               src.shape(), shape());
  Tensor values = src.detach();
  if (values.dtype() != dtype()) values = cast_values(values, dtype());
  if (!(values.device() == device())) values = values.to(device());
  copy_same(*this, values);
}

void Tensor::fill_(double value) {
  if (is_contiguous()) {
    const kernels::Context ctx = context_for(device());
    if (is_cuda()) {
      STRAND_CUDA_CALL(kernels::cuda::fill(ctx, numel(), dtype(), raw_data(), value));
    } else {
      kernels::cpu::fill(ctx, numel(), dtype(), raw_data(), value);
    }
    return;
  }
  copy_(full(shape(), value, {.dtype = dtype(), .device = device()}));
}

// ---- autograd fields -------------------------------------------------------------------------

Tensor& Tensor::set_requires_grad(bool requires_grad) {
  STRAND_CHECK(is_leaf(),
               "set_requires_grad: only leaf tensors can change requires_grad (this one was "
               "computed by '{}'); use detach() first",
               grad_fn()->name());
  STRAND_CHECK(!requires_grad || is_floating(dtype()),
               "set_requires_grad: only floating tensors can require grad, this one is {}",
               dtype());
  impl().requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }

void Tensor::set_grad(const Tensor& grad) {
  STRAND_CHECK(!grad.defined() || grad.shape() == shape(),
               "set_grad: gradient shape {} does not match the tensor's shape {}",
               grad.defined() ? grad.shape() : Shape{}, shape());
  impl().grad = grad.defined() ? grad.impl_ptr() : nullptr;
}

void Tensor::zero_grad() { impl().grad = nullptr; }

Tensor Tensor::detach() const { return make_view(*this, shape(), strides(), offset()); }

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  runtime::backward({*this}, {grad}, retain_graph);
}

void Tensor::register_grad_hook(GradHook hook) const {
  STRAND_CHECK(is_leaf() && requires_grad(),
               "register_grad_hook: only leaf tensors that require grad accumulate gradients");
  impl().grad_hooks.push_back(std::move(hook));
}

// ---- values ----------------------------------------------------------------------------------

template <typename T>
std::vector<T> Tensor::to_vector() const {
  const Tensor host = cpu().to(dtype_of<T>).contiguous();
  std::vector<T> out(static_cast<size_t>(host.numel()));
  if (!out.empty()) std::memcpy(out.data(), host.raw_data(), out.size() * sizeof(T));
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<BFloat16> Tensor::to_vector<BFloat16>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

double Tensor::item() const {
  STRAND_CHECK(numel() == 1, "item: tensor of shape {} has {} elements, not 1", shape(), numel());
  return to_vector<double>()[0];
}

// ---- printing --------------------------------------------------------------------------------

namespace {

void print_values(std::ostream& os, const std::vector<double>& v, const Shape& shape, size_t dim,
                  int64_t base, bool is_int) {
  constexpr int64_t kEdge = 3;  // values shown at each end of a long dimension
  if (shape.empty()) {
    os << v[0];
    return;
  }
  const int64_t n = shape[dim];
  const int64_t inner = shape_numel(Shape(shape.begin() + dim + 1, shape.end()));
  os << '[';
  for (int64_t i = 0; i < n; ++i) {
    if (n > 2 * kEdge && i == kEdge) {
      os << "..., ";
      i = n - kEdge;
    }
    if (dim + 1 == shape.size()) {
      const double x = v[base + i];
      if (is_int) {
        os << static_cast<int64_t>(x);
      } else {
        os << std::setprecision(4) << std::fixed << x;
      }
    } else {
      print_values(os, v, shape, dim + 1, base + i * inner, is_int);
    }
    if (i + 1 < n) os << (dim + 1 == shape.size() ? ", " : ",\n ");
  }
  os << ']';
}

}  // namespace

std::string Tensor::to_string() const {
  if (!defined()) return "tensor(undefined)";
  std::ostringstream os;
  os << "tensor(";
  const std::vector<double> values = to_vector<double>();
  print_values(os, values, shape(), 0, 0, !is_floating(dtype()));
  os << ", shape=" << shape_str(shape()) << ", dtype=" << dtype() << ", device=" << device();
  if (requires_grad()) os << ", requires_grad";
  os << ')';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

// ---- factories -------------------------------------------------------------------------------

namespace {

size_t tensor_bytes(const Shape& shape, DType dtype) {
  int64_t bytes = 0;
  STRAND_CHECK(!__builtin_mul_overflow(shape_numel(shape), dtype_size(dtype), &bytes),
               "a tensor of shape {} needs more than 2^63 bytes", shape);
  return static_cast<size_t>(bytes);
}

}  // namespace

Tensor empty(const Shape& shape, const TensorOptions& options) {
  check_shape(shape, "empty");
  check_device(options.device);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::allocate(tensor_bytes(shape, options.dtype), options.device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = options.dtype;
  Tensor t(impl);
  if (options.requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor empty_pinned(const Shape& shape, DType dtype) {
  check_shape(shape, "empty_pinned");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage =
      Storage::allocate(tensor_bytes(shape, dtype), Device::cpu(), /*pinned=*/built_with_cuda());
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(impl);
}

void copy_host_to_device_async(const Tensor& dst, const Tensor& src, kernels::Stream stream) {
  const size_t bytes = static_cast<size_t>(src.numel()) * src.element_size();
  STRAND_CHECK(dst.is_cuda() && src.device().is_cpu() && src.storage()->pinned(),
               "copy_host_to_device_async: needs pinned host src and CUDA dst, got {} -> {}",
               src.device().str(), dst.device().str());
  STRAND_CHECK(dst.numel() * dst.element_size() == src.numel() * src.element_size(),
               "copy_host_to_device_async: {} bytes into {}", bytes,
               dst.numel() * dst.element_size());
  if (bytes == 0) return;
#if STRAND_WITH_CUDA
  STRAND_CUDA_CHECK(
      cudaMemcpyAsync(dst.raw_data(), src.raw_data(), bytes, cudaMemcpyHostToDevice, stream));
  src.storage()->record_async_read(stream);
#else
  (void)stream;
  throw_no_cuda("a host-to-device copy");
#endif
}

Tensor full(const Shape& shape, double value, const TensorOptions& options) {
  Tensor t = empty(shape, options.with_requires_grad(false));
  t.fill_(value);
  if (options.requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor zeros(const Shape& shape, const TensorOptions& options) { return full(shape, 0.0, options); }
Tensor ones(const Shape& shape, const TensorOptions& options) { return full(shape, 1.0, options); }

Tensor arange(double start, double end, double step, const TensorOptions& options) {
  STRAND_CHECK(step != 0, "arange: step must be non-zero");
  const double count = std::ceil((end - start) / step);
  const int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
  Tensor t = empty({n}, options.with_requires_grad(false));
  const kernels::Context ctx = context_for(t.device());
  if (t.is_cuda()) {
    STRAND_CUDA_CALL(kernels::cuda::arange(ctx, n, t.dtype(), t.raw_data(), start, step));
  } else {
    kernels::cpu::arange(ctx, n, t.dtype(), t.raw_data(), start, step);
  }
  if (options.requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor zeros_like(const Tensor& t) {
  return zeros(t.shape(), {.dtype = t.dtype(), .device = t.device()});
}
Tensor ones_like(const Tensor& t) {
  return ones(t.shape(), {.dtype = t.dtype(), .device = t.device()});
}
Tensor empty_like(const Tensor& t) {
  return empty(t.shape(), {.dtype = t.dtype(), .device = t.device()});
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, const TensorOptions& options) {
  check_shape(shape, "from_vector");
  STRAND_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
               "from_vector: {} values for shape {} ({} elements)", values.size(), shape,
               shape_numel(shape));
  Tensor host = empty(shape, {.dtype = dtype_of<T>});
  if (!values.empty()) std::memcpy(host.raw_data(), values.data(), values.size() * sizeof(T));
  Tensor out = host.to(options.dtype).to(options.device);
  if (options.requires_grad) out.set_requires_grad(true);
  return out;
}
template Tensor from_vector<float>(const std::vector<float>&, const Shape&, const TensorOptions&);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&, const TensorOptions&);
template Tensor from_vector<BFloat16>(const std::vector<BFloat16>&, const Shape&,
                                      const TensorOptions&);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Shape&,
                                     const TensorOptions&);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&,
                                     const TensorOptions&);
template Tensor from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&,
                                     const TensorOptions&);

Tensor rand(const Shape& shape, Generator& gen, const TensorOptions& options, double lo,
            double hi) {
  Tensor t = empty(shape, options.with_requires_grad(false));
  const kernels::PhiloxState state = gen.next(static_cast<uint64_t>(t.numel()));
  const kernels::Context ctx = context_for(t.device());
  dispatch_floating(t.dtype(), "rand", [&](auto tag) {
    using T = decltype(tag);
    if (t.is_cuda()) {
      STRAND_CUDA_CALL(kernels::cuda::uniform<T>(ctx, t.numel(), state, lo, hi, t.data<T>()));
    } else {
      kernels::cpu::uniform<T>(ctx, t.numel(), state, lo, hi, t.data<T>());
    }
  });
  if (options.requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor randn(const Shape& shape, Generator& gen, const TensorOptions& options) {
  Tensor t = empty(shape, options.with_requires_grad(false));
  const kernels::PhiloxState state = gen.next(static_cast<uint64_t>(t.numel()));
  const kernels::Context ctx = context_for(t.device());
  dispatch_floating(t.dtype(), "randn", [&](auto tag) {
    using T = decltype(tag);
    if (t.is_cuda()) {
      STRAND_CUDA_CALL(kernels::cuda::normal<T>(ctx, t.numel(), state, 0.0, 1.0, t.data<T>()));
    } else {
      kernels::cpu::normal<T>(ctx, t.numel(), state, 0.0, 1.0, t.data<T>());
    }
  });
  if (options.requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor rand(const Shape& shape, uint64_t seed, const TensorOptions& options, double lo, double hi) {
  Generator gen(seed);
  return rand(shape, gen, options, lo, hi);
}

Tensor randn(const Shape& shape, uint64_t seed, const TensorOptions& options) {
  Generator gen(seed);
  return randn(shape, gen, options);
}

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }

}  // namespace strand::runtime
