// The gradient-step strategies (see gradient_step.h).
#include "train/gradient_step.h"

#include "runtime/rng.h"

namespace strand::train {
namespace {

// One process: backward, then the optional total-norm clipping.
class PlainStep final : public GradientStep {
 public:
  explicit PlainStep(const GradientStepParts& p) : parts_(p) {}
  runtime::ReduceStats backward(const runtime::Tensor& loss, int64_t, int64_t) override {
    if (loss.defined()) loss.backward();
    if (parts_.clip_norm > 0) runtime::clip_grad_norm(parts_.params, parts_.clip_norm);
    return {};
  }

 private:
  GradientStepParts parts_;
};

// Data parallel: gradient buckets all-reduced from the backward hooks, weighted by each rank's
// share of the global batch, then the optional clipping of the averaged gradient.
class ReducerStep final : public GradientStep {
 public:
  explicit ReducerStep(const GradientStepParts& p) : parts_(p) {}
  runtime::ReduceStats backward(const runtime::Tensor& loss, int64_t rows,
                                int64_t global) override {
    parts_.reducer->prepare(static_cast<double>(rows), static_cast<double>(global));
    if (loss.defined()) loss.backward();
    const runtime::ReduceStats stats = parts_.reducer->finish();
    if (parts_.clip_norm > 0) runtime::clip_grad_norm(parts_.params, parts_.clip_norm);
    return stats;
  }

 private:
  GradientStepParts parts_;
};

// ZeRO-1: the optimiser reduce-scatters the gradients, clips and steps its shard.
class Zero1Step final : public GradientStep {
 public:
  explicit Zero1Step(const GradientStepParts& p) : parts_(p) {}
  runtime::ReduceStats backward(const runtime::Tensor& loss, int64_t rows,
                                int64_t global) override {
    parts_.zero->prepare(static_cast<double>(rows), static_cast<double>(global));
    if (loss.defined()) loss.backward();
    return {};
  }

 private:
  GradientStepParts parts_;
};

// DP-SGD: per-example clipping on this rank's rows (the loss is their mean); across ranks the
// clipped sums are summed and the noise, the same draw on every rank (their generators agree), is
// added once for the global batch.
class DpSgdStep final : public GradientStep {
 public:
  explicit DpSgdStep(const GradientStepParts& p) : parts_(p) {}
  runtime::ReduceStats backward(const runtime::Tensor& loss, int64_t rows, int64_t) override {
    if (loss.defined()) parts_.clipper->backward(loss, rows, static_cast<double>(rows));
    runtime::ReduceStats stats;
    if (parts_.reducer) {
      parts_.reducer->prepare(1, 1);
      stats = parts_.reducer->finish();
    }
    add_noise();
    return stats;
  }
  bool empty_batch(runtime::Optimizer& optimizer) override {
    optimizer.zero_grad();
    add_noise();
    return true;
  }

 private:
  void add_noise() {
    parts_.clipper->add_noise(runtime::default_generator(), parts_.noise_multiplier,
                              parts_.expected_batch);
  }
  GradientStepParts parts_;
};

}  // namespace

std::unique_ptr<GradientStep> make_gradient_step(const GradientStepParts& parts) {
  if (parts.clipper) return std::make_unique<DpSgdStep>(parts);
  if (parts.zero) return std::make_unique<Zero1Step>(parts);
  if (parts.reducer) return std::make_unique<ReducerStep>(parts);
  return std::make_unique<PlainStep>(parts);
}

}  // namespace strand::train
