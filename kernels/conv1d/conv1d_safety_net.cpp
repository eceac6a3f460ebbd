// conv1d's safety-net tolerances (conv1d_safety_net.h).
#include "kernels/conv1d/conv1d_safety_net.h"

namespace strand::kernels {

double safety_tolerance(Conv1dPrecision precision) {
  switch (precision) {
    case Conv1dPrecision::kFp32:
      return 1e-4;
    case Conv1dPrecision::kTf32:
      return 1e-2;
    case Conv1dPrecision::kBf16:
      return 5e-2;
  }
  return 1e-4;
}

}  // namespace strand::kernels
