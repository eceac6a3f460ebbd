// DP-SGD for a Module (see privacy.h).
#include "layers/privacy.h"

#include "core/error.h"

namespace strand::layers {

runtime::PerSampleClipper make_private(Module& model, const runtime::PerSampleOptions& options) {
  for (const auto& [name, module] : model.named_modules()) {
    STRAND_CHECK(module->type_name() != "BatchNorm1d",
                 "DP-SGD: layer '{}' is BatchNorm1d, which mixes the examples of a batch, so no "
                 "per-example gradient (and no privacy guarantee) exists; use GroupNorm or "
                 "LayerNorm instead (e.g. model basset-groupnorm)",
                 name.empty() ? model.type_name() : name);
  }
  return runtime::PerSampleClipper(model.named_parameters(), options);
}

}  // namespace strand::layers
