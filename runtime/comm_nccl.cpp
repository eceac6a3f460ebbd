// NCCL communicator for CUDA tensors (comm.h). The communicator is non-blocking
// (config.blocking = 0) so neither its set-up nor any collective can block the host: collectives
// run on a dedicated communication stream that first waits (by event) for the caller's stream;
// wait() polls the completion event and ncclCommGetAsyncError against the timeout and aborts the
// NCCL communicator (ncclCommAbort) on error or timeout. The unique id travels over MPI when MPI
// runs, else over the TCP rendezvous.
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "runtime/comm_backends.h"
#include "runtime/rendezvous.h"

#if STRAND_WITH_CUDA
#include <cuda_runtime.h>
#include <nccl.h>

#include "kernels/collectives/concurrent_collectives.h"
#include "kernels/common/cuda_check.h"
#endif

namespace strand::runtime {

#if STRAND_WITH_CUDA
namespace {

using Clock = std::chrono::steady_clock;

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return ncclFloat32;
    case DType::kF64:
      return ncclFloat64;
    case DType::kBF16:
      return ncclBfloat16;
    case DType::kI32:
      return ncclInt32;
    case DType::kI64:
      return ncclInt64;
    case DType::kU8:
    case DType::kBool:
      return ncclUint8;
  }
  return ncclUint8;
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return ncclSum;
    case ReduceOp::kAvg:
      return ncclAvg;
    case ReduceOp::kMax:
      return ncclMax;
    case ReduceOp::kMin:
      return ncclMin;
  }
  return ncclSum;
}

// The NCCL handle and its health, shared by the communicator and its outstanding Work handles.
struct NcclState {
  ncclComm_t comm = nullptr;
  std::mutex mutex;
  bool aborted = false;

  // Aborts once: pending kernels are torn down and later calls fail fast.
  void abort() {
    std::lock_guard lock(mutex);
    if (aborted || comm == nullptr) return;
    aborted = true;
    ncclCommAbort(comm);  // the result is irrelevant: the communicator is gone either way
  }
  // NCCL's asynchronous state: ncclSuccess, ncclInProgress or an error.
  ncclResult_t poll() {
    std::lock_guard lock(mutex);
    if (aborted) return ncclInvalidUsage;
    ncclResult_t state = ncclSuccess;
    const ncclResult_t rc = ncclCommGetAsyncError(comm, &state);
    return rc != ncclSuccess ? rc : state;
  }
};

std::string nccl_error_text(ncclResult_t rc) {
  const char* last = ncclGetLastError(nullptr);
  return format("{}{}{}", ncclGetErrorString(rc), last && *last ? ": " : "", last ? last : "");
}

class NcclCommunicator;

class NcclWork : public Work {
 public:
  NcclWork(std::weak_ptr<NcclCommunicator> owner, std::shared_ptr<NcclState> state,
           std::string label, std::shared_ptr<Event> done, std::vector<Tensor> keep, Device device,
           std::chrono::milliseconds timeout)
      : owner_(owner),
        state_(std::move(state)),
        label_(std::move(label)),
        done_(std::move(done)),
        keep_(std::move(keep)),
        device_(device),
        deadline_(Clock::now() + timeout),
        timeout_(timeout) {}

  void wait() override;
  bool done() override;

 private:
  bool check();  // true when finished; raises on error or past the deadline
  [[noreturn]] void fail(const std::string& message);

  // May outlive the communicator: then only the NCCL state is left to abort.
  std::weak_ptr<NcclCommunicator> owner_;
  std::shared_ptr<NcclState> state_;
  std::string label_;
  std::shared_ptr<Event> done_;
  std::vector<Tensor> keep_;  // the tensors stay alive until the collective has finished
  Device device_;
  Clock::time_point deadline_;
  std::chrono::milliseconds timeout_;
  bool finished_ = false;
};

class NcclCommunicator : public Communicator,
                         public std::enable_shared_from_this<NcclCommunicator> {
 public:
  // probe (may be null) names lost ranks after a timeout; NCCL itself cannot.
  NcclCommunicator(const LaunchInfo& launch, Device device, CommOptions options,
                   const ncclUniqueId& id, std::unique_ptr<LivenessProbe> probe)
      : Communicator(launch.rank, launch.world_size, launch.local_rank, device, options),
        state_(std::make_shared<NcclState>()),
        probe_(std::move(probe)) {
    DeviceGuard guard(device_);
    stream_ = std::make_unique<Stream>(device_.index);
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;  // every call returns at once; completion is polled below
    STRAND_NCCL_CHECK(ncclCommInitRankConfig(&state_->comm, size_, id, rank_, &config));
    wait_state("init (ncclCommInitRankConfig)");
    barrier_buffer_ = zeros({1}, {.device = device_});
  }

  ~NcclCommunicator() override {
    if (state_->comm == nullptr) return;
    try {
      if (failure().empty()) {
        DeviceGuard guard(device_);
        // Flush, bounded by the timeout; a communicator that cannot finish is aborted.
        const ncclResult_t rc = ncclCommFinalize(state_->comm);
        if (rc == ncclSuccess || rc == ncclInProgress) wait_state("finalize");
        ncclCommDestroy(state_->comm);
        state_->comm = nullptr;
        return;
      }
    } catch (const std::exception&) {
      // fall through to abort
    }
    state_->abort();
    mpi_mark_failed();
  }

  CommBackend backend() const override { return CommBackend::kNccl; }

  std::shared_ptr<Work> all_reduce(const Tensor& tensor, ReduceOp op) override {
    check_tensor(tensor, "all_reduce", "input");
    check_reduce_dtype(tensor.dtype(), op, "all_reduce");
    return issue("all_reduce", {tensor}, [&](ncclComm_t comm, cudaStream_t stream) {
      return ncclAllReduce(tensor.raw_data(), tensor.raw_data(), tensor.numel(),
                           nccl_type(tensor.dtype()), nccl_op(op), comm, stream);
    });
  }

  std::shared_ptr<Work> reduce_scatter(const Tensor& input, const Tensor& output,
                                       ReduceOp op) override {
    check_tensor(input, "reduce_scatter", "input");
    check_tensor(output, "reduce_scatter", "output");
    check_reduce_dtype(input.dtype(), op, "reduce_scatter");
    check_chunked(input, output, "reduce_scatter", "input");
    return issue("reduce_scatter", {input, output}, [&](ncclComm_t comm, cudaStream_t stream) {
      return ncclReduceScatter(input.raw_data(), output.raw_data(), output.numel(),
                               nccl_type(input.dtype()), nccl_op(op), comm, stream);
    });
  }

  std::shared_ptr<Work> all_gather(const Tensor& input, const Tensor& output) override {
    check_tensor(input, "all_gather", "input");
    check_tensor(output, "all_gather", "output");
    check_chunked(output, input, "all_gather", "output");
    return issue("all_gather", {input, output}, [&](ncclComm_t comm, cudaStream_t stream) {
      return ncclAllGather(input.raw_data(), output.raw_data(), input.numel(),
                           nccl_type(input.dtype()), comm, stream);
    });
  }

  std::shared_ptr<Work> broadcast(const Tensor& tensor, int root) override {
    check_tensor(tensor, "broadcast", "input");
    check_root(root, "broadcast");
    return issue("broadcast", {tensor}, [&](ncclComm_t comm, cudaStream_t stream) {
      return ncclBroadcast(tensor.raw_data(), tensor.raw_data(), tensor.numel(),
                           nccl_type(tensor.dtype()), root, comm, stream);
    });
  }

  void barrier() override { all_reduce(barrier_buffer_, ReduceOp::kSum)->wait(); }

  void abort(const std::string& reason) override {
    set_failure(format("{}: aborted on this rank: {}", describe("abort"), reason));
    state_->abort();
  }

  // Records the first failure and aborts NCCL; under mpirun the process must then skip
  // MPI_Finalize, which would wait for the lost rank.
  void fail(const std::string& message) {
    set_failure(message);
    state_->abort();
    mpi_mark_failed();
  }
  // "lost rank 2 (no answer within 3 s)": NCCL itself cannot tell.
  std::string lost_ranks_text() {
    if (probe_) return probe_->ask();
    return "a rank stopped answering";
  }
  bool healthy() const { return failure().empty(); }
  std::string failure_text() const { return failure(); }

 private:
  template <typename Call>
  std::shared_ptr<Work> issue(const char* name, std::vector<Tensor> keep, const Call& call) {
    if (!failure().empty()) raise_failure();
    const std::string label = describe(name);
    DeviceGuard guard(device_);
    // The communication stream starts only after the caller's stream has produced the inputs.
    Event ready;
    ready.record(current_stream(device_.index));
    ready.wait(stream_->handle());
    ncclResult_t rc;
    {
      std::lock_guard lock(state_->mutex);
      rc = call(state_->comm, stream_->handle());
    }
    if (rc != ncclSuccess && rc != ncclInProgress) {
      fail(format("{} failed: NCCL call returned {}", label, nccl_error_text(rc)));
      raise_failure();
    }
    if (rc == ncclInProgress) wait_state(name);  // non-blocking mode: wait until it is enqueued
    auto done = std::make_shared<Event>();
    done->record(stream_->handle());
    // The collective uses the kept tensors on the communication stream. Should the last reference
    // go before it finishes (a Work dropped without wait()), each storage's free waits for this
    // point of the stream instead of returning the memory to the pool early (~Storage).
    for (const Tensor& t : keep) {
      if (t.defined()) t.storage()->record_async_read(stream_->handle());
    }
    return std::make_shared<NcclWork>(weak_from_this(), state_, label, std::move(done),
                                      std::move(keep), device_, options_.timeout);
  }

  // Polls the communicator's asynchronous state until it leaves ncclInProgress.
  void wait_state(const char* what) {
    const auto deadline = Clock::now() + options_.timeout;
    for (;;) {
      const ncclResult_t state = state_->poll();
      if (state == ncclSuccess) return;
      if (state != ncclInProgress) {
        fail(format("{} failed: {}", describe(what), nccl_error_text(state)));
        raise_failure();
      }
      if (Clock::now() > deadline) {
        fail(format("{} timed out after {} s: {}", describe(what),
                    options_.timeout.count() / 1000.0, lost_ranks_text()));
        raise_failure();
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  std::shared_ptr<NcclState> state_;
  std::unique_ptr<LivenessProbe> probe_;
  std::unique_ptr<Stream> stream_;
  Tensor barrier_buffer_;
  // While this communicator lives, RNNs on its device avoid the cooperative persistent kernels.
  kernels::ConcurrentCollectives collectives_{device_.index};
};

void NcclWork::fail(const std::string& message) {
  if (auto owner = owner_.lock()) {
    owner->fail(message);
    STRAND_FAIL("{}", owner->failure_text());  // the first failure, which may be another's
  }
  state_->abort();
  STRAND_FAIL("{}", message);
}

bool NcclWork::check() {
  if (finished_) return true;
  if (auto owner = owner_.lock(); owner && !owner->healthy()) {
    STRAND_FAIL("{}", owner->failure_text());
  }
  if (done_->ready()) {
    finished_ = true;
    return true;
  }
  const ncclResult_t state = state_->poll();
  if (state != ncclSuccess && state != ncclInProgress) {
    fail(format("{} failed: {}", label_, nccl_error_text(state)));
  }
  if (Clock::now() > deadline_) {
    auto owner = owner_.lock();
    fail(format("{} timed out after {} s: {}", label_, timeout_.count() / 1000.0,
                owner ? owner->lost_ranks_text() : std::string("a rank stopped answering")));
  }
  return false;
}

void NcclWork::wait() {
  auto pause = std::chrono::microseconds(0);
  while (!check()) {
    pause = std::min(std::chrono::microseconds(500), pause + std::chrono::microseconds(10));
    std::this_thread::sleep_for(pause);
  }
}

bool NcclWork::done() { return check(); }

// Rank 0's unique id, delivered to every rank over MPI or the TCP rendezvous.
ncclUniqueId share_unique_id(const LaunchInfo& launch, const CommOptions& options, bool over_mpi) {
  ncclUniqueId id{};
  std::string bytes;
  if (launch.rank == 0) {
    STRAND_NCCL_CHECK(ncclGetUniqueId(&id));
    bytes.assign(reinterpret_cast<const char*>(&id), sizeof(id));
  }
  if (over_mpi) {
    bytes = mpi_broadcast_bytes(launch, bytes, sizeof(id), options);
  } else {
    bytes = rendezvous_all_gather(launch, bytes, options.timeout)[0];
  }
  STRAND_CHECK(bytes.size() == sizeof(id),
               "comm: rank {} received a {} byte NCCL unique id, expected {}", launch.rank,
               bytes.size(), sizeof(id));
  std::memcpy(&id, bytes.data(), sizeof(id));
  return id;
}

}  // namespace

std::shared_ptr<Communicator> make_nccl_communicator(const LaunchInfo& launch, Device device,
                                                     CommOptions options) {
  STRAND_CHECK(device.is_cuda(), "comm: NCCL needs a CUDA device, got {}", device);
  check_device(device);
  const bool over_mpi = launch.launcher == "mpirun" || mpi_running();
  const ncclUniqueId id = share_unique_id(launch, options, over_mpi);
  std::unique_ptr<LivenessProbe> probe;
  if (launch.distributed()) {
    probe = over_mpi ? make_mpi_liveness_probe(launch, options)
                     : make_rendezvous_liveness_probe(launch, options);
  }
  return std::make_shared<NcclCommunicator>(launch, device, options, id, std::move(probe));
}

#else  // !STRAND_WITH_CUDA

std::shared_ptr<Communicator> make_nccl_communicator(const LaunchInfo& launch, Device device,
                                                     CommOptions) {
  throw_no_cuda(format("the NCCL communicator ({} on {})", launch.str(), device));
}

#endif

}  // namespace strand::runtime
