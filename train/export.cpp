// Model export with the Rule 10 guard and its override audit log.
#include "train/export.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/version.h"
#include "runtime/file_io.h"
#include "runtime/safetensors.h"
#include "train/checkpoint.h"
#include "train/run_directory.h"

namespace strand::train {
namespace {

void write_loader_note(const std::string& path, const std::string& weights, const ModelInfo& info) {
  const std::string text =
      "# Load the weights exported by `strand export` into PyTorch. The names and layouts are\n"
      "# PyTorch's state_dict ones (Conv1d [out, in, k], LSTM weight_ih_l0 [4H, in], gates\n"
      "# i, f, g, o), so a PyTorch twin of the model takes them unchanged.\n"
      "# Model: " +
      info.describe() + "\nfrom safetensors.torch import load_file\n\nstate_dict = load_file(\"" +
      std::filesystem::path(weights).filename().string() +
      "\")\n# model.load_state_dict(state_dict)\n";
  runtime::write_file_atomic(path, {text});
}

}  // namespace

ExportResult export_model(const std::string& model_path, const std::string& out,
                          const ExportOptions& options, std::ostream& log) {
  STRAND_CHECK(options.format == "safetensors" || options.format == "pytorch",
               "unknown export format '{}' (safetensors, pytorch)", options.format);
  const LoadedModel loaded = load_model(model_path);
  ExportResult result;
  result.privacy = rules::read_privacy_record(loaded.metadata);
  const std::string refusal = result.privacy.share_refusal();
  if (!refusal.empty()) {
    STRAND_CHECK(!options.override_privacy.empty(), "refusing to export '{}': {}", model_path,
                 refusal);
    result.overridden = true;
    result.audit_log = out + ".privacy-override.jsonl";
    const nlohmann::json entry = {{"time", utc_now()},
                                  {"model", model_path},
                                  {"out", out},
                                  {"reason", options.override_privacy},
                                  {"refusal", refusal},
                                  {"privacy", result.privacy.to_json()},
                                  {"strand_version", strand::version()}};
    // Appended, not replaced: the log keeps every override. Flushed and closed before the export
    // goes on, so a full disk stops the export instead of losing the record; a failed append is
    // cut off again, so the earlier entries stay whole lines.
    std::error_code ec;
    const uintmax_t before = std::filesystem::exists(result.audit_log, ec)
                                 ? std::filesystem::file_size(result.audit_log, ec)
                                 : 0;
    std::ofstream audit(result.audit_log, std::ios::app);
    STRAND_CHECK(audit.good(), "cannot open the privacy audit log '{}'", result.audit_log);
    audit << entry.dump() << "\n";
    audit.close();
    if (audit.fail()) {
      const std::string why = std::strerror(errno);
      std::filesystem::resize_file(result.audit_log, before, ec);
      STRAND_FAIL("cannot write the privacy audit log '{}': {}; nothing was exported",
                  result.audit_log, why);
    }
    log << "strand export: PRIVACY OVERRIDE for '" << model_path << "' (" << refusal
        << "); reason given: \"" << options.override_privacy << "\"; logged to " << result.audit_log
        << "\n";
  } else if (result.privacy.sensitive && result.privacy.epsilon > 10) {
    log << "strand export: note: '" << model_path << "' was trained on sensitive data with DP at "
        << "epsilon " << result.privacy.epsilon
        << ", a weak guarantee (above ~10 it says little); consider `strand audit membership`\n";
  } else if (!options.override_privacy.empty()) {
    log << "strand export: --override-privacy not needed for '" << model_path
        << "' (nothing to override)\n";
  }
  std::map<std::string, std::string> metadata = {
      {"format", "pt"},  // what safetensors' PyTorch helpers write and some loaders check
      {"strand.model", loaded.metadata.at("strand.model")},
      {rules::kPrivacyMetadataKey, result.privacy.to_json().dump()},
      {"strand.exported_from", std::filesystem::path(model_path).filename().string()},
      {"strand.version", strand::version()}};
  if (result.overridden) metadata["strand.privacy_override"] = options.override_privacy;
  // The small loader note first, then the weights (both atomic): a full disk stops the export
  // at its first write, with an error naming the file.
  const std::string note = options.format == "pytorch" ? out + ".load.py" : "";
  if (!note.empty()) write_loader_note(note, out, loaded.info);
  runtime::save_safetensors(out, loaded.model->state_dict(), metadata);
  result.files.push_back(out);
  if (!note.empty()) result.files.push_back(note);
  if (result.overridden) result.files.push_back(result.audit_log);
  return result;
}

}  // namespace strand::train
