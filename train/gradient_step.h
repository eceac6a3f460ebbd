// How a training step turns the batch's loss into the gradients the optimiser steps on: one
// strategy per mode (plain, data-parallel reducer, ZeRO-1, DP-SGD clipper), chosen once the
// trainer's mode is known (make_gradient_step), so the training loop has one path.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/data_parallel.h"
#include "runtime/optim.h"
#include "runtime/per_sample.h"
#include "runtime/tensor.h"
#include "runtime/zero_optimizer.h"

namespace strand::train {

class GradientStep {
 public:
  virtual ~GradientStep() = default;
  // loss: this rank's mean loss over its `rows` rows (undefined when the rank got none); global:
  // the global batch's rows (> 0). Leaves in .grad (zeroed by the caller) what the optimiser
  // steps on, and returns the step's gradient communication (all zero without any).
  virtual runtime::ReduceStats backward(const runtime::Tensor& loss, int64_t rows,
                                        int64_t global) = 0;
  // The global batch is empty (Poisson sampling drew nobody). True when the optimiser still steps
  // on what this left in .grad (DP-SGD: noise alone).
  virtual bool empty_batch(runtime::Optimizer& optimizer) { return false; }
};

// What the strategies are made of; the trainer owns every object pointed to.
struct GradientStepParts {
  std::vector<runtime::Tensor> params;              // for clipping the total gradient norm
  double clip_norm = 0;                             // 0: no clipping
  runtime::GradReducer* reducer = nullptr;          // data parallel (also under DP-SGD)
  runtime::ZeroOptimizer* zero = nullptr;           // ZeRO-1: it reduces and clips itself
  runtime::PerSampleClipper* clipper = nullptr;     // DP-SGD
  double noise_multiplier = 0, expected_batch = 0;  // DP-SGD's mechanism
};

// DP-SGD when a clipper is given, else ZeRO-1, else the reducer, else plain backward.
std::unique_ptr<GradientStep> make_gradient_step(const GradientStepParts& parts);

}  // namespace strand::train
