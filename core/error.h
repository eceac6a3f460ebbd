// strand::Error, the one exception type of the library, and the STRAND_CHECK macro that raises it.
// It lives in the bottom layer because kernels validate their arguments too.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace strand {

// What failed (message) and where (file:line, function), kept apart so callers and tests can read
// either; what() joins them.
class Error : public std::runtime_error {
 public:
  Error(std::string message, std::string where);
  const std::string& message() const { return message_; }
  const std::string& where() const { return where_; }

 private:
  std::string message_;
  std::string where_;
};

namespace detail {

template <typename T>
void stream_value(std::ostream& os, const T& value) {
  os << value;
}
inline void stream_value(std::ostream& os, bool value) { os << (value ? "true" : "false"); }
template <typename T>
void stream_value(std::ostream& os, const std::vector<T>& values) {
  os << '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) os << ", ";
    stream_value(os, values[i]);
  }
  os << ']';
}

inline void format_into(std::ostringstream& os, std::string_view fmt) { os << fmt; }

template <typename First, typename... Rest>
void format_into(std::ostringstream& os, std::string_view fmt, const First& first,
                 const Rest&... rest) {
  const size_t at = fmt.find("{}");
  if (at == std::string_view::npos) {
    os << fmt;  // more arguments than placeholders: the extra ones are dropped
    return;
  }
  os << fmt.substr(0, at);
  stream_value(os, first);
  format_into(os, fmt.substr(at + 2), rest...);
}

[[noreturn]] void throw_error(std::string message, const char* file, int line,
                              const char* function);

}  // namespace detail

// Replaces each "{}" in fmt by the next argument (anything printable with <<; vectors as [a, b]).
// A small stand-in for std::format, which GCC 12 lacks.
template <typename... Args>
std::string format(std::string_view fmt, const Args&... args) {
  std::ostringstream os;
  detail::format_into(os, fmt, args...);
  return os.str();
}

}  // namespace strand

// Raises strand::Error with a formatted message when cond is false.
#define STRAND_CHECK(cond, ...)                                                                   \
  do {                                                                                            \
    if (!(cond)) [[unlikely]]                                                                     \
      ::strand::detail::throw_error(::strand::format(__VA_ARGS__), __FILE__, __LINE__, __func__); \
  } while (0)

// Raises strand::Error unconditionally.
#define STRAND_FAIL(...) \
  ::strand::detail::throw_error(::strand::format(__VA_ARGS__), __FILE__, __LINE__, __func__)
