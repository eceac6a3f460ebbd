// Memory estimates against what the machine has (see checked.h).
#include "core/checked.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace strand {

uint64_t available_memory_bytes() {
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
  const uint64_t available = available_memory_bytes();
  STRAND_CHECK(bytes <= available, "{} needs about {} of memory, more than the {} available", what,
               format_bytes(static_cast<double>(bytes)),
               format_bytes(static_cast<double>(available)));
}

}  // namespace strand
