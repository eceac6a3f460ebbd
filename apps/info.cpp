// `strand info`: what this build contains (version, commit, CUDA, MPI), the CPU kernels it runs
// (the ISA oneDNN found and the kernel family of GEMM and convolution) and the GPUs it sees.
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "core/version.h"
#include "runtime/cpu.h"
#include "runtime/device.h"

namespace strand::apps {

void add_info_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("info", "Print what this build of strand contains and the GPUs it sees");
  cmd->footer("Example:\n  strand info --json");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Machine-readable output");
  cmd->callback([json] {
    nlohmann::json devices = nlohmann::json::array();
    for (int i = 0; i < runtime::cuda_device_count(); ++i) {
      const runtime::DeviceProperties p = runtime::device_properties(i);
      devices.push_back({{"index", i},
                         {"name", p.name},
                         {"multiprocessors", p.multiprocessors},
                         {"memory_bytes", p.total_memory},
                         {"compute_capability", std::to_string(p.compute_major) + "." +
                                                    std::to_string(p.compute_minor)}});
    }
    const runtime::CpuReport k = runtime::cpu_report();
    // As libgomp read it at start (core/omp_wait.h may have set it).
    const char* wait = std::getenv("OMP_WAIT_POLICY");
    const char* spin = std::getenv("GOMP_SPINCOUNT");
    const std::string omp_wait = wait   ? std::string("OMP_WAIT_POLICY=") + wait
                                 : spin ? std::string("GOMP_SPINCOUNT=") + spin
                                        : std::string("libgomp default (spin, then sleep)");
    const nlohmann::json cpu = {{"isa", k.isa},
                                {"onednn", k.onednn},
                                {"gemm_fp32", k.gemm_fp32},
                                {"conv_fp32", k.conv_fp32},
                                {"gemm_bf16", k.gemm_bf16},
                                {"conv_bf16", k.conv_bf16},
                                {"openblas_core_float64", k.openblas_core},
                                {"omp_wait", omp_wait}};
    const nlohmann::json out = {{"version", version()},
                                {"commit", git_commit()},
                                {"cuda", runtime::built_with_cuda()},
                                {"mpi", STRAND_WITH_MPI == 1},
                                {"cpu", cpu},
                                {"devices", devices}};
    if (*json) {
      std::cout << out.dump() << "\n";
      return;
    }
    std::cout << "strand " << version() << " (" << git_commit() << ")\n"
              << "  CUDA backend: " << (runtime::built_with_cuda() ? "built" : "not built") << "\n"
              << "  MPI:          " << (STRAND_WITH_MPI ? "built" : "not built") << "\n"
              << "  CPU ISA:      " << k.isa << " (oneDNN " << k.onednn << ")\n"
              << "  CPU GEMM:     fp32 " << k.gemm_fp32 << "; bf16 " << k.gemm_bf16 << "\n"
              << "  CPU conv1d:   fp32 " << k.conv_fp32
              << " (strand's kernels below 16 input channels or 50 MFLOP a pass); bf16 "
              << k.conv_bf16 << " (strand's fp32 below 16 input channels)\n"
              << "  float64 BLAS: OpenBLAS " << k.openblas_core
              << " kernels (reference and gradcheck paths only)\n"
              << "  OpenMP wait:  " << omp_wait << "\n"
              << "  GPUs:         " << (devices.empty() ? "none found" : "") << "\n";
    for (const auto& d : devices) {
      std::cout << "    cuda:" << d["index"].get<int>() << "  " << d["name"].get<std::string>()
                << ", " << d["multiprocessors"].get<int>() << " SMs, "
                << d["memory_bytes"].get<size_t>() / (1 << 20) << " MiB, sm_"
                << d["compute_capability"].get<std::string>() << "\n";
    }
  });
}

}  // namespace strand::apps
