// The safety net's decision (safety_net.h): compare, decide, warn once, remember.
#include "kernels/common/safety_net.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>

#include "core/error.h"

namespace strand::kernels {
namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// An error's message on one line (the warning is one line).
std::string one_line(std::string text) {
  for (char& ch : text) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return text;
}

}  // namespace

double SafetyComparison::relative_error() const {
  return max_abs_reference > 0 ? max_abs_error / max_abs_reference : max_abs_error;
}

SafetyComparison compare_outputs(const std::vector<float>& custom,
                                 const std::vector<float>& reference) {
  STRAND_CHECK(custom.size() == reference.size(),
               "safety net: the custom kernel gave {} values, the library {}", custom.size(),
               reference.size());
  SafetyComparison c;
  for (size_t i = 0; i < custom.size(); ++i) {
    const double r = reference[i], v = custom[i];
    if (!std::isfinite(r)) continue;  // nothing to hold the custom value to
    if (!std::isfinite(v)) {
      c.custom_finite = false;
      continue;
    }
    c.max_abs_reference = std::max(c.max_abs_reference, std::fabs(r));
    c.max_abs_error = std::max(c.max_abs_error, std::fabs(v - r));
  }
  return c;
}

SafetyNet::SafetyNet(Warn warn) : warn_(std::move(warn)) {
  if (!warn_) {
    warn_ = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  }
}

void SafetyNet::disable(const SafetyCase& c, bool whole_kernel, const std::string& why) {
  verdicts_[c] = false;
  if (whole_kernel) disabled_kernels_.insert(c.kernel);
  warn_(
      format("strand: warning: {} disabled {} on device {} after a check against the library "
             "for {} {} precision {}: {}; the library runs instead",
             c.kernel, whole_kernel ? "for every shape" : "for this shape", c.device, c.pass,
             c.shape, c.precision, why));
}

bool SafetyNet::keeps(const SafetyCase& c, const Runner& custom, const Runner& reference) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (disabled_kernels_.count(c.kernel)) return false;
  if (auto it = verdicts_.find(c); it != verdicts_.end()) return it->second;
  std::vector<float> ref;
  try {
    ref = reference();
  } catch (const std::exception&) {
    verdicts_[c] = true;  // the library cannot run it: nothing to check against
    return true;
  }
  std::vector<float> out;
  try {
    out = custom();
  } catch (const std::exception& e) {
    disable(c, true, "it failed: " + one_line(e.what()));
    return false;
  }
  const SafetyComparison cmp = compare_outputs(out, ref);
  if (!cmp.custom_finite) {
    disable(c, true, "its output has NaN or Inf where the library's is finite");
    return false;
  }
  if (!(cmp.relative_error() <= c.tolerance)) {
    disable(
        c, false,
        format("max error {} relative to the library's largest value {} (tolerance {})",
               number(cmp.relative_error()), number(cmp.max_abs_reference), number(c.tolerance)));
    return false;
  }
  verdicts_[c] = true;
  return true;
}

bool SafetyNet::kernel_disabled(const std::string& kernel) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return disabled_kernels_.count(kernel) > 0;
}

void SafetyNet::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  verdicts_.clear();
  disabled_kernels_.clear();
}

SafetyNet& safety_net() {
  static SafetyNet net;
  return net;
}

}  // namespace strand::kernels
