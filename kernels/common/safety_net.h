// The safety net for custom kernels first run on a user's GPU: on first use per (kernel, device,
// pass, shape, precision), `auto` runs the custom kernel and the library (cuDNN) on the same small
// input and compares; on a mismatch it disables the custom kernel with one warning line, for that
// key (a numeric mismatch) or for the whole kernel (non-finite output or an error). The decision
// is plain C++ over two injected runners, so CPU tests check it; each family supplies its runners
// (small random input, both algorithms forced): conv1d_safety_net.cu, rnn_safety_net.cu.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace strand::kernels {

struct SafetyComparison {
  bool custom_finite = true;     // no NaN/Inf in the custom output where the library's is finite
  double max_abs_error = 0;      // max |custom - library|
  double max_abs_reference = 0;  // max |library|
  // max_abs_error / max_abs_reference (max_abs_error itself when the reference is all zero).
  double relative_error() const;
};
SafetyComparison compare_outputs(const std::vector<float>& custom,
                                 const std::vector<float>& reference);

// One decision: which kernel, where and what it ran.
struct SafetyCase {
  std::string kernel;     // "conv1d sm90 kernel", "rnn cluster kernel", ...
  std::string pass;       // "forward", ...
  std::string shape;      // the full call's shape, e.g. Conv1dShape::to_string()
  std::string precision;  // "fp32", "tf32", "bf16"
  int device = 0;
  // Largest accepted max |custom - library| / max |library|.
  double tolerance = 1e-4;
  auto operator<=>(const SafetyCase&) const = default;
};

class SafetyNet {
 public:
  using Runner = std::function<std::vector<float>()>;
  using Warn = std::function<void(const std::string& line)>;
  // warn receives each one-line warning (default: stderr).
  explicit SafetyNet(Warn warn = {});

  // Whether the custom kernel may run this case. The first call per case (unless the kernel is
  // already disabled) runs `custom` and `reference` and compares; later calls reuse the verdict.
  // An error thrown by `reference` means nothing can be checked: the custom kernel is kept.
  // Thread-safe; the runners run under the net's lock.
  bool keeps(const SafetyCase& c, const Runner& custom, const Runner& reference);
  bool kernel_disabled(const std::string& kernel) const;
  void clear();

 private:
  void disable(const SafetyCase& c, bool whole_kernel, const std::string& why);

  Warn warn_;
  mutable std::mutex mutex_;
  std::map<SafetyCase, bool> verdicts_;
  std::set<std::string> disabled_kernels_;
};

// The process-wide net every family's `auto` consults.
SafetyNet& safety_net();

}  // namespace strand::kernels
