// Trainer: the loop, validation, early stopping, checkpoints, logs and the progress bar.
#include "train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include "core/error.h"
#include "layers/autocast.h"
#include "layers/gpu_math.h"
#include "layers/models.h"
#include "layers/privacy.h"
#include "rules/privacy_accountant.h"
#include "runtime/batch_share.h"
#include "runtime/file_io.h"
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

std::unique_ptr<runtime::Optimizer> make_optimizer(const TrainConfig& c,
                                                   std::vector<runtime::Tensor> params) {
  if (c.optimizer == "sgd")
    return std::make_unique<runtime::SGD>(
        std::move(params),
        kernels::SgdConfig{.lr = c.lr, .momentum = c.momentum, .weight_decay = c.weight_decay});
  if (c.optimizer == "adamw")
    return std::make_unique<runtime::AdamW>(
        std::move(params), kernels::AdamConfig{.lr = c.lr, .weight_decay = c.weight_decay});
  return std::make_unique<runtime::Adam>(
      std::move(params), kernels::AdamConfig{.lr = c.lr, .weight_decay = c.weight_decay});
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
  layers::set_gpu_math(*model_, {config_.conv_algo, config_.tf32, config_.rnn_algo});
  model_->train();
  optimizer_ = make_optimizer(config_, model_->parameters());

  const auto& train_rows = splits_->train();
  const size_t probe = std::min(train_rows.size(), std::max<size_t>(splits_->valid().size(), 1000));
  for (size_t k = 0; k < probe; ++k)
    train_probe_.push_back(train_rows[k * train_rows.size() / probe]);

  data::LoaderOptions o;
  o.batch_size = config_.batch_size;
  o.seed = config_.seed;
  o.reverse_complement = config_.reverse_complement;
  o.device = device_;
  if (config_.dp.enabled && config_.dp.sampling == "poisson") o.sampling = data::Sampling::kPoisson;
  loader_ = std::make_unique<data::BatchLoader>(*splits_, data::Split::kTrain, o);
  total_steps_ =
      config_.max_steps > 0 ? config_.max_steps : config_.epochs * loader_->batches_per_epoch();
  if (config_.dp.enabled) setup_dp_sgd();

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
  choose_gradient_step();
  if (clipper_)
    log({{"type", "dp"},
         {"noise_multiplier", result_.noise_multiplier},
         {"sampling_rate", result_.sampling_rate},
         {"expected_batch", dp_sgd_expected_batch_},
         {"delta", result_.delta},
         {"max_grad_norm", config_.dp.max_grad_norm},
         {"planned_steps", total_steps_},
         {"sampling", config_.dp.sampling},
         {"guaranteed", result_.dp_guaranteed}});
}

void Trainer::choose_gradient_step() {
  step_ = make_gradient_step({.params = optimizer_->params(),
                              .clip_norm = config_.clip_norm,
                              .reducer = reducer_.get(),
                              .zero = zero_,
                              .clipper = clipper_.get(),
                              .noise_multiplier = result_.noise_multiplier,
                              .expected_batch = dp_sgd_expected_batch_});
}

void Trainer::setup_dp_sgd() {
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
  dp_sgd_expected_batch_ = q * static_cast<double>(n);
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
void Trainer::account_dp_sgd() {
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

namespace {

// The data a run read, by content: the same files under other path spellings are the same data.
std::multiset<std::string> checksums_of(const nlohmann::json& data) {
  std::multiset<std::string> out;
  for (const auto& [file, crc] : data.items())
    out.insert(crc.is_string() ? crc.get<std::string>() : crc.dump());
  return out;
}

}  // namespace

void Trainer::resume(const std::string& checkpoint_path) {
  state_ = load_checkpoint(checkpoint_path, *model_, info_, *optimizer_, config_.optimizer);
  STRAND_CHECK(run_.data.empty() || checksums_of(state_.data) == checksums_of(run_.data),
               "--resume: '{}' was trained on other data (CRC-32 {}) than this run reads ({}): "
               "resuming would mix two datasets; start a new run without --resume",
               checkpoint_path, state_.data.dump(), run_.data.dump());
  adopt_best_model(checkpoint_path);
  runtime::default_generator().set_state(state_.rng_seed, state_.rng_offset);
  for (const auto& record : state_.history)
    if (record.value("epoch", int64_t{0}) == state_.best_epoch) {
      result_.best_valid = record["valid"];
      if (record.contains("gap") && record["gap"].is_number()) {
        result_.best_gap = record["gap"].get<double>();
        result_.best_train_metric = record["train_eval"].value(monitor_, 0.0);
      }
    }
  result_.epochs = state_.epoch;
  result_.steps = state_.step;
  result_.best_epoch = state_.best_epoch;
  result_.best_metric = state_.best_metric;
  log({{"type", "resume"},
       {"checkpoint", checkpoint_path},
       {"epoch", state_.epoch},
       {"step", state_.step}});
}

// The best epoch's weights must be in model_path() before training goes on, or a resumed run in
// which no epoch beats the saved best would have no model: take them from beside the checkpoint
// (resuming into another --out), or from the checkpoint itself when its last epoch is the best.
void Trainer::adopt_best_model(const std::string& checkpoint_path) {
  if (out_dir_.empty() || state_.best_epoch <= 0) return;
  const std::filesystem::path dir = std::filesystem::path(checkpoint_path).parent_path();
  const std::string source = ((dir.empty() ? "." : dir) / "model.safetensors").string();
  std::error_code ec;
  if (std::filesystem::equivalent(source, model_path(), ec)) return;  // resuming in place
  if (std::filesystem::exists(source)) {
    std::ifstream in(source, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    STRAND_CHECK(in.good() || in.eof(), "cannot read '{}'", source);
    load_model(source);  // verified before it becomes this run's model
    std::filesystem::create_directories(out_dir_);
    runtime::write_file_atomic(model_path(), {bytes});
  } else {
    STRAND_CHECK(state_.best_epoch == state_.epoch,
                 "--resume: the best model so far (epoch {}) should be '{}', which is missing; "
                 "without it the run cannot keep its best epoch",
                 state_.best_epoch, source);
    save_model(model_path(), *model_, info_, run_);
  }
}

void Trainer::log(const nlohmann::json& record) {
  if (!log_.is_open()) return;
  log_ << record.dump() << "\n";
  log_.flush();
  STRAND_CHECK(log_.good(), "cannot write '{}/log.jsonl' (disk full?)", out_dir_);
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
  runtime::ReduceStats epoch_comm;
  const int64_t total_batches = loader_->batches_per_epoch();
  while (auto batch = loader_->next()) {
    if (config_.max_steps > 0 && state_.step >= config_.max_steps) break;
    const double lr = learning_rate(config_, state_.step, epoch, total_steps_);
    optimizer_->set_lr(lr);
    if (comm_) comm_->set_context(strand::format("epoch {} step {}", epoch + 1, state_.step + 1));
    // A data-parallel rank may get no rows in a step; it still joins the step's collectives.
    runtime::Tensor loss;
    double value = 0;
    // With dropout, each rank draws what one process at the global batch draws for its rows.
    const runtime::BatchShareGuard share({.first = comm_ ? batch->global_first : 0,
                                          .rows = batch->size,
                                          .global = comm_ ? batch->global_size : 0});
    const layers::AutocastGuard autocast(config_.precision == "bf16");
    if (batch->size > 0) {
      loss = loss_for(info_.kind, (*model_)(batch->codes), batch->labels);
      value = loss.item();
    }
    if (comm_) value = global_mean(value, batch->size, batch->global_size);
    if (batch->global_size == 0) {
      if (step_->empty_batch(*optimizer_)) {  // DP-SGD: the step is noise alone
        optimizer_->step();
        ++state_.step;
        ++batches;
      }
      continue;
    }
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
    const runtime::ReduceStats comm_stats = step_->backward(loss, batch->size, batch->global_size);
    result_.comm += comm_stats;
    epoch_comm += comm_stats;
    const auto global = static_cast<double>(batch->global_size);
    optimizer_->step();
    ++state_.step;
    ++batches;
    loss_sum += value * global;
    seen += batch->global_size;
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
  const Predictions p = predict_valid();
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
  // Rule 7: the same metric on training rows, scored the way validation is.
  const Predictions pt = [&] {
    const layers::AutocastGuard autocast(config_.precision == "bf16");
    return predict_rows(*for_prediction(model_, config_.rc_average), info_.kind,
                        splits_->shared_dataset(), train_probe_,
                        std::max<int64_t>(256, config_.batch_size), device_);
  }();
  const double train_metric = metric_of(panel_of(info_, pt, 0));
  const double gap = lower_is_better_ ? metric - train_metric : train_metric - metric;
  result_.last_metric = metric, result_.last_train_metric = train_metric, result_.last_gap = gap;
  if (improved) result_.best_train_metric = train_metric, result_.best_gap = gap;
  state_.epoch = epoch + 1;
  if (clipper_) account_dp_sgd();
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
  nlohmann::json record = {
      {"type", "epoch"},
      {"epoch", state_.epoch},
      {"step", state_.step},
      {"train_loss", number(train_loss)},
      {"valid_loss", number(p.loss)},
      {monitor_, number(metric)},
      {"train_eval", {{"loss", number(pt.loss)}, {monitor_, number(train_metric)}}},
      {"gap", number(gap)},
      {"best", improved},
      {"lr", optimizer_->lr()},
      {"samples", seen},
      {"train_seconds", train_seconds},
      {"valid_seconds", seconds_since(valid_start)},
      {"samples_per_s", rate}};
  if (reducer_)
    record["comm"] = {
        {"ranks", comm_->size()},
        {"buckets_per_step", epoch_comm.steps ? epoch_comm.buckets / epoch_comm.steps : 0},
        {"seconds", epoch_comm.comm_seconds},
        {"exposed_seconds", epoch_comm.exposed_seconds},
        {"hidden_fraction", epoch_comm.hidden_fraction()}};
  else if (comm_)
    record["comm"] = {{"ranks", comm_->size()}, {"zero1", true}};
  if (clipper_) {
    record["epsilon"] = result_.epsilon;
    record["delta"] = result_.delta;
  }
  panel.erase("bootstrap");
  for (auto& [task, obj] : panel["tasks"].items()) obj.erase("reliability");
  record["valid"] = panel;
  log(record);
  if (progress_)
    std::fprintf(
        stderr, "epoch %lld: train loss %.4f, valid loss %.4f, %s %.4f (train %.4f, gap %+.4f)%s\n",
        static_cast<long long>(state_.epoch), train_loss, p.loss, monitor_.c_str(), metric,
        train_metric, gap, improved ? " (best)" : "");
  state_.history.push_back(record);
  result_.epochs = state_.epoch;
  result_.steps = state_.step;
  result_.best_epoch = state_.best_epoch;
  result_.best_metric = state_.best_metric;

  const auto& gen = runtime::default_generator();
  state_.rng_seed = gen.seed();
  state_.rng_offset = gen.offset();
  if (zero_) zero_->gather_state();  // collective: the checkpoint holds the unsharded state
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

void Trainer::distribute(DataParallelOptions options) {
  STRAND_CHECK(options.comm != nullptr, "distribute: no communicator");
  STRAND_CHECK(!comm_, "distribute: the trainer is already data-parallel");
  STRAND_CHECK(state_.step == 0 && state_.epoch == 0,
               "distribute must come before resume() and before training starts");
  STRAND_CHECK(options.comm->device() == device_,
               "distribute: the communicator is on {} but the trainer trains on {}",
               options.comm->device().str(), device_.str());
  runtime::Communicator& comm = *options.comm;
  // Every rank must train the same thing: a mismatch would silently average unrelated models.
  runtime::verify_same(comm, "the model", info_.describe() + " " + info_.kind);
  runtime::verify_same(comm, "the data (examples per split)", splits_->summary());
  nlohmann::json checksums = nlohmann::json::array();
  for (const auto& [path, crc] : run_.data.items()) checksums.push_back(crc);
  runtime::verify_same(comm, "the data checksums", checksums.dump());
  runtime::verify_same(comm, "the seed", std::to_string(config_.seed));
  nlohmann::json options_json = to_json(config_);
  options_json.erase("device");  // each rank has its own GPU
  options_json.erase("progress");
  for (const auto& [key, value] : options_json.items())
    runtime::verify_same(comm, strand::format("the training option '{}'", key), value.dump());
  runtime::verify_same(comm, "the data-parallel options",
                       strand::format("bucket {} MB, bf16 {}, zero1 {}", options.reducer.bucket_mb,
                                      options.reducer.bf16_compression, options.zero1));

  STRAND_CHECK(!(options.zero1 && config_.dp.enabled),
               "--zero1 cannot be combined with DP-SGD (the clipped sums are all-reduced whole)");
  comm_ = options.comm;
  const auto params = model_->parameters();
  runtime::broadcast_tensors(comm, params, 0);
  std::vector<runtime::Tensor> buffers;
  for (const auto& [name, t] : model_->named_buffers()) buffers.push_back(t);
  if (!buffers.empty()) runtime::broadcast_tensors(comm, buffers, 0);
  if (options.zero1) {
    const TrainConfig c = config_;
    auto zero = std::make_unique<runtime::ZeroOptimizer>(
        comm_, params,
        [c](std::vector<runtime::Tensor> shard) { return make_optimizer(c, shard); });
    zero->set_clip_norm(config_.clip_norm);
    zero_ = zero.get();
    optimizer_ = std::move(zero);
  } else {
    // DP-SGD writes the clipped sums into .grad after backward: the reducer reads them at finish().
    if (config_.dp.enabled) options.reducer.from_hooks = false;
    reducer_ = std::make_unique<runtime::GradReducer>(comm_, params, options.reducer);
  }

  data::LoaderOptions o = loader_->options();
  o.rank = comm.rank();
  o.world_size = comm.size();
  loader_ = std::make_unique<data::BatchLoader>(*splits_, data::Split::kTrain, o);
  total_steps_ =
      config_.max_steps > 0 ? config_.max_steps : config_.epochs * loader_->batches_per_epoch();
  if (config_.dp.enabled) setup_dp_sgd();  // the global sampling rate and batch, the noise for them
  choose_gradient_step();
  if (comm.rank() != 0) {
    out_dir_.clear();  // only rank 0 writes checkpoints, models and the log
    log_.close();
    progress_ = false;
  }
}

double Trainer::global_mean(double value, int64_t rows, int64_t global_rows) const {
  // The ranks that ran the model advanced the generator alike; a rank with no rows did not, so
  // it takes their position (the mean of the offsets of the ranks with rows).
  auto& gen = runtime::default_generator();
  const double ran = rows > 0 ? 1 : 0;
  runtime::Tensor t = runtime::from_vector<double>(
      {value * static_cast<double>(rows), ran, ran * static_cast<double>(gen.offset())}, {3});
  t = t.to(comm_->device());
  comm_->all_reduce(t, runtime::ReduceOp::kSum)->wait();
  const auto v = t.to_vector<double>();
  if (v[1] > 0) gen.set_state(gen.seed(), static_cast<uint64_t>(std::llround(v[2] / v[1])));
  return v[0] / static_cast<double>(std::max<int64_t>(1, global_rows));
}

Predictions Trainer::predict_valid() const {
  const int64_t batch = std::max<int64_t>(256, config_.batch_size);
  const layers::AutocastGuard autocast(config_.precision == "bf16");
  const auto model = for_prediction(model_, config_.rc_average);
  if (!comm_)
    return predict_rows(*model, info_.kind, splits_->shared_dataset(), splits_->valid(), batch,
                        device_);
  // Each rank scores a contiguous share; gathered in rank order they are the rows in order, so
  // every rank computes the same panel as one process would.
  const auto& rows = splits_->valid();
  const auto n = static_cast<int64_t>(rows.size());
  const int64_t first = n * comm_->rank() / comm_->size();
  const int64_t last = n * (comm_->rank() + 1) / comm_->size();
  Predictions mine;
  if (last > first)
    mine = predict_rows(*model, info_.kind, splits_->shared_dataset(),
                        std::vector<int64_t>(rows.begin() + first, rows.begin() + last), batch,
                        device_);
  std::string bytes(sizeof(double) * (2 + mine.scores.size() + mine.labels.size()), '\0');
  const double header[2] = {static_cast<double>(mine.scores.size()),
                            mine.loss * static_cast<double>(mine.rows)};
  char* out = bytes.data();
  std::memcpy(out, header, sizeof header);
  std::memcpy(out + sizeof header, mine.scores.data(), sizeof(double) * mine.scores.size());
  std::memcpy(out + sizeof header + sizeof(double) * mine.scores.size(), mine.labels.data(),
              sizeof(double) * mine.labels.size());
  Predictions all;
  all.rows = n;
  double loss_sum = 0;
  for (const std::string& part : runtime::all_gather_strings(*comm_, bytes)) {
    std::vector<double> v(part.size() / sizeof(double));
    std::memcpy(v.data(), part.data(), part.size());
    const auto scores = static_cast<size_t>(v[0]);
    loss_sum += v[1];
    all.scores.insert(all.scores.end(), v.begin() + 2, v.begin() + 2 + scores);
    all.labels.insert(all.labels.end(), v.begin() + 2 + scores, v.end());
  }
  all.outputs = info_.outputs;
  all.loss = loss_sum / static_cast<double>(n);
  return all;
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
