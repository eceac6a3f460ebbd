// Bucketed, hook-driven gradient all-reduce (data_parallel.h).
#include "runtime/data_parallel.h"

#include <algorithm>

#include "core/error.h"
#include "runtime/autograd.h"
#include "runtime/device.h"
#include "runtime/ops.h"

namespace strand::runtime {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

ReduceStats& ReduceStats::operator+=(const ReduceStats& o) {
  steps += o.steps;
  buckets += o.buckets;
  launched_in_backward += o.launched_in_backward;
  bytes += o.bytes;
  comm_seconds += o.comm_seconds;
  hidden_seconds += o.hidden_seconds;
  exposed_seconds += o.exposed_seconds;
  return *this;
}

std::vector<std::vector<size_t>> assign_buckets(const std::vector<Tensor>& params,
                                                double cap_bytes) {
  STRAND_CHECK(cap_bytes > 0, "gradient buckets need a positive size, got {} bytes", cap_bytes);
  std::vector<std::vector<size_t>> buckets;
  double filled = 0;
  for (size_t k = params.size(); k-- > 0;) {
    const Tensor& p = params[k];
    const double bytes = static_cast<double>(p.numel()) * static_cast<double>(p.element_size());
    const bool fresh = buckets.empty() || filled + bytes > cap_bytes ||
                       p.dtype() != params[buckets.back().front()].dtype() ||
                       !(p.device() == params[buckets.back().front()].device());
    if (fresh) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(k);
    filled += bytes;
  }
  return buckets;
}

struct GradReducer::State {
  struct Bucket {
    std::vector<size_t> params;    // indices into State::params
    std::vector<int64_t> offsets;  // element offset of each parameter in flat
    int64_t grad_elems = 0;        // gradients first, then one "has a gradient" flag per parameter
    Tensor flat;                   // the parameters' dtype, on their device
    Tensor wire;                   // bf16 twin of flat when compressing
    std::vector<uint8_t> filled;
    size_t pending = 0;
    std::shared_ptr<Work> work;
    bool launched = false, done = false, in_backward = false;
    Clock::time_point launch_time, done_time;
  };

  Communicator* comm = nullptr;
  ReducerOptions options;
  std::vector<Tensor> params;
  std::vector<std::pair<size_t, size_t>> where;  // parameter -> (bucket, position in it)
  std::vector<std::vector<size_t>> layout;
  std::vector<Bucket> buckets;
  bool in_step = false;
  double scale = 1;
  size_t next_launch = 0;

  void begin(double weight, double total) {
    STRAND_CHECK(!in_step,
                 "GradReducer::prepare called twice without finish() (a step's gradients must be "
                 "reduced before the next step starts)");
    STRAND_CHECK(weight >= 0 && total > 0 && weight <= total * (1 + 1e-12),
                 "GradReducer::prepare: weight {} must lie in [0, total weight {}] and the total "
                 "must be positive",
                 weight, total);
    in_step = true;
    scale = weight / total;
    next_launch = 0;
    for (Bucket& b : buckets) {
      std::fill(b.filled.begin(), b.filled.end(), 0);
      b.pending = b.params.size();
      b.work.reset();
      b.launched = b.done = b.in_backward = false;
    }
  }

  void on_grad(size_t index, const Tensor& grad) {
    if (!in_step) begin(1, comm->size());
    auto [bi, pos] = where[index];
    Bucket& b = buckets[bi];
    STRAND_CHECK(!b.launched,
                 "parameter {} (shape {}) received a gradient after its bucket was all-reduced: "
                 "call finish() after every backward",
                 index, params[index].shape());
    fill(b, pos, grad);
    poll();
    // Buckets start in bucket order on every rank, so the ranks' collectives always match even
    // when their backward passes complete buckets in different orders.
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0) {
      launch(buckets[next_launch++], true);
    }
  }

  void fill(Bucket& b, size_t pos, const Tensor& grad) {
    const int64_t n = params[b.params[pos]].numel();
    Tensor dst = b.flat.slice(0, b.offsets[pos], b.offsets[pos] + n);
    const Tensor g = grad.reshape({n});
    dst.copy_(scale == 1 ? g : mul(g, scale));
    if (!b.filled[pos]) {
      b.filled[pos] = 1;
      --b.pending;
    }
  }

  void launch(Bucket& b, bool from_hook) {
    const size_t k = b.params.size();
    std::vector<float> flags(k);
    for (size_t j = 0; j < k; ++j) {
      flags[j] = b.filled[j] ? 1.0f : 0.0f;
      if (!b.filled[j]) {
        b.flat.slice(0, b.offsets[j], b.offsets[j] + params[b.params[j]].numel()).zero_();
      }
    }
    b.flat.slice(0, b.grad_elems, b.grad_elems + static_cast<int64_t>(k))
        .copy_(from_vector<float>(flags, {static_cast<int64_t>(k)}));
    if (b.wire.defined()) b.wire.copy_(b.flat);
    b.launch_time = Clock::now();
    b.work = comm->all_reduce(b.wire.defined() ? b.wire : b.flat, ReduceOp::kSum);
    b.launched = true;
    b.in_backward = from_hook;
  }

  // Notes the buckets that have finished (their completion time is what the overlap report uses).
  void poll() {
    const auto now = Clock::now();
    for (size_t i = 0; i < next_launch; ++i) {
      Bucket& b = buckets[i];
      if (b.launched && !b.done && b.work->done()) {
        b.done = true;
        b.done_time = now;
      }
    }
  }
};

GradReducer::GradReducer(std::shared_ptr<Communicator> comm, std::vector<Tensor> params,
                         ReducerOptions options)
    : comm_(std::move(comm)), state_(std::make_shared<State>()) {
  STRAND_CHECK(comm_ != nullptr, "GradReducer needs a communicator");
  STRAND_CHECK(options.bucket_mb > 0, "gradient bucket size must be positive, got {} MB",
               options.bucket_mb);
  STRAND_CHECK(!params.empty(), "GradReducer: no parameters to reduce");
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    STRAND_CHECK(p.defined() && p.is_leaf() && p.requires_grad() && is_floating(p.dtype()),
                 "GradReducer: parameter {} must be a floating leaf tensor that requires grad", i);
    STRAND_CHECK(p.is_contiguous(), "GradReducer: parameter {} (shape {}) must be contiguous", i,
                 p.shape());
    STRAND_CHECK(p.device() == comm_->device(),
                 "GradReducer: parameter {} is on {} but the communicator is on {}", i,
                 p.device().str(), comm_->device().str());
    for (size_t j = 0; j < i; ++j) {
      STRAND_CHECK(!params[j].is_same(p), "GradReducer: parameter {} is listed twice ({} and {})",
                   i, j, i);
    }
  }
  State& s = *state_;
  s.comm = comm_.get();
  s.options = options;
  s.params = std::move(params);
  s.layout = assign_buckets(s.params, options.bucket_mb * 1024 * 1024);
  s.where.resize(s.params.size());
  for (size_t bi = 0; bi < s.layout.size(); ++bi) {
    State::Bucket b;
    b.params = s.layout[bi];
    for (size_t pos = 0; pos < b.params.size(); ++pos) {
      s.where[b.params[pos]] = {bi, pos};
      b.offsets.push_back(b.grad_elems);
      b.grad_elems += s.params[b.params[pos]].numel();
    }
    const Tensor& first = s.params[b.params.front()];
    const int64_t total = b.grad_elems + static_cast<int64_t>(b.params.size());
    b.flat = zeros({total}, {.dtype = first.dtype(), .device = first.device()});
    if (options.bf16_compression && first.dtype() != DType::kBF16) {
      b.wire = zeros({total}, {.dtype = DType::kBF16, .device = first.device()});
    }
    b.filled.assign(b.params.size(), 0);
    b.pending = b.params.size();
    s.buckets.push_back(std::move(b));
  }
  const std::weak_ptr<State> weak = state_;
  for (size_t i = 0; i < s.params.size() && options.from_hooks; ++i) {
    s.params[i].register_grad_hook([weak, i](const Tensor& grad) {
      if (auto st = weak.lock()) st->on_grad(i, grad);
    });
  }
}

GradReducer::~GradReducer() = default;

const std::vector<std::vector<size_t>>& GradReducer::buckets() const { return state_->layout; }

void GradReducer::prepare(double weight, double total_weight) {
  state_->begin(weight, total_weight);
}

const ReduceStats& GradReducer::finish() {
  State& s = *state_;
  if (!s.in_step) s.begin(1, comm_->size());
  const auto backward_end = Clock::now();
  // On CUDA the host runs ahead of the device: what the step waits for is measured on the compute
  // stream, from the end of backward there to the point where it may use the reduced gradients.
  const Device device = comm_->device();
  std::unique_ptr<Event> device_end, device_ready;
  if (device.is_cuda()) {
    device_end = std::make_unique<Event>(true);
    device_ready = std::make_unique<Event>(true);
    device_end->record(current_stream(device.index));
  }
  s.poll();
  // Gradients written without the hook (a per-example clipping engine sets .grad itself) are
  // read now, for the buckets not yet launched.
  for (size_t bi = s.next_launch; bi < s.buckets.size(); ++bi) {
    State::Bucket& b = s.buckets[bi];
    for (size_t pos = 0; pos < b.params.size(); ++pos) {
      const Tensor& p = s.params[b.params[pos]];
      if (!b.filled[pos] && p.grad().defined()) s.fill(b, pos, p.grad());
    }
  }
  while (s.next_launch < s.buckets.size()) s.launch(s.buckets[s.next_launch++], false);
  ReduceStats st;
  st.steps = 1;
  for (State::Bucket& b : s.buckets) {
    if (!b.done) {
      b.work->wait();
      b.done = true;
      b.done_time = Clock::now();
    }
    ++st.buckets;
    if (b.in_backward) ++st.launched_in_backward;
    const Tensor& sent = b.wire.defined() ? b.wire : b.flat;
    st.bytes += static_cast<double>(sent.numel()) * static_cast<double>(sent.element_size());
  }
  s.in_step = false;
  double device_exposed = -1;
  if (device_ready) {
    device_ready->record(current_stream(device.index));
    device_ready->synchronize();
    device_exposed = std::max(0.0, device_end->elapsed_ms(*device_ready) / 1e3);
  }
  // The time some bucket was in flight: buckets start in order, so merging in that order works.
  Clock::time_point start{}, end{};
  bool open = false;
  auto close = [&] {
    st.comm_seconds += seconds(end - start);
    st.hidden_seconds += seconds(std::max(start, std::min(end, backward_end)) - start);
  };
  for (const State::Bucket& b : s.buckets) {
    if (open && b.launch_time <= end) {
      end = std::max(end, b.done_time);
      continue;
    }
    if (open) close();
    start = b.launch_time, end = b.done_time, open = true;
  }
  if (open) close();
  st.exposed_seconds = st.comm_seconds - st.hidden_seconds;
  if (device_exposed >= 0) {
    st.exposed_seconds = std::min(device_exposed, st.comm_seconds);
    st.hidden_seconds = st.comm_seconds - st.exposed_seconds;
  }

  NoGradGuard no_grad;
  for (State::Bucket& b : s.buckets) {
    if (b.wire.defined()) b.flat.copy_(b.wire);
    const int64_t k = static_cast<int64_t>(b.params.size());
    const auto flags = b.flat.slice(0, b.grad_elems, b.grad_elems + k).to_vector<double>();
    for (size_t pos = 0; pos < b.params.size(); ++pos) {
      Tensor& p = s.params[b.params[pos]];
      if (flags[pos] <= 0) {
        p.zero_grad();  // no rank produced a gradient: the optimiser skips it, as in one process
        continue;
      }
      const Tensor avg =
          b.flat.slice(0, b.offsets[pos], b.offsets[pos] + p.numel()).view(p.shape());
      const Tensor g = p.grad();
      if (g.defined() && g.is_contiguous()) {
        Tensor target = g;
        target.copy_(avg);
      } else {
        p.set_grad(avg.clone());
      }
    }
  }
  last_ = st;
  total_ += st;
  return last_;
}

void broadcast_tensors(Communicator& comm, const std::vector<Tensor>& tensors, int root) {
  std::vector<std::shared_ptr<Work>> works;
  works.reserve(tensors.size());
  for (const Tensor& t : tensors) {
    STRAND_CHECK(t.defined() && t.is_contiguous(),
                 "broadcast_tensors: tensors must be defined and contiguous");
    works.push_back(comm.broadcast(t, root));
  }
  for (auto& w : works) w->wait();
}

}  // namespace strand::runtime
