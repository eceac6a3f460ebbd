// Checked 64-bit arithmetic for sizes and shapes that come from files or the command line, and a
// memory estimate checked before large allocations: hostile sizes end in a one-line error naming
// the numbers, never in signed overflow, std::bad_alloc after minutes, or the OOM killer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace strand {

inline int64_t checked_mul(int64_t a, int64_t b, std::string_view what) {
  int64_t r = 0;
  STRAND_CHECK(!__builtin_mul_overflow(a, b, &r), "{}: {} x {} does not fit in 64 bits", what, a,
               b);
  return r;
}

inline int64_t checked_add(int64_t a, int64_t b, std::string_view what) {
  int64_t r = 0;
  STRAND_CHECK(!__builtin_add_overflow(a, b, &r), "{}: {} + {} does not fit in 64 bits", what, a,
               b);
  return r;
}

// Bytes this process could still allocate: MemAvailable + SwapFree from /proc/meminfo (physical
// memory where that file is missing), at most STRAND_MEMORY_LIMIT when that is set (e.g. "4GiB":
// the fuzz harnesses and shared machines cap what one run may take).
uint64_t available_memory_bytes();

// "4GiB", "512MiB", "2G", "100000" (bytes): a byte count from a flag or variable; `what` names
// it in the error for anything else.
uint64_t parse_bytes(std::string_view text, std::string_view what);

// A cap a command's flag puts on the memory it may use (e.g. `check data --max-memory 4GiB`);
// `name` ("--max-memory") is named in check_memory's errors. 0 removes the cap.
void set_memory_limit(uint64_t bytes, std::string_view name);

// The default of a command's --max-memory: 4 GiB, or half the machine's physical memory when that
// is less (a small VM or container).
uint64_t default_memory_limit();
// The same as text parse_bytes reads back ("4096MiB"), for the flag's default in --help.
std::string default_memory_limit_text();

// Fails, naming `what`, both sizes and the limit that applies, when `bytes` exceeds the available
// memory (or the cap of set_memory_limit or STRAND_MEMORY_LIMIT).
void check_memory(uint64_t bytes, std::string_view what);

// A byte count in human units ("12.3 GiB") for messages.
std::string format_bytes(double bytes);

}  // namespace strand
