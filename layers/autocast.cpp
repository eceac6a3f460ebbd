// The thread-local autocast switch (see autocast.h).
#include "layers/autocast.h"

#include "runtime/cpu.h"

namespace strand::layers {
namespace {
thread_local bool g_autocast = false;
}  // namespace

// The CPU side is the kernels' bf16 math switch, set with the autocast flag and restored with it.
// A CPU without bf16 instructions keeps fp32 (train/config.cpp refuses bf16 training there).
AutocastGuard::AutocastGuard(bool enabled) : previous_(g_autocast) {
  g_autocast = enabled;
  runtime::set_cpu_bf16_math(enabled);
}
AutocastGuard::~AutocastGuard() {
  g_autocast = previous_;
  runtime::set_cpu_bf16_math(previous_);
}

bool autocast_enabled() { return g_autocast; }

bool autocast_applies(const runtime::Tensor& x) {
  return g_autocast && x.defined() && x.is_cuda() && x.dtype() == DType::kF32;
}

runtime::Tensor to_bf16(const runtime::Tensor& t) { return t.defined() ? t.to(DType::kBF16) : t; }

}  // namespace strand::layers
