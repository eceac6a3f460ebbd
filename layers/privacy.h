// DP-SGD for a Module: the per-example clipping engine (runtime/per_sample.h) over the model's
// parameters, after refusing layers that mix the examples of a batch (BatchNorm1d) by name.
#pragma once

#include "layers/module.h"
#include "runtime/per_sample.h"

namespace strand::layers {

// A strand::Error names the first BatchNorm1d layer and suggests GroupNorm or LayerNorm.
runtime::PerSampleClipper make_private(Module& model, const runtime::PerSampleOptions& options);

}  // namespace strand::layers
