// Per-device count of live communicators (see concurrent_collectives.h).
#include "kernels/collectives/concurrent_collectives.h"

#include <map>
#include <mutex>

namespace strand::kernels {
namespace {

std::mutex& count_mutex() {
  static std::mutex m;
  return m;
}
std::map<int, int>& counts() {
  static std::map<int, int> c;
  return c;
}

}  // namespace

ConcurrentCollectives::ConcurrentCollectives(int device) : device_(device) {
  std::lock_guard<std::mutex> lock(count_mutex());
  ++counts()[device_];
}

ConcurrentCollectives::~ConcurrentCollectives() {
  std::lock_guard<std::mutex> lock(count_mutex());
  --counts()[device_];
}

int concurrent_collectives(int device) {
  std::lock_guard<std::mutex> lock(count_mutex());
  auto it = counts().find(device);
  return it == counts().end() ? 0 : it->second;
}

bool rnn_persistent_allowed(int64_t hidden_size, int concurrent_collectives) {
  return hidden_size <= 512 && concurrent_collectives == 0;
}

}  // namespace strand::kernels
