// Collective communication between the ranks of a data-parallel job: one Communicator interface
// with a single-process implementation, MPI for CPU tensors and NCCL for CUDA tensors. Every
// collective is asynchronous (a Work handle) and bounded by a timeout; a failed or lost rank
// surfaces as a strand::Error naming the operation, the lost rank when known and the caller's
// context (e.g. "epoch 3 step 120"), never as a hang.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "runtime/launch.h"
#include "runtime/tensor.h"

namespace strand::runtime {

enum class ReduceOp : uint8_t { kSum, kAvg, kMax, kMin };
std::string_view reduce_op_name(ReduceOp op);

enum class CommBackend : uint8_t { kSingle, kMpi, kNccl };
std::string_view comm_backend_name(CommBackend backend);

struct CommOptions {
  // Longest any one collective (or the bootstrap) may take before it fails; the environment
  // variable STRAND_COMM_TIMEOUT_S (seconds) overrides it in make_communicator. (MPI_Init itself,
  // which waits for every rank under mpirun, is the one wait strand cannot bound.)
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
  // After a timeout the surviving ranks spend at most this long finding out which ranks still
  // answer, so the error can name the lost ones.
  std::chrono::milliseconds probe_timeout = std::chrono::seconds(3);
};

// A collective in flight. Its tensors must not be read or written until wait() returns.
class Work {
 public:
  virtual ~Work() = default;
  // Blocks until the collective has finished; its results are then visible on the host (CPU)
  // or to every stream of the device (CUDA). Raises the communicator's error on failure or
  // timeout. Waiting twice is allowed.
  virtual void wait() = 0;
  // True once finished; never blocks. Raises like wait() when the collective failed.
  virtual bool done() = 0;
};

// The ranks of one job. Collectives must be called in the same order with matching shapes and
// dtypes on every rank. Tensors must be contiguous and live on device(). Methods may be called
// from any thread but not concurrently for the same communicator (calls are ordered).
class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  const Device& device() const { return device_; }
  const CommOptions& options() const { return options_; }
  virtual CommBackend backend() const = 0;

  // In place: every rank ends with the reduction over all ranks. kAvg needs a floating dtype.
  // bf16 is reduced in float32 and rounded once.
  virtual std::shared_ptr<Work> all_reduce(const Tensor& tensor, ReduceOp op) = 0;
  // input has size() * output.numel() elements; rank r receives the reduction of the r-th
  // chunk (flat, in row-major order) into output.
  virtual std::shared_ptr<Work> reduce_scatter(const Tensor& input, const Tensor& output,
                                               ReduceOp op) = 0;
  // output has size() * input.numel() elements: rank r's input lands in the r-th chunk.
  virtual std::shared_ptr<Work> all_gather(const Tensor& input, const Tensor& output) = 0;
  // In place: root's values overwrite everyone else's.
  virtual std::shared_ptr<Work> broadcast(const Tensor& tensor, int root) = 0;
  // Blocks until every rank has reached it (or the timeout passes).
  virtual void barrier() = 0;
  // Fails this communicator for good: collectives in flight and later ones raise an error that
  // quotes reason; NCCL's communicator is aborted. Other ranks see this rank as lost. Returns
  // without waiting for other ranks; calling it again does nothing. Once an MPI communicator has
  // failed (abort, timeout, error) the process exits without MPI_Finalize, which would wait for
  // the lost rank, so mpirun ends the job and reports it.
  virtual void abort(const std::string& reason) = 0;
  // The error that failed the communicator, or empty while it is healthy.
  std::string failure() const;

  // A label carried into every error, such as "epoch 3 step 120"; the trainer updates it.
  void set_context(std::string context);
  std::string context() const;

 protected:
  Communicator(int rank, int size, int local_rank, Device device, CommOptions options);
  // Checks a collective's tensors: defined, contiguous, on device(), dtype supported for op.
  void check_tensor(const Tensor& t, const char* op, const char* role) const;
  // Checks that big holds size() chunks of chunk's size and dtype.
  void check_chunked(const Tensor& big, const Tensor& chunk, const char* op,
                     const char* big_role) const;
  void check_root(int root, const char* op) const;
  // "all_reduce on rank 1 of 3 (epoch 3 step 120)": the prefix of every error message.
  std::string describe(std::string_view op) const;
  // Records the first failure; later collectives raise it at once.
  void set_failure(const std::string& message);
  [[noreturn]] void raise_failure() const;

  int rank_, size_, local_rank_;
  Device device_;
  CommOptions options_;

 private:
  mutable std::mutex mutex_;
  std::string context_;
  std::string failure_;
};

// The device this rank computes on: CPU stays CPU; CUDA becomes cuda:<local rank> when several
// ranks share the host (an error when the host has fewer devices than local ranks), else the
// requested device.
Device device_for_rank(const LaunchInfo& launch, Device requested);

// The communicator for this launch: one process -> kSingle (no MPI, no network); CPU device ->
// MPI (initialised here if the program has not, with errors returned rather than fatal); CUDA
// device -> NCCL on that device (see device_for_rank), bootstrapped over MPI when launched by
// mpirun or when MPI runs, and over the TCP rendezvous (master_addr:master_port) otherwise.
std::shared_ptr<Communicator> make_communicator(const LaunchInfo& launch, Device device,
                                                CommOptions options = {});

// Start-up check that every rank agrees on something (model architecture, data checksum, seed):
// gathers each rank's value and raises, on every rank, an error naming key, the ranks that differ
// from rank 0 and their values (shortened). Cheap: a few small collectives.
void verify_same(Communicator& comm, std::string_view key, std::string_view value);

// Gathers one string per rank (rank order) through the communicator.
std::vector<std::string> all_gather_strings(Communicator& comm, std::string_view value);

}  // namespace strand::runtime
