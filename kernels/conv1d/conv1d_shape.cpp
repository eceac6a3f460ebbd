// Conv1dShape validation and derived sizes, shared by every conv1d kernel (CPU and CUDA).
#include <limits>

#include "core/checked.h"
#include "core/error.h"
#include "kernels/conv1d/conv1d.h"

namespace strand::kernels {

void Conv1dShape::validate() const {
  STRAND_CHECK(batch > 0, "conv1d: batch must be positive, got {}", batch);
  STRAND_CHECK(in_channels > 0, "conv1d: in_channels must be positive, got {}", in_channels);
  STRAND_CHECK(out_channels > 0, "conv1d: out_channels must be positive, got {}", out_channels);
  STRAND_CHECK(in_length > 0, "conv1d: in_length must be positive, got {}", in_length);
  STRAND_CHECK(kernel_size > 0, "conv1d: kernel_size must be positive, got {}", kernel_size);
  STRAND_CHECK(stride > 0, "conv1d: stride must be positive, got {}", stride);
  STRAND_CHECK(dilation > 0, "conv1d: dilation must be positive, got {}", dilation);
  STRAND_CHECK(groups > 0, "conv1d: groups must be positive, got {}", groups);
  STRAND_CHECK(pad_left >= 0 && pad_right >= 0,
               "conv1d: padding must be non-negative, got left {} right {}", pad_left, pad_right);
  STRAND_CHECK(in_channels % groups == 0, "conv1d: in_channels {} is not divisible by groups {}",
               in_channels, groups);
  STRAND_CHECK(out_channels % groups == 0, "conv1d: out_channels {} is not divisible by groups {}",
               out_channels, groups);
  const int64_t span = checked_add(checked_mul(dilation, kernel_size - 1, "conv1d kernel span"), 1,
                                   "conv1d kernel span");
  const int64_t padded = checked_add(checked_add(in_length, pad_left, "conv1d padded input"),
                                     pad_right, "conv1d padded input");
  STRAND_CHECK(span <= padded,
               "conv1d: kernel longer than padded input: kernel_size {} with dilation {} spans {} "
               "positions but the padded input has {} (in_length {} + padding {} + {})",
               kernel_size, dilation, span, padded, in_length, pad_left, pad_right);
  // The CUDA kernels index with 32-bit integers inside a tensor; keep every product in range.
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  const int64_t l_out = (padded - span) / stride + 1;
  auto product = [](std::initializer_list<int64_t> factors) {
    int64_t p = 1;
    for (int64_t f : factors)
      if (__builtin_mul_overflow(p, f, &p)) return std::numeric_limits<int64_t>::max();
    return p;
  };
  STRAND_CHECK(product({batch, in_channels, in_length}) <= kMax &&
                   product({batch, out_channels, l_out}) <= kMax &&
                   product({out_channels, in_channels / groups, kernel_size}) <= kMax &&
                   product({batch, in_length, stride}) <= kMax,
               "conv1d: tensor too large for 32-bit indexing: {}", to_string());
}

int64_t Conv1dShape::out_length() const {
  validate();
  const int64_t span = dilation * (kernel_size - 1) + 1;
  return (in_length + pad_left + pad_right - span) / stride + 1;
}

double Conv1dShape::flops() const {
  return 2.0 * static_cast<double>(batch) * static_cast<double>(out_channels) *
         static_cast<double>(out_length()) * static_cast<double>(in_per_group()) *
         static_cast<double>(kernel_size);
}

std::string Conv1dShape::to_string() const {
  return format(
      "Conv1dShape{N={}, C_in={}, C_out={}, L_in={}, K={}, stride={}, pad={}+{}, "
      "dilation={}, groups={}}",
      batch, in_channels, out_channels, in_length, kernel_size, stride, pad_left, pad_right,
      dilation, groups);
}

Conv1dShape with_same_padding(Conv1dShape shape) {
  const int64_t total = shape.dilation * (shape.kernel_size - 1);
  shape.pad_left = total / 2;
  shape.pad_right = total - total / 2;
  return shape;
}

const char* to_string(Conv1dPrecision p) {
  switch (p) {
    case Conv1dPrecision::kFp32:
      return "fp32";
    case Conv1dPrecision::kTf32:
      return "tf32";
    case Conv1dPrecision::kBf16:
      return "bf16";
  }
  return "?";
}

const char* to_string(Conv1dGpuAlgo a) {
  switch (a) {
    case Conv1dGpuAlgo::kAuto:
      return "auto";
    case Conv1dGpuAlgo::kCustom:
      return "custom";
    case Conv1dGpuAlgo::kCudnn:
      return "cudnn";
  }
  return "?";
}

const char* to_string(Conv1dPass p) {
  switch (p) {
    case Conv1dPass::kForward:
      return "forward";
    case Conv1dPass::kBackwardData:
      return "backward_data";
    case Conv1dPass::kBackwardWeight:
      return "backward_weight";
  }
  return "?";
}

}  // namespace strand::kernels
