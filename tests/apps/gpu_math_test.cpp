// --conv-algo, --rnn-algo and --tf32 on train, eval and predict: CUDA-only choices, so a CPU run
// refuses them with a one-line reason before reading any data, and rejects an unknown algorithm by
// name.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "tests/apps/run_cli.h"

namespace strand::apps::cli_test {
namespace {

using ::testing::HasSubstr;

void expect_one_line_error(const std::string& args, const std::string& what) {
  const CliResult r = run_strand(args, fresh_dir("gpu_math").string());
  EXPECT_NE(r.status, 0) << args;
  EXPECT_THAT(r.output, HasSubstr(what)) << args;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << args << "\n" << r.output;
}

TEST(GpuMathFlags, Tf32OnTheCpuIsRefusedByTrainEvalAndPredict) {
  expect_one_line_error("train --tf32 --epochs 1 --out run",
                        "--tf32 chooses CUDA arithmetic and this run is on the CPU");
  expect_one_line_error("eval --model m.safetensors --fasta s.fa --labels l.tsv --tf32",
                        "--tf32 chooses CUDA arithmetic and this run is on the CPU");
  expect_one_line_error("predict --model m.safetensors --fasta s.fa --tf32 --device cpu",
                        "--tf32 chooses CUDA arithmetic and this run is on the CPU");
}

TEST(GpuMathFlags, ConvAlgoOnTheCpuIsRefusedAndUnknownOnesAreNamed) {
  expect_one_line_error("train --conv-algo cudnn --epochs 1 --out run",
                        "--conv-algo cudnn chooses a CUDA convolution");
  expect_one_line_error("predict --model m.safetensors --fasta s.fa --conv-algo custom",
                        "--conv-algo custom chooses a CUDA convolution");
  expect_one_line_error(
      "eval --model m.safetensors --fasta s.fa --labels l.tsv --conv-algo fast "
      "--device cuda",
      "unknown --conv-algo 'fast' (auto, custom, cudnn)");
}

TEST(GpuMathFlags, RnnAlgoOnTheCpuIsRefusedAndUnknownOnesAreNamed) {
  expect_one_line_error("train --rnn-algo cudnn --epochs 1 --out run",
                        "--rnn-algo cudnn chooses a CUDA recurrence");
  expect_one_line_error("predict --model m.safetensors --fasta s.fa --rnn-algo cluster",
                        "--rnn-algo cluster chooses a CUDA recurrence");
  expect_one_line_error(
      "eval --model m.safetensors --fasta s.fa --labels l.tsv --rnn-algo fast --device cuda",
      "unknown --rnn-algo 'fast' (auto, custom, cluster,");
}

TEST(GpuMathFlags, TheDefaultsPassTheCheckOnTheCpu) {
  // auto is what a CPU run does anyway: no error about it, the missing model file is the reason.
  const CliResult r =
      run_strand("predict --model missing.safetensors --fasta s.fa --conv-algo auto",
                 fresh_dir("gpu_math_default").string());
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("missing.safetensors"));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("--conv-algo")));
}

}  // namespace
}  // namespace strand::apps::cli_test
