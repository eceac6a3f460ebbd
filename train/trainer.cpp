// Trainer: the loop, validation, early stopping, checkpoints, logs and the progress bar.
#include "train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "kernels/error.h"
#include "layers/autocast.h"
#include "layers/models.h"
#include "layers/privacy.h"
#include "rules/privacy_accountant.h"
#include "runtime/rng.h"
#include "train/evaluate.h"

namespace strand::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

bool lower_better(const std::string& metric) {
  return metric == "loss" || metric == "mse" || metric == "brier" || metric == "ece" ||
         metric == "log_loss";
}

void draw_progress(int64_t epoch, int64_t epochs, int64_t done, int64_t total, double loss,
                   double rate) {
  constexpr int kWidth = 30;
  const int filled = total > 0 ? static_cast<int>(kWidth * done / total) : kWidth;
  std::fprintf(stderr, "\repoch %lld/%lld [%s%s] %lld/%lld loss %.4f %.0f samples/s ",
               static_cast<long long>(epoch), static_cast<long long>(epochs),
               std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(),
               static_cast<long long>(done), static_cast<long long>(total), loss, rate);
  std::fflush(stderr);
}

// A JSON number, or null for NaN/Inf (JSON has no such numbers).
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

}  // namespace

Trainer::Trainer(std::shared_ptr<const data::SplitDataset> splits, TrainConfig config,
                 std::string out_dir, RunMetadata run)
    : splits_(std::move(splits)),
      config_(std::move(config)),
      out_dir_(std::move(out_dir)),
      run_(std::move(run)),
      device_(runtime::Device::parse(config_.device)) {
  validate(config_);
  const data::Dataset& ds = splits_->dataset();
  STRAND_CHECK(!splits_->train().empty(), "no training examples ({})", splits_->summary());
  STRAND_CHECK(!splits_->valid().empty(),
               "no validation examples ({}): validation chooses the checkpoint and stops early",
               splits_->summary());
  info_.name = config_.model;
  info_.spec = model_spec(config_.model);
  info_.length = ds.length();
  info_.kind = std::string(data::label_kind_name(ds.kind()));
  info_.tasks = info_.kind == "multi-class" ? ds.classes() : ds.output_names();
  info_.outputs = static_cast<int64_t>(info_.tasks.size());

  runtime::manual_seed(config_.seed);
  model_ = build_model(info_, true);
  model_->to(device_);
  model_->train();
  const auto params = model_->parameters();
  if (config_.optimizer == "sgd")
    optimizer_ = std::make_unique<runtime::SGD>(
        params,
        kernels::SgdConfig{
            .lr = config_.lr, .momentum = config_.momentum, .weight_decay = config_.weight_decay});
  else if (config_.optimizer == "adamw")
    optimizer_ = std::make_unique<runtime::AdamW>(
        params, kernels::AdamConfig{.lr = config_.lr, .weight_decay = config_.weight_decay});
  else
    optimizer_ = std::make_unique<runtime::Adam>(
        params, kernels::AdamConfig{.lr = config_.lr, .weight_decay = config_.weight_decay});

  data::LoaderOptions o;
  o.batch_size = config_.batch_size;
  o.seed = config_.seed;
  o.reverse_complement = config_.reverse_complement;
  o.device = device_;
  if (config_.dp.enabled && config_.dp.sampling == "poisson") o.sampling = data::Sampling::kPoisson;
  loader_ = std::make_unique<data::BatchLoader>(*splits_, data::Split::kTrain, o);
  total_steps_ =
      config_.max_steps > 0 ? config_.max_steps : config_.epochs * loader_->batches_per_epoch();
  if (config_.dp.enabled) setup_dp();

  monitor_ = config_.monitor;
  if (monitor_ == "auto")
    monitor_ = info_.kind == "multi-class"  ? "macro_auroc"
               : info_.kind == "regression" ? "loss"
                                            : "auroc";
  lower_is_better_ = lower_better(monitor_);
  state_.best_metric = lower_is_better_ ? std::numeric_limits<double>::infinity()
                                        : -std::numeric_limits<double>::infinity();
  result_.monitor = monitor_;
  run_.training = to_json(config_);
  run_.seed = config_.seed;
  run_.privacy.sensitive = run_.privacy.sensitive || config_.sensitive;

  progress_ = config_.progress && ::isatty(STDERR_FILENO);
  if (!out_dir_.empty()) {
    std::filesystem::create_directories(out_dir_);
    const std::string path = out_dir_ + "/log.jsonl";
    log_.open(path, std::ios::app);
    STRAND_CHECK(log_.good(), "cannot open '{}' for writing", path);
  }
  if (clipper_)
    log({{"type", "dp"},
         {"noise_multiplier", result_.noise_multiplier},
         {"sampling_rate", result_.sampling_rate},
         {"expected_batch", dp_expected_batch_},
         {"delta", result_.delta},
         {"max_grad_norm", config_.dp.max_grad_norm},
         {"planned_steps", total_steps_},
         {"sampling", config_.dp.sampling},
         {"guaranteed", result_.dp_guaranteed}});
}

void Trainer::setup_dp() {
  clipper_ = std::make_unique<runtime::PerSampleClipper>(
      layers::make_private(*model_, {.max_grad_norm = config_.dp.max_grad_norm}));
  const int64_t n = loader_->num_examples();
  const double q = loader_->sampling_rate();
  const double delta = config_.dp.delta > 0 ? config_.dp.delta : default_delta(n);
  const rules::AccountantKind kind = rules::parse_accountant(config_.dp.accountant);
  const double sigma =
      config_.dp.noise_multiplier > 0
          ? config_.dp.noise_multiplier
          : rules::noise_multiplier_for(kind, config_.dp.target_epsilon, q, total_steps_, delta);
  dp_expected_batch_ = q * static_cast<double>(n);
  result_.dp = true;
  result_.delta = delta;
  result_.noise_multiplier = sigma;
  result_.sampling_rate = q;
  result_.dp_guaranteed = config_.dp.sampling == "poisson";
  rules::PrivacyRecord& r = run_.privacy;
  r.dp = true;
  r.delta = delta;
  r.accountant = config_.dp.accountant;
  r.noise_multiplier = sigma;
  r.sampling_rate = q;
  r.max_grad_norm = config_.dp.max_grad_norm;
  r.sampling = config_.dp.sampling;
  r.epsilon = 0;
  r.steps = 0;
  run_.training["dp"]["resolved_noise_multiplier"] = sigma;
  run_.training["dp"]["resolved_delta"] = delta;
}

// Epsilon spent by the steps taken so far (the plan's sigma was chosen for all planned steps).
void Trainer::account_dp() {
  const int64_t steps = state_.step;
  const double eps = steps == 0 ? 0.0
                                : rules::epsilon(rules::parse_accountant(config_.dp.accountant),
                                                 result_.sampling_rate, result_.noise_multiplier,
                                                 steps, result_.delta);
  result_.epsilon = eps;
  run_.privacy.epsilon = eps;
  run_.privacy.steps = steps;
}

std::string Trainer::model_path() const { return out_dir_ + "/model.safetensors"; }
std::string Trainer::checkpoint_path() const { return out_dir_ + "/checkpoint.safetensors"; }

void Trainer::resume(const std::string& checkpoint_path) {
  state_ = load_checkpoint(checkpoint_path, *model_, info_, *optimizer_, config_.optimizer);
  runtime::default_generator().set_state(state_.rng_seed, state_.rng_offset);
  for (const auto& record : state_.history)
    if (record.value("epoch", int64_t{0}) == state_.best_epoch)
      result_.best_valid = record["valid"];
  result_.epochs = state_.epoch;
  result_.steps = state_.step;
  result_.best_epoch = state_.best_epoch;
  result_.best_metric = state_.best_metric;
  log({{"type", "resume"},
       {"checkpoint", checkpoint_path},
       {"epoch", state_.epoch},
       {"step", state_.step}});
}

void Trainer::log(const nlohmann::json& record) {
  if (!log_.is_open()) return;
  log_ << record.dump() << "\n";
  log_.flush();
}

bool Trainer::stop(const std::string& reason) {
  result_.stop_reason = reason;
  done_ = true;
  log({{"type", "stop"}, {"reason", reason}, {"epoch", state_.epoch}, {"step", state_.step}});
  return false;
}

double Trainer::metric_of(const nlohmann::json& panel) const {
  const nlohmann::json* v = nullptr;
  if (monitor_ == "loss") {
    v = &panel["loss"];
  } else if (info_.kind == "multi-class") {
    if (panel.contains(monitor_)) v = &panel[monitor_];
  } else if (panel.contains("macro") && panel["macro"].contains(monitor_)) {
    v = &panel["macro"][monitor_];
  }
  STRAND_CHECK(v != nullptr, "validation metric '{}' is not in the {} panel", monitor_, info_.kind);
  return v->is_number() ? v->get<double>() : std::numeric_limits<double>::quiet_NaN();
}

bool Trainer::better(double value, double best) const {
  if (!std::isfinite(value)) return false;
  return lower_is_better_ ? value < best : value > best;
}

bool Trainer::run_epoch() {
  if (done_) return false;
  if (config_.max_steps > 0 && state_.step >= config_.max_steps)
    return stop(strand::format("reached max_steps {}", config_.max_steps));
  if (config_.max_steps == 0 && state_.epoch >= config_.epochs)
    return stop(strand::format("completed {} epochs", config_.epochs));

  const int64_t epoch = state_.epoch;  // 0-based index of this epoch
  const int64_t shown_epochs = config_.max_steps > 0 ? 0 : config_.epochs;
  model_->train();
  loader_->start_epoch(epoch);
  const auto start = Clock::now();
  double loss_sum = 0;
  int64_t seen = 0, batches = 0;
  const int64_t total_batches = loader_->batches_per_epoch();
  while (auto batch = loader_->next()) {
    if (config_.max_steps > 0 && state_.step >= config_.max_steps) break;
    const double lr = learning_rate(config_, state_.step, epoch, total_steps_);
    optimizer_->set_lr(lr);
    if (clipper_ && batch->size == 0) {  // Poisson sampling drew nobody: the step is noise alone
      optimizer_->zero_grad();
      clipper_->add_noise(runtime::default_generator(), result_.noise_multiplier,
                          dp_expected_batch_);
      optimizer_->step();
      ++state_.step;
      ++batches;
      continue;
    }
    const layers::AutocastGuard autocast(config_.precision == "bf16");
    const runtime::Tensor logits = (*model_)(batch->codes);
    const runtime::Tensor loss = loss_for(info_.kind, logits, batch->labels);
    const double value = loss.item();
    if (!std::isfinite(value)) {
      if (progress_) std::fprintf(stderr, "\n");
      result_.diverged = true;
      const std::string kept =
          state_.epoch == 0 || out_dir_.empty()
              ? std::string("no checkpoint was written yet")
              : strand::format("kept the last good checkpoint '{}' (epoch {}, step {})",
                               checkpoint_path(), state_.epoch, state_.step);
      return stop(strand::format("loss is {} at epoch {} step {} (lr {}): stopped; {}",
                                 std::isnan(value) ? "NaN" : "Inf", epoch + 1, state_.step + 1, lr,
                                 kept));
    }
    optimizer_->zero_grad();
    if (clipper_) {  // per-example clipping (the loss is the batch mean) and noise
      clipper_->backward(loss, batch->size, static_cast<double>(batch->size));
      clipper_->add_noise(runtime::default_generator(), result_.noise_multiplier,
                          dp_expected_batch_);
    } else {
      loss.backward();
      if (config_.clip_norm > 0) runtime::clip_grad_norm(optimizer_->params(), config_.clip_norm);
    }
    optimizer_->step();
    ++state_.step;
    ++batches;
    loss_sum += value * static_cast<double>(batch->size);
    seen += batch->size;
    if (config_.log_every > 0 && state_.step % config_.log_every == 0)
      log({{"type", "step"},
           {"epoch", epoch + 1},
           {"step", state_.step},
           {"loss", value},
           {"lr", lr},
           {"samples_per_s", seen / std::max(1e-9, seconds_since(start))}});
    if (progress_)
      draw_progress(epoch + 1, shown_epochs, batches, total_batches, loss_sum / seen,
                    seen / std::max(1e-9, seconds_since(start)));
  }
  const double train_seconds = seconds_since(start);
  if (progress_) std::fprintf(stderr, "\n");
  result_.seconds += train_seconds;
  const double rate = seen / std::max(1e-9, train_seconds);

  const auto valid_start = Clock::now();
  const layers::AutocastGuard autocast(config_.precision == "bf16");
  const Predictions p = predict_rows(*for_prediction(model_, config_.rc_average), info_.kind,
                                     splits_->shared_dataset(), splits_->valid(),
                                     std::max<int64_t>(256, config_.batch_size), device_);
  if (!std::isfinite(p.loss)) {
    result_.diverged = true;
    return stop(
        strand::format("validation loss is not finite after epoch {} (step {}): stopped; {}",
                       epoch + 1, state_.step,
                       state_.epoch == 0 || out_dir_.empty()
                           ? std::string("no checkpoint was written yet")
                           : strand::format("kept the last good checkpoint '{}' (epoch {})",
                                            checkpoint_path(), state_.epoch)));
  }
  nlohmann::json panel = panel_of(info_, p, 0);
  const double metric = metric_of(panel);
  const bool improved = better(metric, state_.best_metric);
  state_.epoch = epoch + 1;
  if (clipper_) account_dp();
  if (improved) {
    state_.best_metric = metric;
    state_.best_epoch = state_.epoch;
    state_.bad_epochs = 0;
    result_.best_valid = panel;
    if (!out_dir_.empty()) save_model(model_path(), *model_, info_, run_);
  } else {
    ++state_.bad_epochs;
  }
  const double train_loss = seen ? loss_sum / seen : std::numeric_limits<double>::quiet_NaN();
  nlohmann::json record = {{"type", "epoch"},
                           {"epoch", state_.epoch},
                           {"step", state_.step},
                           {"train_loss", number(train_loss)},
                           {"valid_loss", number(p.loss)},
                           {monitor_, number(metric)},
                           {"best", improved},
                           {"lr", optimizer_->lr()},
                           {"samples", seen},
                           {"train_seconds", train_seconds},
                           {"valid_seconds", seconds_since(valid_start)},
                           {"samples_per_s", rate}};
  if (clipper_) {
    record["epsilon"] = result_.epsilon;
    record["delta"] = result_.delta;
  }
  panel.erase("bootstrap");
  for (auto& [task, obj] : panel["tasks"].items()) obj.erase("reliability");
  record["valid"] = panel;
  log(record);
  if (progress_)
    std::fprintf(stderr, "epoch %lld: train loss %.4f, valid loss %.4f, %s %.4f%s\n",
                 static_cast<long long>(state_.epoch), train_loss, p.loss, monitor_.c_str(), metric,
                 improved ? " (best)" : "");
  state_.history.push_back(record);
  result_.epochs = state_.epoch;
  result_.steps = state_.step;
  result_.best_epoch = state_.best_epoch;
  result_.best_metric = state_.best_metric;

  const auto& gen = runtime::default_generator();
  state_.rng_seed = gen.seed();
  state_.rng_offset = gen.offset();
  if (!out_dir_.empty())
    save_checkpoint(checkpoint_path(), *model_, info_, *optimizer_, state_, run_);

  if (config_.patience > 0 && state_.bad_epochs >= config_.patience) {
    result_.stopped_early = true;
    return stop(strand::format(
        "early stop after epoch {}: validation {} did not improve for {} "
        "epochs (best {} at epoch {})",
        state_.epoch, monitor_, state_.bad_epochs, state_.best_metric, state_.best_epoch));
  }
  return true;
}

TrainResult Trainer::fit() {
  while (run_epoch()) {
  }
  // Throughput over every epoch of the run (a resumed run includes the epochs before it).
  double samples = 0, seconds = 0;
  for (const auto& r : state_.history) {
    samples += r.value("samples", 0.0);
    seconds += r.value("train_seconds", 0.0);
  }
  result_.samples_per_second = seconds > 0 ? samples / seconds : 0;
  return result_;
}

}  // namespace strand::train
