// BatchLoader: seeded epoch orders, worker threads, an ordered bounded queue, error hand-off.
#include "data/loader.h"

#include <algorithm>
#include <cmath>

#include "core/checked.h"
#include "core/error.h"
#include "data/encoding.h"
#include "data/random.h"

namespace strand::data {
namespace {

runtime::Tensor host_tensor(const runtime::Shape& shape, DType dtype, bool pinned) {
  return pinned ? runtime::empty_pinned(shape, dtype) : runtime::empty(shape, {.dtype = dtype});
}

}  // namespace

struct BatchLoader::Staged {
  Batch device;                           // what next() hands out
  Batch host;                             // pinned source of the copy, alive until the copy is done
  std::unique_ptr<runtime::Event> ready;  // recorded on the copy stream after the copies
};

BatchLoader::BatchLoader(std::shared_ptr<const Dataset> dataset, std::vector<int64_t> examples,
                         LoaderOptions options)
    : dataset_(std::move(dataset)), examples_(std::move(examples)), options_(options) {
  STRAND_CHECK(dataset_ != nullptr, "BatchLoader needs a dataset");
  STRAND_CHECK(options_.batch_size > 0, "batch size must be positive, got {}", options_.batch_size);
  STRAND_CHECK(options_.prefetch > 0, "prefetch depth must be positive, got {}", options_.prefetch);
  STRAND_CHECK(options_.workers > 0, "worker count must be positive, got {}", options_.workers);
  STRAND_CHECK(options_.world_size > 0 && options_.rank >= 0 && options_.rank < options_.world_size,
               "data-parallel rank {} is outside a world of {} ranks", options_.rank,
               options_.world_size);
  STRAND_CHECK(!examples_.empty(), "BatchLoader: no examples to load");
  STRAND_CHECK(options_.sampling_rate >= 0 && options_.sampling_rate <= 1,
               "Poisson sampling rate must be in (0, 1], got {}", options_.sampling_rate);
  runtime::check_device(options_.device);
  if (options_.device.is_cuda()) {
    copy_stream_ = std::make_unique<runtime::Stream>(options_.device.index);
  }
  for (int64_t i : examples_) {
    STRAND_CHECK(i >= 0 && i < dataset_->size(), "example {} is outside the dataset [0, {})", i,
                 dataset_->size());
  }
}

BatchLoader::BatchLoader(const SplitDataset& splits, Split which, LoaderOptions options)
    : BatchLoader(
          splits.shared_dataset(),
          [&] {
            STRAND_CHECK(which != Split::kTest,
                         "the test split is sealed: call SplitDataset::unseal_test(reason) "
                         "for the final evaluation and load its examples explicitly");
            return which == Split::kTrain ? splits.train() : splits.valid();
          }(),
          options) {}

BatchLoader::~BatchLoader() {
  stop();
  staged_.reset();
  retired_.reset();
}

int64_t BatchLoader::batches_per_epoch() const {
  const int64_t n = num_examples(),
                b = checked_mul(options_.batch_size, options_.world_size, "global batch size");
  if (options_.sampling == Sampling::kPoisson)
    return std::max<int64_t>(1, std::llround(1.0 / sampling_rate()));
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

double BatchLoader::sampling_rate() const {
  if (options_.sampling == Sampling::kPoisson && options_.sampling_rate > 0)
    return options_.sampling_rate;
  return std::min(1.0, static_cast<double>(options_.batch_size * options_.world_size) /
                           static_cast<double>(num_examples()));
}

BatchLoader::Plan BatchLoader::epoch_plan(int64_t epoch) const {
  Plan plan;
  const int64_t batches = batches_per_epoch();
  plan.offsets.push_back(0);
  if (options_.sampling == Sampling::kShuffle) {
    plan.order = epoch_order(epoch);
    const int64_t b = options_.batch_size * options_.world_size, n = num_examples();
    for (int64_t k = 1; k <= batches; ++k) plan.offsets.push_back(std::min(n, k * b));
    return plan;
  }
  // Poisson: per step, the gaps between included examples are geometric with parameter q, so a
  // step costs its batch size rather than the dataset size.
  const double q = sampling_rate();
  const int64_t n = num_examples();
  for (int64_t step = 0; step < batches; ++step) {
    SplitMix64 gen(
        mix64(options_.seed ^ 0x9015504ULL ^
              mix64(static_cast<uint64_t>(epoch) * 1000003ULL + static_cast<uint64_t>(step))));
    if (q >= 1.0) {
      plan.order.insert(plan.order.end(), examples_.begin(), examples_.end());
    } else {
      const double log_miss = std::log1p(-q);
      int64_t j = -1;
      while (true) {
        const double u = 1.0 - gen.uniform();  // (0, 1]
        const double gap = std::floor(std::log(u) / log_miss);
        if (gap >= static_cast<double>(n - j - 1)) break;
        j += static_cast<int64_t>(gap) + 1;
        plan.order.push_back(examples_[j]);
      }
    }
    plan.offsets.push_back(static_cast<int64_t>(plan.order.size()));
  }
  return plan;
}

std::vector<std::vector<int64_t>> BatchLoader::epoch_batches(int64_t epoch) const {
  const Plan plan = epoch_plan(epoch);
  std::vector<std::vector<int64_t>> out;
  for (size_t b = 0; b + 1 < plan.offsets.size(); ++b)
    out.emplace_back(plan.order.begin() + plan.offsets[b],
                     plan.order.begin() + plan.offsets[b + 1]);
  return out;
}

std::vector<int64_t> BatchLoader::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order = examples_;
  if (options_.shuffle) {
    // Fisher-Yates on our own generator: the same order on every platform and library.
    uint64_t state = mix64(options_.seed ^ mix64(static_cast<uint64_t>(epoch) + 1));
    for (size_t i = order.size(); i > 1; --i) {
      state = mix64(state);
      const size_t j = static_cast<size_t>(state % i);
      std::swap(order[i - 1], order[j]);
    }
  }
  return order;
}

bool BatchLoader::flip(int64_t epoch, int64_t position) const {
  return options_.reverse_complement && (mix64(options_.seed ^ 0x7c0ffeeULL ^
                                               mix64(static_cast<uint64_t>(epoch) * 1000003ULL +
                                                     static_cast<uint64_t>(position))) &
                                         1);
}

void BatchLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  space_cv_.notify_all();
  ready_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  ready_.clear();
  error_ = nullptr;
  stopping_ = false;
}

void BatchLoader::start_epoch(int64_t epoch) {
  stop();
  staged_.reset();
  Plan plan = epoch_plan(epoch);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    epoch_ = epoch;
    next_claim_ = 0;
    next_consume_ = 0;
    num_batches_ = batches_per_epoch();
  }
  const int n =
      static_cast<int>(std::min<int64_t>(options_.workers, std::max<int64_t>(num_batches_, 1)));
  for (int w = 0; w < n; ++w) threads_.emplace_back(&BatchLoader::worker_loop, this, epoch, plan);
}

void BatchLoader::worker_loop(int64_t epoch, Plan plan) {
  std::optional<Dataset::Reader> reader;
  while (true) {
    int64_t b = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_cv_.wait(lock, [&] {
        return stopping_ || error_ || next_claim_ >= num_batches_ ||
               next_claim_ < next_consume_ + options_.prefetch;
      });
      if (stopping_ || error_ || next_claim_ >= num_batches_) return;
      b = next_claim_++;
    }
    try {
      if (!reader) reader.emplace(dataset_->reader());
      Batch batch = build(epoch, b, plan, *reader);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(b, std::move(batch));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    ready_cv_.notify_all();
    space_cv_.notify_all();  // an error stops the other workers too
  }
}

Batch BatchLoader::build(int64_t epoch, int64_t b, const Plan& plan,
                         const Dataset::Reader& reader) {
  const Dataset& d = *dataset_;
  // The plan's batch b is the global batch (all ranks' rows); this rank takes its part: B rows at
  // rank * B for fixed-size batches, the rank-th of world_size near-equal parts of a Poisson draw.
  const std::vector<int64_t>& order = plan.order;
  const int64_t start = plan.offsets[b], end = plan.offsets[b + 1];
  const int64_t world = options_.world_size, rank = options_.rank;
  int64_t first = 0, n = 0;
  if (options_.sampling == Sampling::kPoisson) {
    first = start + (end - start) * rank / world;
    n = start + (end - start) * (rank + 1) / world - first;
  } else {
    first = std::min(end, start + rank * options_.batch_size);
    n = std::min(options_.batch_size, end - first);
  }
  const int64_t L = d.length(), T = d.num_outputs();
  Batch batch;
  batch.epoch = epoch;
  batch.index = b;
  batch.size = n;
  batch.length = L;
  batch.num_outputs = T;
  batch.global_size = end - start;
  batch.global_first = first - start;
  const bool pinned = options_.device.is_cuda();
  if (pinned) {
    // Reuse a pinned batch of the same size once its copy to the device has finished.
    std::unique_lock<std::mutex> lock(mutex_);
    for (size_t k = 0; k < pinned_pool_.size(); ++k) {
      if (pinned_pool_[k].size == n && pinned_pool_[k].one_hot.defined() == options_.one_hot) {
        Batch recycled = std::move(pinned_pool_[k]);
        pinned_pool_.erase(pinned_pool_.begin() + static_cast<int64_t>(k));
        lock.unlock();
        for (const auto* t : {&recycled.codes, &recycled.labels, &recycled.one_hot}) {
          if (t->defined()) t->storage()->wait_async_reads();
        }
        batch.codes = std::move(recycled.codes);
        batch.labels = std::move(recycled.labels);
        batch.one_hot = std::move(recycled.one_hot);
        break;
      }
    }
  }
  if (!batch.codes.defined()) {
    batch.codes = host_tensor({n, L}, DType::kU8, pinned);
    batch.labels = host_tensor({n, T}, DType::kF32, pinned);
    if (options_.one_hot) batch.one_hot = host_tensor({n, 4, L}, DType::kF32, pinned);
  }
  batch.examples.assign(order.begin() + first, order.begin() + first + n);
  batch.reverse_complemented.assign(n, 0);
  uint8_t* all_codes = batch.codes.data<uint8_t>();
  float* all_labels = batch.labels.data<float>();
  for (int64_t r = 0; r < n; ++r) {
    uint8_t* codes = all_codes + r * L;
    reader.read(batch.examples[r], codes, all_labels + r * T);
    if (flip(epoch, first + r)) {
      reverse_complement_codes(codes, L, codes);
      batch.reverse_complemented[r] = 1;
    }
  }
  if (options_.one_hot) {
    float* out = batch.one_hot.data<float>();
    for (int64_t r = 0; r < n; ++r) one_hot(all_codes + r * L, L, out + r * 4 * L);
  }
  return batch;
}

std::optional<Batch> BatchLoader::next_host() {
  std::unique_lock<std::mutex> lock(mutex_);
  STRAND_CHECK(epoch_ >= 0, "BatchLoader::next before start_epoch");
  if (next_consume_ >= num_batches_) return std::nullopt;
  ready_cv_.wait(lock, [&] { return error_ || ready_.count(next_consume_); });
  if (error_) {
    std::exception_ptr e = error_;
    next_consume_ = num_batches_;  // the epoch is over; start_epoch begins a fresh one
    lock.unlock();
    stop();
    std::rethrow_exception(e);
  }
  auto node = ready_.extract(next_consume_);
  ++next_consume_;
  lock.unlock();
  space_cv_.notify_all();
  return std::move(node.mapped());
}

std::optional<Batch> BatchLoader::next() {
  if (!options_.device.is_cuda()) return next_host();
  // One batch in flight: enqueue the following batch's copy, then hand out the staged one.
  if (!staged_) {
    std::optional<Batch> first = next_host();
    if (!first) return std::nullopt;
    staged_ = stage(std::move(*first));
  }
  std::unique_ptr<Staged> current = std::move(staged_);
  if (std::optional<Batch> following = next_host()) staged_ = stage(std::move(*following));
  // The consumer's stream waits for the copy; the host does not.
  current->ready->wait(runtime::current_stream(options_.device.index));
  Batch out = std::move(current->device);
  if (retired_) {
    // Its copy was enqueued a call ago; a worker waits on the copy's event before refilling.
    std::lock_guard<std::mutex> lock(mutex_);
    if (pinned_pool_.size() < 4) pinned_pool_.push_back(std::move(retired_->host));
  }
  retired_ = std::move(current);
  return out;
}

std::unique_ptr<BatchLoader::Staged> BatchLoader::stage(Batch host) {
  auto s = std::make_unique<Staged>();
#if STRAND_WITH_CUDA
  const runtime::Device dev = options_.device;
  runtime::DeviceGuard guard(dev);
  const kernels::Stream compute = runtime::current_stream(dev.index);
  const kernels::Stream copy = copy_stream_->handle();
  Batch& d = s->device;
  d.epoch = host.epoch;
  d.index = host.index;
  d.size = host.size;
  d.length = host.length;
  d.num_outputs = host.num_outputs;
  d.global_size = host.global_size;
  d.global_first = host.global_first;
  d.examples = host.examples;
  d.reverse_complemented = host.reverse_complemented;
  // Device memory comes from the consumer's stream (stream-ordered pool), so it is freed in order
  // after the compute that reads it; the copy stream first waits for that allocation.
  d.codes = runtime::empty(host.codes.shape(), {.dtype = DType::kU8, .device = dev});
  d.labels = runtime::empty(host.labels.shape(), {.dtype = DType::kF32, .device = dev});
  if (host.one_hot.defined()) {
    d.one_hot = runtime::empty(host.one_hot.shape(), {.dtype = DType::kF32, .device = dev});
  }
  runtime::Event allocated;
  allocated.record(compute);
  allocated.wait(copy);
  runtime::copy_host_to_device_async(d.codes, host.codes, copy);
  runtime::copy_host_to_device_async(d.labels, host.labels, copy);
  if (host.one_hot.defined()) runtime::copy_host_to_device_async(d.one_hot, host.one_hot, copy);
  s->ready = std::make_unique<runtime::Event>();
  s->ready->record(copy);
  s->host = std::move(host);
#else
  (void)host;
  runtime::throw_no_cuda("BatchLoader device copies");
#endif
  return s;
}

}  // namespace strand::data
