// Model files and resume checkpoints on top of runtime/safetensors (atomic writes, CRC-verified
// reads); the JSON metadata is what makes a file self-describing.
#include "train/checkpoint.h"

#include <cstdlib>

#include "core/error.h"
#include "core/version.h"
#include "layers/model_file.h"
#include "layers/models.h"
#include "runtime/file_io.h"
#include "runtime/safetensors.h"

namespace strand::train {
namespace {

constexpr const char* kFormat = "strand.format";
constexpr const char* kModel = "strand.model";

std::map<std::string, std::string> run_metadata(const ModelInfo& info, const RunMetadata& run,
                                                const char* format) {
  return {{kFormat, format},
          {kModel, info.to_json().dump()},
          {"strand.training", run.training.dump()},
          {"strand.seed", std::to_string(run.seed)},
          {"strand.data", run.data.dump()},
          {rules::kPrivacyMetadataKey, run.privacy.to_json().dump()},
          {"strand.version", strand::version()},
          {"strand.git_commit", strand::git_commit()}};
}

nlohmann::json parse_metadata(const std::string& path, const std::map<std::string, std::string>& m,
                              const std::string& key) {
  const auto it = m.find(key);
  STRAND_CHECK(it != m.end(),
               "'{}' has no '{}' metadata: not a strand model file (written by another tool?)",
               path, key);
  return runtime::parse_json(it->second, strand::format("'{}': metadata '{}'", path, key));
}

// The model description in a file's metadata; its errors name the file.
ModelInfo model_info_of(const std::string& path, const std::map<std::string, std::string>& m) {
  const nlohmann::json j = parse_metadata(path, m, kModel);
  try {
    return ModelInfo::from_json(j);
  } catch (const Error& e) {
    STRAND_FAIL("'{}': {}", path, e.message());
  }
}

// Metadata decides how outputs are read (task names, probabilities or logits), so a file whose
// checksum does not cover it is refused unless the user asks to skip the check.
void check_verified(const std::string& path, const runtime::SafetensorsFile& file) {
  if (file.checksum == runtime::Checksum::kFull) return;
  const char* skip = std::getenv("STRAND_SKIP_CHECKSUM");
  if (skip != nullptr && std::string(skip) == "1") return;
  STRAND_CHECK(file.checksum != runtime::Checksum::kDataOnly,
               "'{}' was written by an older strand: its checksum covers the weights but not the "
               "metadata (tasks, kind, model); set STRAND_SKIP_CHECKSUM=1 to load it anyway",
               path);
  STRAND_FAIL(
      "'{}' has no checksum (metadata 'strand.checksum'): it was edited or not written by "
      "strand; set STRAND_SKIP_CHECKSUM=1 to load it unverified",
      path);
}

void check_format(const std::string& path, const std::map<std::string, std::string>& m,
                  const std::string& want) {
  const auto it = m.find(kFormat);
  STRAND_CHECK(it != m.end(), "'{}' has no '{}' metadata: not a strand {} file", path, kFormat,
               want);
  STRAND_CHECK(it->second == want, "'{}' is a strand {} file, expected a {} file", path, it->second,
               want);
}

}  // namespace

nlohmann::json ModelInfo::to_json() const {
  nlohmann::json j = {
      {"name", name}, {"length", length}, {"outputs", outputs}, {"kind", kind}, {"tasks", tasks}};
  if (!spec.empty()) j["spec"] = spec;
  return j;
}

ModelInfo ModelInfo::from_json(const nlohmann::json& j) {
  ModelInfo info;
  try {
    j.at("name").get_to(info.name);
    j.at("length").get_to(info.length);
    j.at("outputs").get_to(info.outputs);
    j.at("kind").get_to(info.kind);
    j.at("tasks").get_to(info.tasks);
    if (j.contains("spec")) j.at("spec").get_to(info.spec);
  } catch (const nlohmann::json::exception& e) {
    STRAND_FAIL("model metadata {} is incomplete: {}", j.dump(), e.what());
  }
  // Cross-checks: predict and eval index scores by the task list and read them by kind.
  STRAND_CHECK(info.kind == "binary" || info.kind == "multi-label" || info.kind == "multi-class" ||
                   info.kind == "regression",
               "model metadata: unknown output kind '{}' (binary, multi-label, multi-class, "
               "regression)",
               info.kind);
  STRAND_CHECK(info.length > 0 && info.outputs > 0,
               "model metadata: length {} and outputs {} must be positive", info.length,
               info.outputs);
  STRAND_CHECK(static_cast<int64_t>(info.tasks.size()) == info.outputs,
               "model metadata: {} task names for {} outputs", info.tasks.size(), info.outputs);
  return info;
}

std::string ModelInfo::describe() const {
  return strand::format("{} (length {}, outputs {})", name, length, outputs);
}

rules::TaskKind ModelInfo::task_kind() const {
  return kind == "multi-class"  ? rules::TaskKind::kMultiClass
         : kind == "regression" ? rules::TaskKind::kRegression
                                : rules::TaskKind::kBinary;
}

std::shared_ptr<layers::Sequential> build_model(const ModelInfo& info, bool from_file) {
  if (info.spec.empty()) return layers::build_model(info.name, info.length, info.outputs);
  if (from_file)
    return layers::build_model_from_yaml(info.spec, info.length, info.outputs, info.name);
  return layers::build_model_from_yaml(info.spec, info.length, info.outputs,
                                       strand::format("'{}' (the model file embedded in a "
                                                      "strand checkpoint)",
                                                      info.name));
}

std::string model_spec(const std::string& name) {
  return layers::is_model_file(name) ? layers::read_model_file(name) : std::string();
}

void save_model(const std::string& path, const layers::Module& model, const ModelInfo& info,
                const RunMetadata& run) {
  runtime::save_safetensors(path, model.state_dict(), run_metadata(info, run, "model"));
}

LoadedModel load_model(const std::string& path) {
  auto file = runtime::load_safetensors(path);
  check_verified(path, file);
  check_format(path, file.metadata, "model");
  LoadedModel out;
  out.info = model_info_of(path, file.metadata);
  try {
    out.model = build_model(out.info);
  } catch (const Error& e) {
    STRAND_FAIL("'{}': {}", path, e.message());
  }
  try {
    out.model->load_state_dict(file.tensors, true);
  } catch (const Error& e) {
    STRAND_FAIL("'{}' does not fit model {}: {}", path, out.info.describe(), e.message());
  }
  out.model->eval();
  if (file.metadata.contains(kCalibrationMetadataKey)) {
    const auto j = parse_metadata(path, file.metadata, kCalibrationMetadataKey);
    try {
      STRAND_CHECK(j.contains("recommended") && j["recommended"].is_boolean(),
                   "calibration: no boolean 'recommended'");
      out.calibration =
          StoredCalibration{rules::Calibrator::from_json(j, out.info.task_kind(), out.info.outputs),
                            j["recommended"].get<bool>()};
    } catch (const Error& e) {
      STRAND_FAIL("'{}': metadata '{}': {}", path, kCalibrationMetadataKey, e.message());
    }
  }
  out.metadata = std::move(file.metadata);
  return out;
}

const rules::Calibrator& stored_calibrator(const LoadedModel& model, const std::string& path) {
  STRAND_CHECK(model.calibration.has_value(),
               "'{}' carries no calibration (strand train stores one when it evaluates on a test "
               "split or per --cv fold; not for regression or DP training)",
               path);
  return model.calibration->calibrator;
}

void store_calibration(const std::string& path, const nlohmann::json& calibration) {
  auto file = runtime::load_safetensors(path);
  check_verified(path, file);
  check_format(path, file.metadata, "model");
  nlohmann::json stored = calibration;
  for (const char* report : {"valid", "test", "bins", "fitted_on"}) stored.erase(report);
  file.metadata[kCalibrationMetadataKey] = stored.dump();
  runtime::save_safetensors(path, file.tensors, file.metadata);
}

void save_checkpoint(const std::string& path, const layers::Module& model, const ModelInfo& info,
                     const runtime::Optimizer& optimizer, const TrainingState& state,
                     const RunMetadata& run) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [name, t] : model.state_dict()) tensors.emplace_back("model." + name, t);
  for (auto& [name, t] : optimizer.state()) tensors.emplace_back("optimizer." + name, t);
  auto meta = run_metadata(info, run, "checkpoint");
  meta["strand.state"] = nlohmann::json{
      {"epoch", state.epoch},
      {"step", state.step},
      {"rng_seed", state.rng_seed},
      {"rng_offset", state.rng_offset},
      {"best_metric", state.best_metric},
      {"best_epoch", state.best_epoch},
      {"bad_epochs", state.bad_epochs},
      {"optimizer_steps", optimizer.steps()},
      {"history",
       state.history}}.dump();
  runtime::save_safetensors(path, tensors, meta);
}

TrainingState load_checkpoint(const std::string& path, layers::Module& model,
                              const ModelInfo& expected, runtime::Optimizer& optimizer,
                              const std::string& optimizer_name) {
  auto file = runtime::load_safetensors(path);
  check_verified(path, file);
  check_format(path, file.metadata, "checkpoint");
  const ModelInfo saved = model_info_of(path, file.metadata);
  // A YAML model is identified by its text (compared below), not by how its path is spelled.
  const bool same_model = saved.spec.empty() == expected.spec.empty() &&
                          (!saved.spec.empty() || saved.name == expected.name);
  STRAND_CHECK(same_model && saved.length == expected.length && saved.outputs == expected.outputs,
               "checkpoint '{}' holds model {}, but this run builds {}", path, saved.describe(),
               expected.describe());
  STRAND_CHECK(saved.spec == expected.spec,
               "checkpoint '{}' holds another version of model file '{}' (its text differs from "
               "the file now)",
               path, expected.name);
  const auto training = parse_metadata(path, file.metadata, "strand.training");
  const std::string saved_optimizer = training.value("optimizer", "");
  STRAND_CHECK(saved_optimizer == optimizer_name,
               "checkpoint '{}' was trained with optimizer '{}', but this run uses '{}'", path,
               saved_optimizer, optimizer_name);
  std::vector<std::pair<std::string, Tensor>> weights, opt;
  for (auto& [name, t] : file.tensors) {
    if (name.rfind("model.", 0) == 0)
      weights.emplace_back(name.substr(6), t);
    else if (name.rfind("optimizer.", 0) == 0)
      opt.emplace_back(name.substr(10), t);
    else
      STRAND_FAIL("checkpoint '{}': unexpected tensor '{}'", path, name);
  }
  try {
    model.load_state_dict(weights, true);
  } catch (const Error& e) {
    STRAND_FAIL("checkpoint '{}' does not fit model {}: {}", path, expected.describe(),
                e.message());
  }
  const auto s = parse_metadata(path, file.metadata, "strand.state");
  TrainingState state;
  state.data = parse_metadata(path, file.metadata, "strand.data");
  try {
    s.at("epoch").get_to(state.epoch);
    s.at("step").get_to(state.step);
    s.at("rng_seed").get_to(state.rng_seed);
    s.at("rng_offset").get_to(state.rng_offset);
    s.at("best_metric").get_to(state.best_metric);
    s.at("best_epoch").get_to(state.best_epoch);
    s.at("bad_epochs").get_to(state.bad_epochs);
    state.history = s.at("history");
    optimizer.load_state(opt, s.at("optimizer_steps").get<int64_t>());
  } catch (const nlohmann::json::exception& e) {
    STRAND_FAIL("checkpoint '{}': training state is incomplete: {}", path, e.what());
  }
  return state;
}

}  // namespace strand::train
