// Rule 10 guard at the boundary: copies a strand model's weights out (PyTorch state_dict names in
// a safetensors file) and refuses a model trained on sensitive data without a DP guarantee
// unless the caller gives an explicit reason, which is logged beside the output.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "rules/privacy_record.h"

namespace strand::train {

struct ExportOptions {
  std::string format = "safetensors";  // safetensors, or pytorch (safetensors + a loader note)
  std::string override_privacy;        // non-empty: export despite the guard, for this reason
};

struct ExportResult {
  std::vector<std::string> files;  // what was written
  rules::PrivacyRecord privacy;    // the model's record (also kept in the exported metadata)
  bool overridden = false;         // the guard refused and the override was used
  std::string audit_log;           // OUT.privacy-override.jsonl when overridden
};

// Loads model_path (a strand model.safetensors), applies the guard and writes out. The export
// keeps the model description and the privacy record in its metadata and drops the training
// data paths. An override is reported on `log` and appended as one JSON line to the audit log.
// Errors: an unknown format, an empty override reason, and the guard's refusal (the message says
// why and how to proceed).
ExportResult export_model(const std::string& model_path, const std::string& out,
                          const ExportOptions& options, std::ostream& log);

}  // namespace strand::train
