// strand::Error construction and the out-of-line throw used by STRAND_CHECK.
#include "core/error.h"

#include <string_view>

namespace strand {
namespace {

// Control characters as escapes, so a message is always one line even when it quotes user input
// (a config key or a FASTA name holding a newline).
std::string one_line(const std::string& message) {
  std::string out;
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if ((u < 0x20 && c != '\t') || u == 0x7f) {
      out += format("\\x{}{}", "0123456789abcdef"[u >> 4], "0123456789abcdef"[u & 15]);
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Error::Error(std::string message, std::string where)
    : std::runtime_error(one_line(message) + " (at " + where + ")"),
      message_(one_line(message)),
      where_(std::move(where)) {}

namespace detail {

// Paths as the project names them ("runtime/tensor.cpp"): the compiler gives __FILE__ either
// absolute (under STRAND_SOURCE_DIR) or relative to the build folder ("../runtime/tensor.cpp",
// when a compiler cache rewrites paths).
namespace {
std::string_view project_path(std::string_view file) {
  constexpr std::string_view source_dir = STRAND_SOURCE_DIR "/";
  if (file.starts_with(source_dir)) return file.substr(source_dir.size());
  while (file.starts_with("../")) file.remove_prefix(3);
  return file;
}
}  // namespace

void throw_error(std::string message, const char* file, int line, const char* function) {
  throw Error(std::move(message), format("{}:{} in {}", project_path(file), line, function));
}

}  // namespace detail
}  // namespace strand
