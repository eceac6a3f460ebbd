// Which strand this is: the release version and the git commit it was built from (recorded in
// checkpoints, benchmark output and `strand info`).
#pragma once

namespace strand {

const char* version();
const char* git_commit();

}  // namespace strand
