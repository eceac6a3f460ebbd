// The Communicator base (checks, context, failure state), the single-process communicator, the
// factory that picks a backend for a launch, and the start-up agreement checks (comm.h).
#include "runtime/comm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "runtime/comm_backends.h"
#include "runtime/rendezvous.h"

namespace strand::runtime {

std::string_view reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return "sum";
    case ReduceOp::kAvg:
      return "avg";
    case ReduceOp::kMax:
      return "max";
    case ReduceOp::kMin:
      return "min";
  }
  return "?";
}

std::string_view comm_backend_name(CommBackend backend) {
  switch (backend) {
    case CommBackend::kSingle:
      return "single";
    case CommBackend::kMpi:
      return "mpi";
    case CommBackend::kNccl:
      return "nccl";
  }
  return "?";
}

Communicator::Communicator(int rank, int size, int local_rank, Device device, CommOptions options)
    : rank_(rank), size_(size), local_rank_(local_rank), device_(device), options_(options) {
  STRAND_CHECK(size >= 1 && rank >= 0 && rank < size,
               "communicator: rank {} and size {} do not describe a job", rank, size);
  STRAND_CHECK(options.timeout.count() > 0, "communicator: the timeout must be positive, got {} ms",
               options.timeout.count());
}

void Communicator::set_context(std::string context) {
  std::lock_guard lock(mutex_);
  context_ = std::move(context);
}

std::string Communicator::context() const {
  std::lock_guard lock(mutex_);
  return context_;
}

std::string Communicator::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

void Communicator::set_failure(const std::string& message) {
  std::lock_guard lock(mutex_);
  if (failure_.empty()) failure_ = message;
}

void Communicator::raise_failure() const { STRAND_FAIL("{}", failure()); }

std::string Communicator::describe(std::string_view op) const {
  const std::string ctx = context();
  std::string text =
      format("{} {} on rank {} of {}", comm_backend_name(backend()), op, rank_, size_);
  if (!ctx.empty()) text += " (" + ctx + ")";
  return text;
}

void Communicator::check_tensor(const Tensor& t, const char* op, const char* role) const {
  STRAND_CHECK(t.defined(), "{}: the {} tensor is undefined", describe(op), role);
  STRAND_CHECK(t.device() == device_, "{}: the {} tensor is on {} but the communicator is on {}",
               describe(op), role, t.device(), device_);
  STRAND_CHECK(t.is_contiguous(), "{}: the {} tensor must be contiguous (shape {}, strides {})",
               describe(op), role, t.shape(), t.strides());
}

namespace {

// A collective that finished when it was issued.
class DoneWork : public Work {
 public:
  void wait() override {}
  bool done() override { return true; }
};

// One rank: reductions are the identity, gathers and scatters are copies, nothing can be lost.
class SingleCommunicator : public Communicator {
 public:
  SingleCommunicator(Device device, CommOptions options) : Communicator(0, 1, 0, device, options) {}
  CommBackend backend() const override { return CommBackend::kSingle; }

  std::shared_ptr<Work> all_reduce(const Tensor& tensor, ReduceOp op) override {
    check_live("all_reduce");
    check_tensor(tensor, "all_reduce", "input");
    check_reduce_dtype(tensor.dtype(), op, "all_reduce");
    return std::make_shared<DoneWork>();
  }
  std::shared_ptr<Work> reduce_scatter(const Tensor& input, const Tensor& output,
                                       ReduceOp op) override {
    check_live("reduce_scatter");
    check_tensor(input, "reduce_scatter", "input");
    check_tensor(output, "reduce_scatter", "output");
    check_reduce_dtype(input.dtype(), op, "reduce_scatter");
    check_chunked(input, output, "reduce_scatter", "input");
    copy(input, output);
    return std::make_shared<DoneWork>();
  }
  std::shared_ptr<Work> all_gather(const Tensor& input, const Tensor& output) override {
    check_live("all_gather");
    check_tensor(input, "all_gather", "input");
    check_tensor(output, "all_gather", "output");
    check_chunked(output, input, "all_gather", "output");
    copy(input, output);
    return std::make_shared<DoneWork>();
  }
  std::shared_ptr<Work> broadcast(const Tensor& tensor, int root) override {
    check_live("broadcast");
    check_tensor(tensor, "broadcast", "input");
    check_root(root, "broadcast");
    return std::make_shared<DoneWork>();
  }
  void barrier() override { check_live("barrier"); }
  void abort(const std::string& reason) override {
    set_failure(format("{}: aborted: {}", describe("abort"), reason));
  }

 private:
  void check_live(const char*) const {
    if (!failure().empty()) raise_failure();
  }
  void copy(const Tensor& input, const Tensor& output) {
    if (input.is_same(output) || input.raw_data() == output.raw_data()) return;
    output.view({-1}).copy_(input.view({-1}));
    if (device_.is_cuda()) synchronize(device_);
  }
};

}  // namespace

void check_reduce_dtype(DType dtype, ReduceOp op, const char* what) {
  STRAND_CHECK(dtype == DType::kF32 || dtype == DType::kF64 || dtype == DType::kBF16 ||
                   dtype == DType::kI32 || dtype == DType::kI64,
               "comm {}: cannot reduce {} tensors (supported: f32, f64, bf16, i32, i64)", what,
               dtype);
  STRAND_CHECK(op != ReduceOp::kAvg || is_floating(dtype),
               "comm {}: avg needs a floating dtype, got {} (use sum and divide)", what, dtype);
}

void Communicator::check_chunked(const Tensor& big, const Tensor& chunk, const char* op,
                                 const char* big_role) const {
  STRAND_CHECK(big.dtype() == chunk.dtype(), "{}: input is {} but output is {}", describe(op),
               big.dtype(), chunk.dtype());
  STRAND_CHECK(big.numel() == chunk.numel() * size_,
               "{}: the {} tensor has {} elements, expected {} ({} ranks x {})", describe(op),
               big_role, big.numel(), chunk.numel() * size_, size_, chunk.numel());
}

void Communicator::check_root(int root, const char* op) const {
  STRAND_CHECK(root >= 0 && root < size_, "{}: root {} is not a rank (size {})", describe(op), root,
               size_);
}

std::string lost_ranks_message(const std::vector<int>& lost, std::chrono::milliseconds window) {
  if (lost.empty()) {
    return "every rank still answers, so they called different collectives or sizes";
  }
  return format("lost rank{} {} (no answer within {} s)", lost.size() > 1 ? "s" : "",
                lost.size() == 1 ? std::to_string(lost[0]) : format("{}", lost),
                window.count() / 1000.0);
}

namespace {

class RendezvousLivenessProbe : public LivenessProbe {
 public:
  RendezvousLivenessProbe(const LaunchInfo& launch, const CommOptions& options)
      : launch_(launch), window_(options.probe_timeout) {}
  std::string ask() override {
    return lost_ranks_message(rendezvous_missing_ranks(launch_, window_), window_);
  }

 private:
  LaunchInfo launch_;
  std::chrono::milliseconds window_;
};

}  // namespace

std::unique_ptr<LivenessProbe> make_rendezvous_liveness_probe(const LaunchInfo& launch,
                                                              const CommOptions& options) {
  return std::make_unique<RendezvousLivenessProbe>(launch, options);
}

CommOptions options_from_env(CommOptions options) {
  if (const char* text = std::getenv("STRAND_COMM_TIMEOUT_S")) {
    char* end = nullptr;
    const double seconds = std::strtod(text, &end);
    STRAND_CHECK(end != text && *end == '\0' && seconds > 0,
                 "STRAND_COMM_TIMEOUT_S='{}' is not a positive number of seconds", text);
    options.timeout = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
  }
  return options;
}

Device device_for_rank(const LaunchInfo& launch, Device requested) {
  if (requested.is_cpu() || launch.local_world_size <= 1) return requested;
  const int count = cuda_device_count();
  STRAND_CHECK(launch.local_rank < count,
               "comm: {} needs CUDA device {}, but this host has {}: launch at most {} rank{} per "
               "host",
               launch.str(), launch.local_rank, count, count, count == 1 ? "" : "s");
  return Device::cuda(launch.local_rank);
}

std::shared_ptr<Communicator> make_communicator(const LaunchInfo& launch, Device device,
                                                CommOptions options) {
  options = options_from_env(options);
  if (!launch.distributed()) {
    check_device(device);
    return std::make_shared<SingleCommunicator>(device, options);
  }
  if (device.is_cuda()) {
    return make_nccl_communicator(launch, device, options);
  }
  return make_mpi_communicator(launch, options);
}

std::vector<std::string> all_gather_strings(Communicator& comm, std::string_view value) {
  const int n = comm.size();
  const Device dev = comm.device();
  Tensor length = from_vector<int64_t>({static_cast<int64_t>(value.size())}, {1}).to(dev);
  Tensor lengths = zeros({n}, {.dtype = DType::kI64, .device = dev});
  comm.all_gather(length, lengths)->wait();
  const std::vector<int64_t> sizes = lengths.to_vector<int64_t>();
  const int64_t longest = std::max<int64_t>(1, *std::max_element(sizes.begin(), sizes.end()));

  Tensor mine = zeros({longest}, {.dtype = DType::kU8});
  std::memcpy(mine.raw_data(), value.data(), value.size());
  mine = mine.to(dev);
  Tensor all = zeros({n * longest}, {.dtype = DType::kU8, .device = dev});
  comm.all_gather(mine, all)->wait();
  const Tensor host = all.cpu();
  const char* bytes = static_cast<const char*>(host.raw_data());
  std::vector<std::string> out(n);
  for (int r = 0; r < n; ++r) out[r].assign(bytes + r * longest, sizes[r]);
  return out;
}

void verify_same(Communicator& comm, std::string_view key, std::string_view value) {
  const std::vector<std::string> values = all_gather_strings(comm, value);
  const auto shorten = [](const std::string& s) {
    return s.size() <= 48 ? s : s.substr(0, 45) + "...";
  };
  std::string differing;
  for (int r = 1; r < comm.size(); ++r) {
    if (values[r] == values[0]) continue;
    differing += format("{}rank {} has '{}'", differing.empty() ? "" : ", ", r, shorten(values[r]));
  }
  STRAND_CHECK(differing.empty(), "ranks disagree on {}: rank 0 has '{}', {}", key,
               shorten(values[0]), differing);
}

}  // namespace strand::runtime
