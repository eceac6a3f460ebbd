// bf16 math on a CPU without bf16 instructions is a clear error naming the missing ISA. oneDNN is
// capped at AVX-512 without BF16 first (its own process: the cap holds only before oneDNN's first
// kernel), so this runs on any x86 machine.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "core/error.h"
#include "kernels/common/onednn.h"
#include "train/config.h"

namespace strand::kernels {
namespace {

using ::testing::HasSubstr;

TEST(OneDnnIsaLimit, Bf16WithoutBf16InstructionsNamesWhatIsMissing) {
  dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx512_core);
  const cpu::CpuKernelInfo info = cpu::cpu_kernel_info();
  EXPECT_FALSE(info.bf16);
  EXPECT_THAT([] { cpu::require_cpu_bf16("bf16 test"); },
              ::testing::ThrowsMessage<Error>(HasSubstr(
                  "bf16 test: bf16 on the CPU needs AVX512-BF16 or AMX-BF16, and this CPU offers "
                  "oneDNN only '" +
                  info.isa + "'")));
  const Conv1dShape s{1, 2, 2, 8, 3, 1, 0, 0, 1, 1};
  std::vector<float> x(s.x_numel(), 1.f), w(s.w_numel(), 1.f), y(s.y_numel());
  const cpu::Bf16MathScope bf16(true);
  EXPECT_THAT([&] { cpu::conv1d_forward<float>({}, s, x.data(), w.data(), nullptr, y.data()); },
              ::testing::ThrowsMessage<Error>(HasSubstr("needs AVX512-BF16 or AMX-BF16")));
  // A product too small for bf16 to pay (it runs in fp32) still names what is missing.
  const GemmShape g = dense_gemm(2, 3, 4, false, false);
  std::vector<float> ga(8, 1.f), gb(12, 1.f), gc(6);
  EXPECT_THAT([&] { cpu::sgemm_batched(g, 1.f, ga.data(), gb.data(), 0.f, gc.data()); },
              ::testing::ThrowsMessage<Error>(HasSubstr("needs AVX512-BF16 or AMX-BF16")));
  train::TrainConfig c;
  c.precision = "bf16";
  EXPECT_THAT([&] { train::validate(c); },
              ::testing::ThrowsMessage<Error>(HasSubstr("precision bf16: bf16 on the CPU needs")));
}

}  // namespace
}  // namespace strand::kernels
