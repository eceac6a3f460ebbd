// strand::Error construction and the out-of-line throw used by STRAND_CHECK.
#include "kernels/error.h"

#include <cstring>

namespace strand {

Error::Error(std::string message, std::string where)
    : std::runtime_error(message + " (at " + where + ")"),
      message_(std::move(message)),
      where_(std::move(where)) {}

namespace detail {

void throw_error(std::string message, const char* file, int line, const char* function) {
  // Keep paths short: from the project's top folder on.
  const char* short_file = file;
  for (const char* top : {"/kernels/", "/runtime/", "/layers/", "/data/", "/rules/", "/apps/"}) {
    if (const char* at = std::strstr(file, top)) {
      short_file = at + 1;
      break;
    }
  }
  throw Error(std::move(message), format("{}:{} in {}", short_file, line, function));
}

}  // namespace detail
}  // namespace strand
