// For benchmarks run on several ranks: ranks other than 0 run every benchmark (their collectives
// are needed) but print nothing.
#pragma once

#include <benchmark/benchmark.h>

#include <vector>

namespace strand::bench {

class SilentReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace strand::bench
