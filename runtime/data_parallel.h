// Data-parallel gradient reduction: parameters grouped into buckets whose all-reduce is launched
// from the leaf gradient hooks as soon as the bucket is complete, so communication overlaps the
// rest of backward; finish() waits, leaves the weighted average in .grad and reports how much of
// the communication was hidden behind backward.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/comm.h"
#include "runtime/tensor.h"

namespace strand::runtime {

struct ReducerOptions {
  double bucket_mb = 25;          // bucket capacity (MiB of gradient in the parameters' dtype)
  bool bf16_compression = false;  // all-reduce buckets in bf16 (gradients are pre-scaled first)
  // false: no hooks, every bucket is filled from .grad and launched in finish() (for engines such
  // as DP-SGD's clipper that write .grad after backward; no overlap then).
  bool from_hooks = true;
};

// Communication of one step (or, summed, of many): the time some bucket was in flight is split
// into the part before backward ended (hidden) and the part finish() waited for (exposed). Launch
// and completion are host clocks; completion is observed by polling the bucket's Work at every
// gradient hook and in finish(), so it is late by at most one hook interval. On CUDA, where the
// host runs ahead of the device, the exposed part is measured with events on the compute stream
// (backward's end there to the reduced gradients' availability) and comm_seconds stays the
// host's view of the communication.
struct ReduceStats {
  int64_t steps = 0;
  int64_t buckets = 0;               // all-reduces launched
  int64_t launched_in_backward = 0;  // of those, launched from hooks (before finish())
  double bytes = 0;                  // bytes all-reduced by this rank (wire dtype)
  double comm_seconds = 0;           // union over buckets of [launch, done]
  double hidden_seconds = 0;         // part of comm_seconds before backward ended
  double exposed_seconds = 0;        // part of comm_seconds after backward ended
  double hidden_fraction() const { return comm_seconds > 0 ? hidden_seconds / comm_seconds : 1; }
  ReduceStats& operator+=(const ReduceStats& other);
};

// Which parameters share a bucket: indices into params, walked in reverse (the order backward
// produces gradients in), a new bucket when the next one would exceed cap_bytes or changes dtype
// or device. Every parameter lands in exactly one bucket; a parameter larger than the cap is a
// bucket of its own.
std::vector<std::vector<size_t>> assign_buckets(const std::vector<Tensor>& params,
                                                double cap_bytes);

class GradReducer {
 public:
  // params: leaves that require grad, contiguous, on the communicator's device. Hooks are
  // registered on them; they stay harmless after the reducer is gone.
  GradReducer(std::shared_ptr<Communicator> comm, std::vector<Tensor> params,
              ReducerOptions options = {});
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Before a backward: this rank's weight in the average (e.g. its examples in the step) and the
  // sum of the weights over all ranks. Without a call every rank weighs 1 (the plain mean). A rank
  // with nothing to contribute calls prepare(0, total) and then finish() without a backward.
  void prepare(double weight, double total_weight);
  // After backward: launches the buckets still waiting (a parameter without a gradient on this
  // rank counts as zero), waits for all of them and leaves in every .grad the weighted average
  // over ranks, sum_r w_r g_r / sum_r w_r. A parameter that no rank produced a gradient for keeps
  // no gradient, as in one process. A .grad set without passing through the hook (e.g. by a
  // per-example clipping engine) is read here, so prepare(1, 1) + finish() sums such gradients
  // over ranks. Errors of the communicator (a lost rank) are raised here.
  const ReduceStats& finish();

  const ReduceStats& last() const { return last_; }
  const ReduceStats& total() const { return total_; }
  const std::vector<std::vector<size_t>>& buckets() const;
  Communicator& comm() const { return *comm_; }

 private:
  struct State;
  std::shared_ptr<Communicator> comm_;
  std::shared_ptr<State> state_;  // shared with the hooks, which hold it weakly
  ReduceStats last_, total_;
};

// Makes every rank's tensors equal to root's (parameters at start-up, buffers), in place.
void broadcast_tensors(Communicator& comm, const std::vector<Tensor>& tensors, int root = 0);

}  // namespace strand::runtime
