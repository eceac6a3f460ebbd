// Test support: N ranks as N threads of one process, joined by a communicator whose collectives
// meet in shared memory (synchronously, reducing in double in rank order). It lets data-parallel
// logic (buckets, weights, unused parameters, shards) be checked against one process inside a
// single test program; the real MPI path is checked by the *_mpi_test programs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"
#include "runtime/comm.h"

namespace strand::testing {

class ThreadGroup {
 public:
  explicit ThreadGroup(int size) : size_(size), slots_(size) {}
  int size() const { return size_; }

  // Every rank hands in its values; each gets back all ranks' values once all have arrived.
  std::vector<std::vector<double>> exchange(int rank, std::vector<double> values) {
    std::unique_lock lock(mutex_);
    const int64_t generation = generation_;
    slots_[rank] = std::move(values);
    if (++arrived_ == size_) {
      result_ = slots_;
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      const bool met =
          cv_.wait_for(lock, std::chrono::seconds(60), [&] { return generation_ != generation; });
      STRAND_CHECK(met, "thread communicator: rank {} waited 60 s for the other ranks", rank);
    }
    return result_;
  }

 private:
  int size_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  int64_t generation_ = 0;
  std::vector<std::vector<double>> slots_, result_;
};

class ThreadCommunicator : public runtime::Communicator {
 public:
  ThreadCommunicator(std::shared_ptr<ThreadGroup> group, int rank)
      : Communicator(rank, group->size(), rank, runtime::Device::cpu(), {}),
        group_(std::move(group)) {}
  runtime::CommBackend backend() const override { return runtime::CommBackend::kSingle; }

  int64_t collectives() const { return collectives_; }

  std::shared_ptr<runtime::Work> all_reduce(const Tensor& t, runtime::ReduceOp op) override {
    check_tensor(t, "all_reduce", "input");
    const auto all = exchange(t);
    write(t, reduce(all, op));
    return done();
  }
  std::shared_ptr<runtime::Work> reduce_scatter(const Tensor& input, const Tensor& output,
                                                runtime::ReduceOp op) override {
    check_chunked(input, output, "reduce_scatter", "input");
    const auto sum = reduce(exchange(input), op);
    const int64_t n = output.numel();
    write(output, std::vector<double>(sum.begin() + rank_ * n, sum.begin() + (rank_ + 1) * n));
    return done();
  }
  std::shared_ptr<runtime::Work> all_gather(const Tensor& input, const Tensor& output) override {
    check_chunked(output, input, "all_gather", "output");
    std::vector<double> out;
    for (const auto& v : exchange(input)) out.insert(out.end(), v.begin(), v.end());
    write(output, out);
    return done();
  }
  std::shared_ptr<runtime::Work> broadcast(const Tensor& t, int root) override {
    write(t, exchange(t)[root]);
    return done();
  }
  void barrier() override { group_->exchange(rank_, {}); }
  void abort(const std::string& reason) override { set_failure(reason); }

 private:
  struct Done : runtime::Work {
    void wait() override {}
    bool done() override { return true; }
  };
  static std::shared_ptr<runtime::Work> done() { return std::make_shared<Done>(); }

  std::vector<std::vector<double>> exchange(const Tensor& t) {
    ++collectives_;
    return group_->exchange(rank_, t.to_vector<double>());
  }
  static std::vector<double> reduce(const std::vector<std::vector<double>>& all,
                                    runtime::ReduceOp op) {
    std::vector<double> r = all[0];
    for (size_t k = 1; k < all.size(); ++k) {
      for (size_t i = 0; i < r.size(); ++i) {
        const double v = all[k][i];
        if (op == runtime::ReduceOp::kMax)
          r[i] = std::max(r[i], v);
        else if (op == runtime::ReduceOp::kMin)
          r[i] = std::min(r[i], v);
        else
          r[i] += v;
      }
    }
    if (op == runtime::ReduceOp::kAvg) {
      for (double& v : r) v /= static_cast<double>(all.size());
    }
    return r;
  }
  static void write(const Tensor& t, const std::vector<double>& values) {
    Tensor target = t;
    target.copy_(runtime::from_vector<double>(values, t.shape()));
  }

  std::shared_ptr<ThreadGroup> group_;
  int64_t collectives_ = 0;
};

// Runs fn(rank, comm) on `ranks` threads and rethrows the first exception any of them raised.
inline void run_ranks(int ranks,
                      const std::function<void(int, std::shared_ptr<ThreadCommunicator>)>& fn) {
  auto group = std::make_shared<ThreadGroup>(ranks);
  std::vector<std::exception_ptr> errors(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      try {
        fn(r, std::make_shared<ThreadCommunicator>(group, r));
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace strand::testing
