// Memory estimates against what the machine has (see checked.h).
#include "core/checked.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace strand {

uint64_t parse_bytes(std::string_view text, std::string_view what) {
  const std::string s(text);
  size_t used = 0;
  double value = -1;
  try {
    value = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = s.substr(used);
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  const char* prefixes = "KMGT";
  for (int i = 0; i < 4; ++i) {
    const std::string p(1, prefixes[i]);
    if (unit == p || unit == p + "B" || unit == p + "iB") scale = std::ldexp(1.0, 10 * (i + 1));
  }
  STRAND_CHECK(used > 0 && scale > 0 && value >= 0 && value * scale < 1.8e19,
               "{} '{}' is not a byte count (examples: 4GiB, 512MiB, 100000)", what, s);
  return static_cast<uint64_t>(value * scale);
}

namespace {

uint64_t machine_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  uint64_t total = 0;
  bool found = false;
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb) {
    std::getline(in, unit);
    if (key == "MemAvailable:" || key == "SwapFree:") {
      total += kb * 1024;
      found = true;
    }
  }
  if (found) return total;
  return static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
         static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t flag_limit = 0;
std::string flag_name;

// The cap that applies (0: none) and what sets it.
uint64_t memory_cap(std::string& source) {
  uint64_t cap = 0;
  if (const char* env = std::getenv("STRAND_MEMORY_LIMIT"); env != nullptr && *env) {
    cap = parse_bytes(env, "STRAND_MEMORY_LIMIT");
    source = "STRAND_MEMORY_LIMIT";
  }
  if (flag_limit > 0 && (cap == 0 || flag_limit < cap)) {
    cap = flag_limit;
    source = flag_name;
  }
  return cap;
}

}  // namespace

void set_memory_limit(uint64_t bytes, std::string_view name) {
  flag_limit = bytes;
  flag_name = name;
}

uint64_t default_memory_limit() {
  const uint64_t physical =
      static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return std::min<uint64_t>(uint64_t{4} << 30, physical / 2);
}

std::string default_memory_limit_text() {
  return std::to_string(default_memory_limit() >> 20) + "MiB";
}

uint64_t available_memory_bytes() {
  std::string source;
  const uint64_t machine = machine_memory_bytes(), cap = memory_cap(source);
  return cap > 0 ? std::min(machine, cap) : machine;
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

void check_memory(uint64_t bytes, std::string_view what) {
  std::string source;
  const uint64_t machine = machine_memory_bytes(), cap = memory_cap(source);
  if (cap > 0 && cap < machine) {
    STRAND_CHECK(bytes <= cap, "{} needs about {} of memory, more than the {} allowed by {}", what,
                 format_bytes(static_cast<double>(bytes)), format_bytes(static_cast<double>(cap)),
                 source);
  }
  STRAND_CHECK(bytes <= machine, "{} needs about {} of memory, more than the {} available", what,
               format_bytes(static_cast<double>(bytes)),
               format_bytes(static_cast<double>(machine)));
}

}  // namespace strand
