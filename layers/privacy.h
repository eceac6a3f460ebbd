// DP-SGD for a Module: the per-example clipping engine (runtime/per_sample.h) over the model's
// parameters. A layer the engine cannot cover (BatchNorm1d, which mixes the examples of a batch)
// is refused at the first step with runtime::DpSgdUnsupported, naming the layer.
#pragma once

#include "layers/module.h"
#include "runtime/per_sample.h"

namespace strand::layers {

runtime::PerSampleClipper make_private(Module& model, const runtime::PerSampleOptions& options);

}  // namespace strand::layers
