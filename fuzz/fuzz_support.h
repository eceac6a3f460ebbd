// What every harness shares. strand's readers take paths, so each input is written to a file in a
// private temporary folder first. A strand::Error with a one-line message is the expected answer
// to bad input; anything else is a finding libFuzzer reports: a crash, a sanitizer report, a hang,
// another exception type escaping (an unclear message), or a message of several lines.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/error.h"

namespace strand::fuzz {

// The folder every input of this process is written to (removed at exit).
inline const std::filesystem::path& work_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("strand-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] { std::filesystem::remove_all(work_dir()); });
    return d;
  }();
  return dir;
}

// Writes bytes to work_dir()/name, replacing what was there; returns the path.
inline std::string write_file(std::string_view bytes, const std::string& name) {
  const std::string path = (work_dir() / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) std::abort();
  return path;
}

// Settings every harness starts with: models and buffers larger than this are refused by the
// memory checks (core/checked.h) instead of being allocated, so an input asking for a 10 GB model
// is an error, not an out-of-memory report.
inline void init() { setenv("STRAND_MEMORY_LIMIT", "1GiB", 1); }

// Runs the reader; a strand::Error is fine when its message is one non-empty line.
template <typename F>
int run(F&& reader) {
  try {
    reader();
  } catch (const strand::Error& e) {
    const std::string& m = e.message();
    if (m.empty() || m.find('\n') != std::string::npos) {
      std::fprintf(stderr, "fuzz: error message is not one line: '%s'\n", m.c_str());
      std::abort();
    }
  }
  return 0;
}

}  // namespace strand::fuzz
