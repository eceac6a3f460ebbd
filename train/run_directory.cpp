// Locked run directories with a status file (see run_directory.h).
#include "train/run_directory.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "core/version.h"
#include "runtime/file_io.h"

namespace strand::train {
std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void with_run_directory(const std::string& dir, const std::function<void()>& body,
                        const std::string& command) {
  if (dir.empty()) return body();
  std::filesystem::create_directories(dir);
  const runtime::DirectoryLock lock(dir, "strand train");
  const std::string path = dir + "/run.json";
  nlohmann::json status = {{"status", "running"},
                           {"pid", ::getpid()},
                           {"started", utc_now()},
                           {"strand", {{"version", version()}, {"commit", git_commit()}}}};
  if (!command.empty()) status["command"] = command;
  // Holding the lock, a "running" status left behind means that run was killed.
  if (std::filesystem::exists(path)) {
    try {
      const nlohmann::json before = runtime::read_json_file(path);
      if (before.value("status", "") == "running")
        status["previous"] = strand::format("killed (process {}, started {})",
                                            before.value("pid", 0), before.value("started", "?"));
    } catch (const Error&) {
      status["previous"] = "unreadable run.json";
    }
  }
  // What a killed run may leave half-written: the checkpoint writer's and the results' temporaries.
  const std::vector<std::string> outputs = {"checkpoint.safetensors",
                                            "model.safetensors",
                                            "metrics.json",
                                            "run.json",
                                            "scores.tsv",
                                            "labels.tsv"};
  int removed = runtime::remove_stale_temporaries(dir, outputs);
  std::error_code ec;
  for (const auto& b : std::filesystem::directory_iterator(dir + "/baselines", ec))
    if (b.is_directory(ec))
      removed += runtime::remove_stale_temporaries(b.path().string(), outputs);
  if (removed > 0) status["removed_temporaries"] = removed;
  runtime::write_json_file(path, status);
  auto finish = [&](const char* state, const std::string& reason) {
    status["status"] = state;
    status["ended"] = utc_now();
    if (!reason.empty()) status["reason"] = reason;
    try {
      runtime::write_json_file(path, status);
    } catch (const Error&) {  // a full disk must not hide the run's own error
    }
  };
  try {
    body();
  } catch (const Error& e) {
    finish("failed", e.message());
    throw;
  } catch (const std::exception& e) {
    finish("failed", e.what());
    throw;
  }
  status["status"] = "finished";
  status["ended"] = utc_now();
  runtime::write_json_file(path, status);
}

}  // namespace strand::train
