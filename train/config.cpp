// TrainConfig JSON round trip, validation and the learning-rate schedule.
#include "train/config.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "core/error.h"
#include "core/suggest.h"
#include "layers/gpu_math.h"
#include "runtime/cpu.h"
#include "runtime/file_io.h"

namespace strand::train {
namespace {

const std::vector<std::string>& keys() {
  static const std::vector<std::string> k = {
      "model",        "epochs",   "max_steps",  "batch_size",   "optimizer",   "lr",
      "weight_decay", "momentum", "schedule",   "warmup_steps", "step_epochs", "gamma",
      "clip_norm",    "monitor",  "patience",   "seed",         "log_every",   "reverse_complement",
      "device",       "progress", "rc_average", "precision",    "sensitive",   "conv_algo",
      "tf32",         "rnn_algo"};
  return k;
}

}  // namespace

nlohmann::json to_json(const TrainConfig& c) {
  return {{"model", c.model},
          {"epochs", c.epochs},
          {"max_steps", c.max_steps},
          {"batch_size", c.batch_size},
          {"optimizer", c.optimizer},
          {"lr", c.lr},
          {"weight_decay", c.weight_decay},
          {"momentum", c.momentum},
          {"schedule", c.schedule},
          {"warmup_steps", c.warmup_steps},
          {"step_epochs", c.step_epochs},
          {"gamma", c.gamma},
          {"clip_norm", c.clip_norm},
          {"monitor", c.monitor},
          {"patience", c.patience},
          {"seed", c.seed},
          {"log_every", c.log_every},
          {"reverse_complement", c.reverse_complement},
          {"device", c.device},
          {"progress", c.progress},
          {"rc_average", c.rc_average},
          {"precision", c.precision},
          {"sensitive", c.sensitive},
          {"conv_algo", c.conv_algo},
          {"tf32", c.tf32},
          {"rnn_algo", c.rnn_algo},
          {"dp",
           {{"enabled", c.dp.enabled},
            {"max_grad_norm", c.dp.max_grad_norm},
            {"noise_multiplier", c.dp.noise_multiplier},
            {"target_epsilon", c.dp.target_epsilon},
            {"delta", c.dp.delta},
            {"sampling", c.dp.sampling},
            {"accountant", c.dp.accountant}}}};
}

double default_delta(int64_t n) {
  STRAND_CHECK(n > 0, "DP delta: no training examples");
  return std::pow(10.0, std::floor(std::log10(1.0 / (10.0 * static_cast<double>(n)))));
}

TrainConfig config_from_json(const nlohmann::json& j) {
  STRAND_CHECK(j.is_object(), "training config must be a JSON object, got {}", j.dump());
  for (const auto& [key, value] : j.items()) {
    if (std::find(keys().begin(), keys().end(), key) != keys().end() || key == "dp") continue;
    STRAND_FAIL("unknown training config key '{}'{}", key, did_you_mean(key, keys()));
  }
  TrainConfig c;
  auto read = [](const nlohmann::json& obj, const std::string& key, auto& field,
                 const char* prefix = "") {
    if (!obj.contains(key)) return;
    try {
      obj.at(key).get_to(field);
    } catch (const nlohmann::json::exception& e) {
      STRAND_FAIL("training config key '{}{}': {}, got {}", prefix, key,
                  runtime::json_error_reason(e), obj.at(key).dump());
    }
  };
  auto get = [&](const char* key, auto& field) { read(j, key, field); };
  get("model", c.model);
  get("epochs", c.epochs);
  get("max_steps", c.max_steps);
  get("batch_size", c.batch_size);
  get("optimizer", c.optimizer);
  get("lr", c.lr);
  get("weight_decay", c.weight_decay);
  get("momentum", c.momentum);
  get("schedule", c.schedule);
  get("warmup_steps", c.warmup_steps);
  get("step_epochs", c.step_epochs);
  get("gamma", c.gamma);
  get("clip_norm", c.clip_norm);
  get("monitor", c.monitor);
  get("patience", c.patience);
  STRAND_CHECK(!j.contains("seed") || j["seed"].is_number_unsigned(),
               "training config key 'seed' must be a non-negative integer, got {}",
               j["seed"].dump());
  get("seed", c.seed);
  get("log_every", c.log_every);
  get("reverse_complement", c.reverse_complement);
  get("device", c.device);
  get("progress", c.progress);
  get("rc_average", c.rc_average);
  get("precision", c.precision);
  get("sensitive", c.sensitive);
  get("conv_algo", c.conv_algo);
  get("tf32", c.tf32);
  get("rnn_algo", c.rnn_algo);
  if (j.contains("dp")) {
    const nlohmann::json& d = j.at("dp");
    STRAND_CHECK(d.is_object(), "training config 'dp' must be a JSON object, got {}", d.dump());
    for (const auto& [key, value] : d.items()) {
      STRAND_CHECK(key == "enabled" || key == "max_grad_norm" || key == "noise_multiplier" ||
                       key == "target_epsilon" || key == "delta" || key == "sampling" ||
                       key == "accountant",
                   "unknown training config key 'dp.{}' (enabled, max_grad_norm, "
                   "noise_multiplier, target_epsilon, delta, sampling, accountant)",
                   key);
    }
    auto get_dp = [&](const char* key, auto& field) { read(d, key, field, "dp."); };
    get_dp("enabled", c.dp.enabled);
    get_dp("max_grad_norm", c.dp.max_grad_norm);
    get_dp("noise_multiplier", c.dp.noise_multiplier);
    get_dp("target_epsilon", c.dp.target_epsilon);
    get_dp("delta", c.dp.delta);
    get_dp("sampling", c.dp.sampling);
    get_dp("accountant", c.dp.accountant);
  }
  return c;
}

void validate(const TrainConfig& c) {
  STRAND_CHECK(c.epochs > 0 || c.max_steps > 0, "epochs must be positive, got {}", c.epochs);
  STRAND_CHECK(c.max_steps >= 0, "max_steps must be non-negative, got {}", c.max_steps);
  STRAND_CHECK(c.batch_size > 0, "batch size must be positive, got {}", c.batch_size);
  STRAND_CHECK(c.lr >= 0 && std::isfinite(c.lr), "learning rate must be finite and >= 0, got {}",
               c.lr);
  STRAND_CHECK(c.optimizer == "adam" || c.optimizer == "adamw" || c.optimizer == "sgd",
               "unknown optimizer '{}' (adam, adamw, sgd)", c.optimizer);
  STRAND_CHECK(c.schedule == "constant" || c.schedule == "step" || c.schedule == "cosine",
               "unknown lr schedule '{}' (constant, step, cosine)", c.schedule);
  STRAND_CHECK(c.warmup_steps >= 0, "warmup_steps must be non-negative, got {}", c.warmup_steps);
  STRAND_CHECK(c.step_epochs > 0, "step_epochs must be positive, got {}", c.step_epochs);
  STRAND_CHECK(c.clip_norm >= 0, "clip_norm must be non-negative, got {}", c.clip_norm);
  STRAND_CHECK(c.patience >= 0, "patience must be non-negative, got {}", c.patience);
  STRAND_CHECK(c.device == "cpu" || c.device == "cuda" || c.device.rfind("cuda:", 0) == 0,
               "unknown device '{}' (cpu, cuda)", c.device);
  STRAND_CHECK(c.precision == "fp32" || c.precision == "bf16",
               "unknown precision '{}' (fp32, bf16)", c.precision);
  // bf16 on the CPU needs bf16 instructions; without them it would silently train in fp32.
  if (c.precision == "bf16" && c.device == "cpu") runtime::require_cpu_bf16("precision bf16");
  layers::check_gpu_math({c.conv_algo, c.tf32, c.rnn_algo}, c.device);
  if (c.dp.enabled) {
    // The per-example norm kernels read fp32 activations and output gradients.
    STRAND_CHECK(c.precision == "fp32",
                 "DP-SGD trains in fp32: --precision {} cannot be combined with --dp", c.precision);
    STRAND_CHECK(c.dp.max_grad_norm > 0 && std::isfinite(c.dp.max_grad_norm),
                 "DP: max_grad_norm (the clipping bound C) must be positive, got {}",
                 c.dp.max_grad_norm);
    STRAND_CHECK(c.dp.noise_multiplier >= 0 && std::isfinite(c.dp.noise_multiplier),
                 "DP: noise_multiplier must be >= 0, got {}", c.dp.noise_multiplier);
    STRAND_CHECK(c.dp.target_epsilon >= 0, "DP: target_epsilon must be positive, got {}",
                 c.dp.target_epsilon);
    STRAND_CHECK(c.dp.noise_multiplier > 0 || c.dp.target_epsilon > 0,
                 "DP training needs a target epsilon (--target-epsilon) or a noise multiplier "
                 "(--noise-multiplier)");
    STRAND_CHECK(c.dp.delta >= 0 && c.dp.delta < 1, "DP: delta must be in (0, 1), got {}",
                 c.dp.delta);
    STRAND_CHECK(c.dp.sampling == "poisson" || c.dp.sampling == "shuffle",
                 "DP: unknown sampling '{}' (poisson, shuffle)", c.dp.sampling);
    STRAND_CHECK(c.dp.accountant == "rdp" || c.dp.accountant == "pld",
                 "DP: unknown accountant '{}' (rdp, pld)", c.dp.accountant);
  }
}

double learning_rate(const TrainConfig& c, int64_t step, int64_t epoch, int64_t total_steps) {
  double scale = 1.0;
  if (c.schedule == "step") {
    scale = std::pow(c.gamma, static_cast<double>(epoch / c.step_epochs));
  } else if (c.schedule == "cosine") {
    // Cosine decay to zero over the steps after warm-up.
    const int64_t span = std::max<int64_t>(1, total_steps - c.warmup_steps);
    const double t = std::clamp(static_cast<double>(step - c.warmup_steps) / span, 0.0, 1.0);
    scale = 0.5 * (1.0 + std::cos(std::numbers::pi * t));
  }
  if (step < c.warmup_steps) scale *= static_cast<double>(step + 1) / c.warmup_steps;
  return c.lr * scale;
}

}  // namespace strand::train
