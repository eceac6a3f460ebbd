// DP-SGD for a Module (see privacy.h).
#include "layers/privacy.h"

namespace strand::layers {

runtime::PerSampleClipper make_private(Module& model, const runtime::PerSampleOptions& options) {
  return runtime::PerSampleClipper(model.named_parameters(), options);
}

}  // namespace strand::layers
