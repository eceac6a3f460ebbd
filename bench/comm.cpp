// All-reduce bandwidth of strand's communicators over message sizes 8 B .. 256 MB, reported as
// nccl-tests does: algbw = bytes / time, busbw = algbw * 2(n-1)/n (what each link carries in a
// ring), so numbers compare across rank counts and with published NCCL figures.
//   mpi/all_reduce/<bytes>:   CPU float32 tensors over MPI. Run under a launcher:
//       mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 build/bench_comm
//   mpi_direct/all_reduce/<bytes>: the library baseline, a blocking MPI_Allreduce on the same
//       buffer: the gap to mpi/ is the cost of strand's asynchronous worker and its checks.
//   nccl/all_reduce/<bytes>: CUDA float32 tensors over NCCL, one GPU per rank; registered only
//       when this host has a GPU for every local rank (never with one process).
// Every rank runs the same fixed iteration counts (collectives must match); rank 0 reports.
#include "runtime/comm.h"

#include "bench/silent_reporter.h"

#if STRAND_WITH_MPI
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace strand::runtime;

std::shared_ptr<Communicator> g_cpu, g_gpu;

// Sizes as nccl-tests -b 8 -e 256M -f 4, plus 256 MB itself.
std::vector<int64_t> sizes() {
  std::vector<int64_t> out;
  for (int64_t bytes = 8; bytes < (int64_t{256} << 20); bytes *= 4) out.push_back(bytes);
  out.push_back(int64_t{256} << 20);
  return out;
}

// Fixed per size, identical on every rank: about 256 MB moved per size, 3 to 400 iterations.
int64_t iterations_for(int64_t bytes) {
  return std::clamp<int64_t>((int64_t{256} << 20) / bytes, 3, 400);
}

void set_bandwidth(benchmark::State& state, int n) {
  const double moved =
      static_cast<double>(state.range(0)) * static_cast<double>(state.iterations());
  state.counters["algbw"] = benchmark::Counter(moved, benchmark::Counter::kIsRate);
  state.counters["busbw"] =
      benchmark::Counter(moved * 2.0 * (n - 1) / n, benchmark::Counter::kIsRate);
  state.counters["ranks"] = n;
}

void all_reduce_bandwidth(benchmark::State& state, Communicator* comm) {
  const int64_t bytes = state.range(0);
  const int64_t count = bytes / 4;
  Tensor buffer = full({count}, 1.0, {.device = comm->device()});
  comm->all_reduce(buffer, ReduceOp::kSum)->wait();  // warm-up: connections, buffers
  comm->barrier();
  for (auto _ : state) comm->all_reduce(buffer, ReduceOp::kSum)->wait();
  set_bandwidth(state, comm->size());
}

#if STRAND_WITH_MPI
void mpi_direct_bandwidth(benchmark::State& state) {
  const int64_t count = state.range(0) / 4;
  std::vector<float> buffer(count, 1.0f);
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  for (auto _ : state) {
    MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                  MPI_COMM_WORLD);
  }
  set_bandwidth(state, n);
}
#endif

template <typename... Args>
void register_family(const std::string& prefix, Args... args) {
  for (int64_t bytes : sizes()) {
    benchmark::RegisterBenchmark((prefix + "/all_reduce").c_str(), args...)
        ->Arg(bytes)
        ->Iterations(iterations_for(bytes))
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const LaunchInfo launch = detect_launch();
  if (!launch.distributed()) {
    std::printf(
        "bench_comm measures communication between ranks: run it under a launcher, e.g.\n"
        "  mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 %s\n",
        argv[0]);
    return 0;
  }
  g_cpu = make_communicator(launch, Device::cpu());
  register_family("mpi", all_reduce_bandwidth, g_cpu.get());
#if STRAND_WITH_MPI
  register_family("mpi_direct", mpi_direct_bandwidth);
#endif
  if (cuda_device_count() >= launch.local_world_size) {
    g_gpu = make_communicator(launch, device_for_rank(launch, Device::cuda()));
    register_family("nccl", all_reduce_bandwidth, g_gpu.get());
  } else if (launch.rank == 0) {
    std::printf("nccl benchmarks skipped: %d CUDA devices for %d local ranks\n",
                cuda_device_count(), launch.local_world_size);
  }
  if (launch.rank == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    strand::bench::SilentReporter silent;
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  g_gpu.reset();
  g_cpu.reset();
  benchmark::Shutdown();
  return 0;
}
