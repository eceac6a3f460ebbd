// The output directory of a training run (strand train --out): one writer at a time (a lock the
// kernel releases if the process dies), no temporaries left by killed runs, and DIR/run.json
// saying whether the run is running, finished or failed, and why.
#pragma once

#include <functional>
#include <string>

namespace strand::train {

// Runs `body` holding DIR's lock: creates DIR, refuses at once if another process holds it,
// removes the temporaries a killed run left (".checkpoint.safetensors.tmp-XXXXXX", ...), and writes
// DIR/run.json {"status": "running"} then "finished", or "failed" with the reason before
// rethrowing. run.json also records the strand version and `command` (the command line that made
// the run, for the report). An empty dir just runs body.
void with_run_directory(const std::string& dir, const std::function<void()>& body,
                        const std::string& command = "");

// The current time as ISO 8601 UTC ("2026-12-06T08:30:00Z"), as run.json and the export log use it.
std::string utc_now();

}  // namespace strand::train
