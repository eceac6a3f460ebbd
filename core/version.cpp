// Version strings: the version from CMake for this file alone, the commit from a header the
// build rewrites when HEAD changes (cmake/WriteCommit.cmake).
#include "core/version.h"

#include "strand_commit.h"

namespace strand {

const char* version() { return STRAND_VERSION; }
const char* git_commit() { return STRAND_GIT_COMMIT; }

}  // namespace strand
