// Version strings, filled in by CMake for this file alone.
#include "core/version.h"

namespace strand {

const char* version() { return STRAND_VERSION; }
const char* git_commit() { return STRAND_GIT_COMMIT; }

}  // namespace strand
