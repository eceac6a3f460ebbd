// MPI communicator for CPU tensors (comm.h). Collectives are MPI's non-blocking ones (Iallreduce,
// Ireduce_scatter_block, Iallgather, Ibcast, Ibarrier), issued and driven by one worker thread
// per communicator so they progress while the caller computes; the worker polls MPI_Test against
// the timeout. Errors are returned (MPI_ERRORS_RETURN), never fatal. After a timeout the ranks
// that still run exchange a short "who is alive" message so the error can name the lost ones.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <deque>
#include <functional>
#include <thread>

#include "runtime/comm_backends.h"

#if STRAND_WITH_MPI
// The C API only: MPI's deprecated C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace strand::runtime {

#if STRAND_WITH_MPI
namespace {

using Clock = std::chrono::steady_clock;

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
    return format("MPI error code {}", code);
  return std::string(text, length);
}

// Every MPI return code goes through this: it names the call and decodes the error.
#define STRAND_MPI_CHECK(call)                                                                     \
  do {                                                                                             \
    const int strand_rc_ = (call);                                                                 \
    if (strand_rc_ != MPI_SUCCESS) [[unlikely]]                                                    \
      STRAND_FAIL("MPI call {} failed: {}", #call, ::strand::runtime::mpi_error_text(strand_rc_)); \
  } while (0)

// MPI for the whole process: initialised on first use (unless the program did it), finalised at
// exit when strand initialised it and no communicator failed. After a failure the process must
// not finalise: MPI_Finalize waits for every rank, and a lost rank never comes, so exiting without
// it lets the launcher end the job instead.
class MpiProcess {
 public:
  static MpiProcess& get() {
    static MpiProcess process;
    return process;
  }
  // MPI calls from several threads (communicator workers, the NCCL bootstrap) go through this.
  std::mutex& mutex() { return mutex_; }
  void mark_failed() { failed_ = true; }
  void add_live(int delta) { live_ += delta; }

  ~MpiProcess() {
    if (!initialized_here_ || failed_ || live_ != 0) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }

 private:
  MpiProcess() {
    int initialized = 0;
    STRAND_MPI_CHECK(MPI_Initialized(&initialized));
    int provided = 0;
    if (!initialized) {
      STRAND_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided));
      initialized_here_ = true;
    } else {
      STRAND_MPI_CHECK(MPI_Query_thread(&provided));
    }
    // Workers call MPI from their own threads, one call at a time (mutex above).
    STRAND_CHECK(provided >= MPI_THREAD_SERIALIZED,
                 "comm: MPI provides thread level {} but strand's communicator needs at least "
                 "MPI_THREAD_SERIALIZED ({}); initialise MPI with MPI_Init_thread",
                 provided, MPI_THREAD_SERIALIZED);
    STRAND_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  }
  std::mutex mutex_;
  bool initialized_here_ = false;
  std::atomic<bool> failed_{false};
  std::atomic<int> live_{0};
};

constexpr int kProbeTag = 7177;

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return MPI_FLOAT;
    case DType::kF64:
      return MPI_DOUBLE;
    case DType::kBF16:
      return MPI_UINT16_T;  // moved as bits; reductions go through float32 staging
    case DType::kI32:
      return MPI_INT32_T;
    case DType::kI64:
      return MPI_INT64_T;
    case DType::kU8:
    case DType::kBool:
      return MPI_UINT8_T;
  }
  return MPI_DATATYPE_NULL;
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kAvg:
      return MPI_SUM;
    case ReduceOp::kMax:
      return MPI_MAX;
    case ReduceOp::kMin:
      return MPI_MIN;
  }
  return MPI_OP_NULL;
}

// One collective: how to start it, what to do once MPI has finished it, and its outcome.
struct MpiOp {
  std::string label;                       // "mpi all_reduce on rank 0 of 2 (epoch 1 step 3)"
  std::function<int(MPI_Request*)> start;  // issues the non-blocking call, returns its code
  std::function<void()> finish;            // unstages bf16, divides for avg
  MPI_Request request = MPI_REQUEST_NULL;
  Clock::time_point started;
  bool finished = false;  // guarded by MpiShared::mutex
  std::string error;
};

// What the caller threads, the worker and outstanding Work handles share.
struct MpiShared {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::shared_ptr<MpiOp>> queue;
  bool stop = false;
  std::string failure;  // once set, the worker fails everything and stops
};

class MpiWork : public Work {
 public:
  MpiWork(std::shared_ptr<MpiShared> shared, std::shared_ptr<MpiOp> op)
      : shared_(std::move(shared)), op_(std::move(op)) {}
  void wait() override {
    std::unique_lock lock(shared_->mutex);
    shared_->cv.wait(lock, [&] { return op_->finished; });
    if (!op_->error.empty()) STRAND_FAIL("{}", op_->error);
  }
  bool done() override {
    std::lock_guard lock(shared_->mutex);
    if (op_->finished && !op_->error.empty()) STRAND_FAIL("{}", op_->error);
    return op_->finished;
  }

 private:
  std::shared_ptr<MpiShared> shared_;
  std::shared_ptr<MpiOp> op_;
};

// Casts an element count to MPI's int, with an error for tensors too large for one call.
int mpi_count(int64_t n, const std::string& label) {
  STRAND_CHECK(n <= INT_MAX, "{}: {} elements exceed MPI's int count; split the tensor", label, n);
  return static_cast<int>(n);
}

void divide(const Tensor& t, int by) {
  if (t.dtype() == DType::kF32) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] /= static_cast<float>(by);
  } else if (t.dtype() == DType::kF64) {
    double* p = t.data<double>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] /= by;
  }
}

Tensor to_f32(const Tensor& bf16) {
  Tensor out = empty(bf16.shape());
  const BFloat16* src = bf16.data<BFloat16>();
  float* dst = out.data<float>();
  for (int64_t i = 0; i < bf16.numel(); ++i) dst[i] = src[i];
  return out;
}

void from_f32(const Tensor& f32, const Tensor& bf16) {
  const float* src = f32.data<float>();
  BFloat16* dst = bf16.data<BFloat16>();
  for (int64_t i = 0; i < bf16.numel(); ++i) dst[i] = BFloat16(src[i]);
}

// Polls a request on the calling thread against a deadline (set-up, before any worker runs).
void wait_blocking(MpiProcess& process, MPI_Request& request, std::chrono::milliseconds timeout,
                   const std::string& what) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int flag = 0;
    {
      std::lock_guard lock(process.mutex());
      STRAND_MPI_CHECK(MPI_Test(&request, &flag, MPI_STATUS_IGNORE));
    }
    if (flag) return;
    STRAND_CHECK(Clock::now() < deadline, "{} timed out after {} s: not every rank arrived", what,
                 timeout.count() / 1000.0);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// A private duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN, so strand's messages never mix
// with the program's own; duplicating is a collective, so it is bounded by the timeout too.
MPI_Comm duplicate_world(MpiProcess& process, std::chrono::milliseconds timeout,
                         const std::string& what) {
  MPI_Comm out = MPI_COMM_NULL;
  MPI_Request request = MPI_REQUEST_NULL;
  {
    std::lock_guard lock(process.mutex());
    STRAND_MPI_CHECK(MPI_Comm_idup(MPI_COMM_WORLD, &out, &request));
  }
  wait_blocking(process, request, timeout, what);
  std::lock_guard lock(process.mutex());
  STRAND_MPI_CHECK(MPI_Comm_set_errhandler(out, MPI_ERRORS_RETURN));
  return out;
}

void check_launch_matches_mpi(MpiProcess& process, const LaunchInfo& launch) {
  int mpi_rank = 0, mpi_size = 0;
  {
    std::lock_guard lock(process.mutex());
    STRAND_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank));
    STRAND_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &mpi_size));
  }
  STRAND_CHECK(mpi_size == launch.world_size && mpi_rank == launch.rank,
               "comm: the launcher says {}, but MPI sees rank {} of {}; under Slurm run `srun "
               "--mpi=pmix`, or launch with mpirun",
               launch.str(), mpi_rank, mpi_size);
}

class MpiLivenessProbe : public LivenessProbe {
 public:
  MpiLivenessProbe(const LaunchInfo& launch, const CommOptions& options)
      : process_(MpiProcess::get()),
        rank_(launch.rank),
        size_(launch.world_size),
        probe_timeout_(options.probe_timeout) {
    check_launch_matches_mpi(process_, launch);
    comm_ = duplicate_world(process_, options.timeout,
                            format("comm set-up (probe channel) on {}", launch.str()));
  }
  ~MpiLivenessProbe() override {
    // After ask() requests to lost ranks may linger: the communicator is then left alone.
    if (asked_) return;
    std::lock_guard lock(process_.mutex());
    MPI_Comm_free(&comm_);
  }

  // Asks every rank "are you there?" on the probe channel and waits probe_timeout for answers:
  // ranks that have not answered are reported lost.
  std::string ask() override {
    asked_ = true;
    const auto deadline = Clock::now() + probe_timeout_;
    // Deliberately leaked (once per failed communicator): a send to a lost rank may never
    // complete, and MPI must never read freed memory.
    const int* probe_out = new int(rank_);
    probe_in_.assign(size_, -1);
    std::vector<MPI_Request> receives(size_, MPI_REQUEST_NULL);
    std::vector<bool> answered(size_, false);
    answered[rank_] = true;
    try {
      std::lock_guard lock(process_.mutex());
      for (int peer = 0; peer < size_; ++peer) {
        if (peer == rank_) continue;
        MPI_Request send = MPI_REQUEST_NULL;
        STRAND_MPI_CHECK(MPI_Isend(probe_out, 1, MPI_INT, peer, kProbeTag, comm_, &send));
        MPI_Request_free(&send);
        STRAND_MPI_CHECK(
            MPI_Irecv(&probe_in_[peer], 1, MPI_INT, peer, kProbeTag, comm_, &receives[peer]));
      }
    } catch (const std::exception&) {
      // A peer that cannot even be sent to is lost; testing below still sorts out the others.
    }
    for (;;) {
      bool all = true;
      for (int peer = 0; peer < size_; ++peer) {
        if (answered[peer] || receives[peer] == MPI_REQUEST_NULL) {
          all = all && answered[peer];
          continue;
        }
        int flag = 0;
        int rc;
        {
          std::lock_guard lock(process_.mutex());
          rc = MPI_Test(&receives[peer], &flag, MPI_STATUS_IGNORE);
        }
        if (rc == MPI_SUCCESS && flag) answered[peer] = true;
        if (rc != MPI_SUCCESS) receives[peer] = MPI_REQUEST_NULL;
        all = all && answered[peer];
      }
      if (all || Clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::vector<int> lost;
    for (int peer = 0; peer < size_; ++peer) {
      if (answered[peer]) continue;
      lost.push_back(peer);
      if (receives[peer] != MPI_REQUEST_NULL) {
        std::lock_guard lock(process_.mutex());
        MPI_Cancel(&receives[peer]);  // so a late answer never lands in freed memory
        MPI_Request_free(&receives[peer]);
      }
    }
    return lost_ranks_message(lost, probe_timeout_);
  }

 private:
  MpiProcess& process_;
  int rank_, size_;
  std::chrono::milliseconds probe_timeout_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  std::vector<int> probe_in_;
  bool asked_ = false;
};

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator(const LaunchInfo& launch, CommOptions options)
      : Communicator(launch.rank, launch.world_size, launch.local_rank, Device::cpu(), options),
        process_(MpiProcess::get()),
        shared_(std::make_shared<MpiShared>()) {
    check_launch_matches_mpi(process_, launch);
    comm_ = duplicate_world(process_, options_.timeout, describe("communicator set-up"));
    probe_ = std::make_unique<MpiLivenessProbe>(launch, options_);
    process_.add_live(1);
    worker_ = std::thread([this] { run(); });
  }

  ~MpiCommunicator() override {
    {
      std::lock_guard lock(shared_->mutex);
      shared_->stop = true;
    }
    shared_->cv.notify_all();
    worker_.join();
    if (failure().empty()) {
      std::lock_guard lock(process_.mutex());
      MPI_Comm_free(&comm_);  // nothing is pending on a healthy communicator
    }
    process_.add_live(-1);
  }

  CommBackend backend() const override { return CommBackend::kMpi; }

  std::shared_ptr<Work> all_reduce(const Tensor& tensor, ReduceOp op) override {
    check_tensor(tensor, "all_reduce", "input");
    check_reduce_dtype(tensor.dtype(), op, "all_reduce");
    auto job = make_op("all_reduce");
    const int count = mpi_count(tensor.numel(), job->label);
    // bf16 is summed in float32: staged here, rounded once when MPI is done.
    const bool staged = tensor.dtype() == DType::kBF16;
    const Tensor buffer = staged ? to_f32(tensor) : tensor;
    const MPI_Datatype type = staged ? MPI_FLOAT : mpi_type(tensor.dtype());
    job->start = [this, buffer, count, type, op](MPI_Request* request) {
      return MPI_Iallreduce(MPI_IN_PLACE, buffer.raw_data(), count, type, mpi_op(op), comm_,
                            request);
    };
    job->finish = [this, buffer, tensor, staged, op] {
      if (op == ReduceOp::kAvg) divide(buffer, size_);
      if (staged) from_f32(buffer, tensor);
    };
    return enqueue(std::move(job));
  }

  std::shared_ptr<Work> reduce_scatter(const Tensor& input, const Tensor& output,
                                       ReduceOp op) override {
    check_tensor(input, "reduce_scatter", "input");
    check_tensor(output, "reduce_scatter", "output");
    check_reduce_dtype(input.dtype(), op, "reduce_scatter");
    check_chunked(input, output, "reduce_scatter", "input");
    auto job = make_op("reduce_scatter");
    const int count = mpi_count(output.numel(), job->label);
    mpi_count(input.numel(), job->label);
    const bool staged = input.dtype() == DType::kBF16;
    const Tensor send = staged ? to_f32(input) : input;
    const Tensor receive = staged ? empty(output.shape()) : output;
    const MPI_Datatype type = staged ? MPI_FLOAT : mpi_type(input.dtype());
    job->start = [this, send, receive, count, type, op](MPI_Request* request) {
      return MPI_Ireduce_scatter_block(send.raw_data(), receive.raw_data(), count, type, mpi_op(op),
                                       comm_, request);
    };
    job->finish = [this, receive, output, staged, op] {
      if (op == ReduceOp::kAvg) divide(receive, size_);
      if (staged) from_f32(receive, output);
    };
    return enqueue(std::move(job));
  }

  std::shared_ptr<Work> all_gather(const Tensor& input, const Tensor& output) override {
    check_tensor(input, "all_gather", "input");
    check_tensor(output, "all_gather", "output");
    check_chunked(output, input, "all_gather", "output");
    auto job = make_op("all_gather");
    const int count = mpi_count(input.numel(), job->label);
    mpi_count(output.numel(), job->label);
    const MPI_Datatype type = mpi_type(input.dtype());
    job->start = [this, input, output, count, type](MPI_Request* request) {
      return MPI_Iallgather(input.raw_data(), count, type, output.raw_data(), count, type, comm_,
                            request);
    };
    job->finish = [] {};
    return enqueue(std::move(job));
  }

  std::shared_ptr<Work> broadcast(const Tensor& tensor, int root) override {
    check_tensor(tensor, "broadcast", "input");
    check_root(root, "broadcast");
    auto job = make_op("broadcast");
    const int count = mpi_count(tensor.numel(), job->label);
    const MPI_Datatype type = mpi_type(tensor.dtype());
    job->start = [this, tensor, count, type, root](MPI_Request* request) {
      return MPI_Ibcast(tensor.raw_data(), count, type, root, comm_, request);
    };
    job->finish = [] {};
    return enqueue(std::move(job));
  }

  void barrier() override {
    auto job = make_op("barrier");
    job->start = [this](MPI_Request* request) { return MPI_Ibarrier(comm_, request); };
    job->finish = [] {};
    enqueue(std::move(job))->wait();
  }

  void abort(const std::string& reason) override {
    fail(format("{}: aborted on this rank: {}", describe("abort"), reason));
  }

 private:
  std::shared_ptr<MpiOp> make_op(const char* name) {
    auto op = std::make_shared<MpiOp>();
    op->label = describe(name);
    return op;
  }

  std::shared_ptr<Work> enqueue(std::shared_ptr<MpiOp> op) {
    if (!failure().empty()) raise_failure();
    {
      std::lock_guard lock(shared_->mutex);
      shared_->queue.push_back(op);
    }
    shared_->cv.notify_all();
    return std::make_shared<MpiWork>(shared_, std::move(op));
  }

  // Fails the communicator: the first message wins; the worker fails everything outstanding.
  void fail(const std::string& message) {
    set_failure(message);
    process_.mark_failed();
    {
      std::lock_guard lock(shared_->mutex);
      if (shared_->failure.empty()) shared_->failure = failure();
    }
    shared_->cv.notify_all();
  }

  // The worker: starts queued collectives, tests those in flight, enforces the timeout.
  void run() {
    std::vector<std::shared_ptr<MpiOp>> inflight;
    auto pause = std::chrono::microseconds(0);
    int idle_polls = 0;
    for (;;) {
      std::vector<std::shared_ptr<MpiOp>> fresh;
      std::string failure_now;
      {
        std::unique_lock lock(shared_->mutex);
        if (inflight.empty()) {
          shared_->cv.wait(lock, [&] {
            return shared_->stop || !shared_->queue.empty() || !shared_->failure.empty();
          });
        }
        failure_now = shared_->failure;
        if (failure_now.empty() && shared_->stop && shared_->queue.empty() && inflight.empty()) {
          return;
        }
        fresh.assign(shared_->queue.begin(), shared_->queue.end());
        shared_->queue.clear();
      }
      if (!failure_now.empty()) {
        for (auto& op : fresh) inflight.push_back(op);
        drain_failed(inflight);
        return;
      }
      bool progressed = false;
      std::shared_ptr<MpiOp> current;
      try {
        for (auto& op : fresh) {
          current = op;
          int rc;
          {
            std::lock_guard lock(process_.mutex());
            rc = op->start(&op->request);
          }
          STRAND_CHECK(rc == MPI_SUCCESS, "could not start: {}", mpi_error_text(rc));
          op->started = Clock::now();
          inflight.push_back(op);
        }
        for (size_t i = 0; i < inflight.size();) {
          current = inflight[i];
          int flag = 0;
          MPI_Status status;
          int rc;
          {
            std::lock_guard lock(process_.mutex());
            rc = MPI_Test(&current->request, &flag, &status);
          }
          STRAND_CHECK(rc == MPI_SUCCESS, "MPI_Test failed: {}", mpi_error_text(rc));
          if (!flag) {
            ++i;
            continue;
          }
          current->finish();
          complete(*current, "");
          inflight.erase(inflight.begin() + static_cast<std::ptrdiff_t>(i));
          progressed = true;
        }
        current = nullptr;
        if (!inflight.empty() && Clock::now() - inflight.front()->started > options_.timeout) {
          fail(format("{} timed out after {} s: {}", inflight.front()->label,
                      options_.timeout.count() / 1000.0, probe_->ask()));
          continue;
        }
      } catch (const std::exception& e) {
        const std::string what = e.what();
        fail(format("{} failed: {}; {}", current ? current->label : describe("collective"),
                    what.substr(0, what.find('\n')), probe_->ask()));
        continue;
      }
      // While nothing moves: yield for a while (small messages finish within microseconds),
      // then sleep with a growing pause, so a long wait does not steal a core from compute.
      idle_polls = progressed ? 0 : idle_polls + 1;
      pause = idle_polls < 64
                  ? std::chrono::microseconds(0)
                  : std::min(std::chrono::microseconds(200), pause + std::chrono::microseconds(5));
      if (!inflight.empty() && pause.count() == 0) std::this_thread::yield();
      if (!inflight.empty() && pause.count() > 0) std::this_thread::sleep_for(pause);
    }
  }

  void complete(MpiOp& op, const std::string& error) {
    {
      std::lock_guard lock(shared_->mutex);
      op.finished = true;
      op.error = error;
    }
    shared_->cv.notify_all();
  }

  // After a failure: every outstanding collective ends with the communicator's error.
  void drain_failed(std::vector<std::shared_ptr<MpiOp>>& ops) {
    std::string message = failure();
    {
      std::lock_guard lock(shared_->mutex);
      for (auto& op : shared_->queue) ops.push_back(op);
      shared_->queue.clear();
      for (auto& op : ops) {
        if (op->finished) continue;
        op->finished = true;
        op->error = message;
      }
    }
    shared_->cv.notify_all();
  }

  MpiProcess& process_;
  std::shared_ptr<MpiShared> shared_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  std::unique_ptr<MpiLivenessProbe> probe_;
  std::thread worker_;
};

}  // namespace

std::shared_ptr<Communicator> make_mpi_communicator(const LaunchInfo& launch, CommOptions options) {
  return std::make_shared<MpiCommunicator>(launch, options);
}

std::string mpi_broadcast_bytes(const LaunchInfo& launch, const std::string& bytes, size_t size,
                                const CommOptions& options) {
  MpiProcess& process = MpiProcess::get();
  int mpi_rank = 0, mpi_size = 0;
  std::string buffer(size, '\0');
  MPI_Request request = MPI_REQUEST_NULL;
  {
    std::lock_guard lock(process.mutex());
    STRAND_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank));
    STRAND_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &mpi_size));
    STRAND_CHECK(mpi_size == launch.world_size && mpi_rank == launch.rank,
                 "comm: the launcher says {}, but MPI sees rank {} of {}", launch.str(), mpi_rank,
                 mpi_size);
    if (mpi_rank == 0) {
      STRAND_CHECK(bytes.size() == size, "comm: rank 0 broadcasts {} bytes, expected {}",
                   bytes.size(), size);
      buffer = bytes;
    }
    STRAND_MPI_CHECK(MPI_Ibcast(buffer.data(), mpi_count(static_cast<int64_t>(size), "bootstrap"),
                                MPI_BYTE, 0, MPI_COMM_WORLD, &request));
  }
  const auto deadline = Clock::now() + options.timeout;
  for (;;) {
    int flag = 0;
    {
      std::lock_guard lock(process.mutex());
      STRAND_MPI_CHECK(MPI_Test(&request, &flag, MPI_STATUS_IGNORE));
    }
    if (flag) return buffer;
    if (Clock::now() > deadline) {
      process.mark_failed();
      STRAND_FAIL("comm bootstrap over MPI on {} timed out after {} s: not every rank arrived",
                  launch.str(), options.timeout.count() / 1000.0);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

std::unique_ptr<LivenessProbe> make_mpi_liveness_probe(const LaunchInfo& launch,
                                                       const CommOptions& options) {
  return std::make_unique<MpiLivenessProbe>(launch, options);
}

void mpi_mark_failed() {
  if (mpi_running()) MpiProcess::get().mark_failed();
}

bool mpi_running() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

#else  // !STRAND_WITH_MPI

std::string mpi_broadcast_bytes(const LaunchInfo& launch, const std::string&, size_t,
                                const CommOptions&) {
  STRAND_FAIL("comm: {} needs MPI for its bootstrap, but this build of strand has none",
              launch.str());
}

std::shared_ptr<Communicator> make_mpi_communicator(const LaunchInfo& launch, CommOptions) {
  STRAND_FAIL(
      "comm: {} needs MPI for CPU tensors, but this build of strand has none (install OpenMPI "
      "and reconfigure with -DSTRAND_MPI=ON)",
      launch.str());
}

std::unique_ptr<LivenessProbe> make_mpi_liveness_probe(const LaunchInfo& launch,
                                                       const CommOptions&) {
  STRAND_FAIL("comm: {} asks for an MPI liveness probe, but this build of strand has no MPI",
              launch.str());
}

void mpi_mark_failed() {}

bool mpi_running() { return false; }

#endif

}  // namespace strand::runtime
