// BatchLoader: turns a list of dataset examples into batches of u8 base codes [N, L] (optionally
// float one-hot [N, 4, L]) and labels [N, T] as runtime Tensors, built ahead of the consumer by
// background worker threads into a bounded queue. Shuffling and reverse-complement augmentation
// are seeded per epoch, so a run is reproducible whatever the number of workers. With a CUDA
// device, workers fill page-locked host tensors and the loader copies each batch to the device
// asynchronously on its own stream one batch ahead, so copies overlap the consumer's compute.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/split_dataset.h"
#include "runtime/device.h"
#include "runtime/tensor.h"

namespace strand::data {

// How an epoch's batches are drawn. kShuffle: fixed-size batches of a seeded shuffled order.
// kPoisson (what DP-SGD's privacy accounting assumes): every step includes each example
// independently with probability sampling_rate, so batch sizes vary and a batch may be empty; an
// epoch is round(1 / sampling_rate) steps (each example seen once on average). Only Poisson
// sampling is covered by a DP-SGD guarantee from the accountant.
enum class Sampling { kShuffle, kPoisson };

struct LoaderOptions {
  int64_t batch_size = 64;
  uint64_t seed = 0;
  bool shuffle = true;  // a new seeded order every epoch
  Sampling sampling = Sampling::kShuffle;
  double sampling_rate = 0.0;       // kPoisson: q in (0, 1]; 0: batch_size * world_size / examples
  bool reverse_complement = false;  // augmentation: each example flipped with probability 1/2
  bool one_hot = false;             // also fill Batch::one_hot
  bool drop_last = false;           // drop a final batch smaller than batch_size
  int prefetch = 4;                 // batches built ahead of the consumer (queue bound)
  int workers = 1;                  // background threads building batches
  // Where batches are delivered. cuda:N: host batches live in pinned memory and are copied with
  // cudaMemcpyAsync on the loader's copy stream; the consumer's current stream waits on an event
  // (the host does not), and the next batch's copy runs while the consumer computes on this one.
  runtime::Device device = runtime::Device::cpu();
  // Data-parallel shard: with world_size W, batch b of this rank holds positions
  // [b*W*B + rank*B, +B) of the epoch order (B = batch_size), so the W ranks' batches b together
  // are exactly batch b of one process at batch W*B, and every rank sees the same number of
  // batches. At the end of an epoch a rank's batch may be smaller than B, or empty. Poisson
  // sampling draws each step's global sample as one process would (default rate W*B / examples)
  // and gives rank r the r-th of W near-equal parts.
  int rank = 0;
  int world_size = 1;
};

struct Batch {
  int64_t epoch = 0;
  int64_t index = 0;              // batch number within the epoch
  int64_t size = 0;               // examples in this batch (N)
  int64_t length = 0;             // bases per example (L)
  int64_t num_outputs = 0;        // label floats per example (T)
  int64_t global_size = 0;        // examples in this batch summed over the data-parallel ranks
  int64_t global_first = 0;       // where this rank's rows start within those
  runtime::Tensor codes;          // u8 [N, L], A,C,G,T,N = 0..4 (data/encoding.h)
  runtime::Tensor one_hot;        // f32 [N, 4, L] when LoaderOptions::one_hot, else undefined
  runtime::Tensor labels;         // f32 [N, T]
  std::vector<int64_t> examples;  // dataset index of each row
  std::vector<uint8_t> reverse_complemented;  // 1 where the row was flipped by augmentation
};

class BatchLoader {
 public:
  // Loads the given examples of dataset (e.g. SplitDataset::train()).
  BatchLoader(std::shared_ptr<const Dataset> dataset, std::vector<int64_t> examples,
              LoaderOptions options);
  // The train or valid part of a split dataset; the test part needs unseal_test() and the
  // constructor above, so it is never loaded by accident. Asking for Split::kTest is an error.
  BatchLoader(const SplitDataset& splits, Split which, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  int64_t num_examples() const { return static_cast<int64_t>(examples_.size()); }
  int64_t batches_per_epoch() const;
  // kPoisson: the probability q with which each step includes each example; kShuffle: the
  // fraction of the examples in a full batch.
  double sampling_rate() const;
  const LoaderOptions& options() const { return options_; }

  // Starts building the batches of an epoch in the background (stopping any epoch in flight).
  void start_epoch(int64_t epoch);
  // The next batch of the current epoch in order, on options().device, or nullopt at its end. An
  // exception raised while building a batch (e.g. a bad base in the FASTA) is rethrown here.
  // For a CUDA device, call it from the thread whose current stream computes on the batch.
  std::optional<Batch> next();

  // The order in which an epoch visits the examples (dataset indices), for tests and reports.
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  // The examples of each batch of an epoch (dataset indices), for tests and reports.
  std::vector<std::vector<int64_t>> epoch_batches(int64_t epoch) const;

 private:
  struct Staged;  // a batch whose device copy is in flight, with its host twin and events

  void stop();
  std::optional<Batch> next_host();
  std::unique_ptr<Staged> stage(Batch host);
  // The examples of an epoch in batch order, and where each batch starts in it (num + 1 entries).
  struct Plan {
    std::vector<int64_t> order;
    std::vector<int64_t> offsets;
  };
  Plan epoch_plan(int64_t epoch) const;
  void worker_loop(int64_t epoch, Plan plan);
  Batch build(int64_t epoch, int64_t b, const Plan& plan, const Dataset::Reader& reader);
  bool flip(int64_t epoch, int64_t position) const;

  std::shared_ptr<const Dataset> dataset_;
  std::vector<int64_t> examples_;
  LoaderOptions options_;

  std::mutex mutex_;
  std::condition_variable ready_cv_;  // consumer waits for its batch
  std::condition_variable space_cv_;  // workers wait for queue space
  std::map<int64_t, Batch> ready_;
  std::exception_ptr error_;
  int64_t next_claim_ = 0;
  int64_t next_consume_ = 0;
  int64_t num_batches_ = 0;
  int64_t epoch_ = -1;
  bool stopping_ = false;
  std::vector<std::thread> threads_;

  std::unique_ptr<runtime::Stream> copy_stream_;  // CUDA device only
  std::unique_ptr<Staged> staged_;                // next batch, its copy already enqueued
  std::unique_ptr<Staged> retired_;  // last batch handed out: keeps its pinned memory alive
  // Pinned host batches whose copies were enqueued, for workers to refill: page-locking memory
  // (cudaHostAlloc) costs far more than filling it, so each buffer is allocated once. Guarded by
  // mutex_; it holds at most 4 batches.
  std::vector<Batch> pinned_pool_;
};

}  // namespace strand::data
