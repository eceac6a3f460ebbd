// The trainer on a tiny simulated task on CPU: it learns, stops early, stops on a NaN loss keeping
// the last good checkpoint, and resuming from a checkpoint reproduces the uninterrupted run bit for
// bit (ctest runs with OMP_NUM_THREADS=1).
#include "train/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "rules/privacy_accountant.h"
#include "tests/data/temp_files.h"
#include "tests/train/tiny_task.h"

namespace strand::train {
namespace {

using ::testing::HasSubstr;
using testing::tiny_config;
using testing::tiny_task;

std::vector<std::vector<float>> weights(Trainer& t) {
  std::vector<std::vector<float>> out;
  for (const auto& [name, tensor] : t.model().state_dict())
    out.push_back(tensor.to(DType::kF32).to_vector<float>());
  return out;
}

int count_lines(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

TEST(Trainer, LearnsTheSimulatedMotifTasks) {
  data::testing::TempDir dir;
  auto cfg = tiny_config();
  cfg.epochs = 6;
  Trainer trainer(tiny_task(100, 1600), cfg, dir.path());
  const TrainResult r = trainer.fit();
  EXPECT_FALSE(r.diverged);
  EXPECT_EQ(r.epochs, 6);
  EXPECT_EQ(r.monitor, "auroc");
  // The single-motif task is learnt well; the AND task needs more data than this tiny set.
  EXPECT_GT(r.best_metric, 0.75) << r.best_valid["macro"].dump();
  double best_task = 0;
  for (const auto& [task, obj] : r.best_valid["tasks"].items())
    best_task = std::max(best_task, obj["auroc"].get<double>());
  EXPECT_GT(best_task, 0.95);
  EXPECT_GT(r.samples_per_second, 0);
  EXPECT_TRUE(std::filesystem::exists(trainer.model_path()));
  EXPECT_TRUE(std::filesystem::exists(trainer.checkpoint_path()));
  EXPECT_EQ(count_lines(dir.file("log.jsonl"), "\"type\":\"epoch\""), 6);
  EXPECT_GT(count_lines(dir.file("log.jsonl"), "\"type\":\"step\""), 0);
}

TEST(Trainer, EarlyStoppingKeepsTheBestEpoch) {
  data::testing::TempDir dir;
  auto cfg = tiny_config();
  cfg.epochs = 20;
  cfg.lr = 0;  // nothing changes, so no epoch after the first improves
  cfg.patience = 2;
  Trainer trainer(tiny_task(), cfg, dir.path());
  const TrainResult r = trainer.fit();
  EXPECT_TRUE(r.stopped_early);
  EXPECT_EQ(r.epochs, 3);
  EXPECT_EQ(r.best_epoch, 1);
  EXPECT_THAT(r.stop_reason, HasSubstr("early stop after epoch 3"));
}

TEST(Trainer, NanLossStopsAndKeepsTheLastGoodCheckpoint) {
  data::testing::TempDir dir;
  auto cfg = tiny_config();
  cfg.epochs = 3;
  Trainer trainer(tiny_task(), cfg, dir.path());
  ASSERT_TRUE(trainer.run_epoch());
  const int64_t good_step = trainer.state().step;
  // Poison the output layer's bias: the next forward pass gives a NaN loss.
  trainer.model().parameters().back().fill_(std::nan(""));
  EXPECT_FALSE(trainer.run_epoch());
  const TrainResult& r = trainer.result();
  EXPECT_TRUE(r.diverged);
  EXPECT_THAT(r.stop_reason,
              HasSubstr("loss is NaN at epoch 2 step " + std::to_string(good_step + 1)));
  EXPECT_THAT(r.stop_reason, HasSubstr("kept the last good checkpoint"));
  EXPECT_EQ(r.epochs, 1);

  // The checkpoint on disk is the finite state after epoch 1, and training can go on from it.
  const LoadedModel best = load_model(trainer.model_path());
  for (const auto& [name, t] : best.model->state_dict())
    for (float v : t.to(DType::kF32).to_vector<float>()) ASSERT_TRUE(std::isfinite(v)) << name;
  Trainer again(tiny_task(), cfg, "");
  again.resume(trainer.checkpoint_path());
  EXPECT_EQ(again.state().epoch, 1);
  EXPECT_EQ(again.state().step, good_step);
  EXPECT_TRUE(again.run_epoch());
}

TEST(Trainer, ResumingReproducesTheUninterruptedRunExactly) {
  data::testing::TempDir straight_dir, first_dir, resumed_dir;
  auto cfg = tiny_config();
  cfg.schedule = "cosine";
  cfg.warmup_steps = 3;
  cfg.clip_norm = 1.0;
  cfg.reverse_complement = true;
  Trainer straight(tiny_task(), cfg, straight_dir.path());
  straight.fit();

  {
    Trainer first(tiny_task(), cfg, first_dir.path());
    ASSERT_TRUE(first.run_epoch());
  }
  Trainer resumed(tiny_task(), cfg, resumed_dir.path());
  resumed.resume(first_dir.file("checkpoint.safetensors"));
  resumed.fit();

  const auto& a = straight.state().history;
  const auto& b = resumed.state().history;
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_EQ(a[e]["train_loss"].get<double>(), b[e]["train_loss"].get<double>()) << e;
    EXPECT_EQ(a[e]["valid_loss"].get<double>(), b[e]["valid_loss"].get<double>()) << e;
    EXPECT_EQ(a[e]["step"], b[e]["step"]);
  }
  EXPECT_EQ(weights(straight), weights(resumed));
  EXPECT_EQ(straight.state().rng_offset, resumed.state().rng_offset);
}

TEST(Trainer, ResumingSgdWithMomentumIsExact) {
  data::testing::TempDir straight_dir, first_dir;
  auto cfg = tiny_config();
  cfg.optimizer = "sgd";
  cfg.lr = 0.05;
  cfg.momentum = 0.9;
  Trainer straight(tiny_task(), cfg, straight_dir.path());
  straight.fit();
  {
    Trainer first(tiny_task(), cfg, first_dir.path());
    ASSERT_TRUE(first.run_epoch());
  }
  Trainer resumed(tiny_task(), cfg, "");
  resumed.resume(first_dir.file("checkpoint.safetensors"));
  resumed.fit();
  ASSERT_EQ(resumed.state().history.size(), 2u);
  EXPECT_EQ(straight.state().history[1]["train_loss"].get<double>(),
            resumed.state().history[1]["train_loss"].get<double>());
  EXPECT_EQ(weights(straight), weights(resumed));
}

TEST(Trainer, MaxStepsStopsMidEpoch) {
  auto cfg = tiny_config();
  cfg.max_steps = 7;
  Trainer trainer(tiny_task(), cfg, "");
  const TrainResult r = trainer.fit();
  EXPECT_EQ(r.steps, 7);
  EXPECT_EQ(r.epochs, 1);
  EXPECT_THAT(r.stop_reason, HasSubstr("max_steps 7"));
}

TEST(Trainer, ResumeRejectsAnotherModelOrCorruptFile) {
  data::testing::TempDir dir;
  auto cfg = tiny_config();
  Trainer trainer(tiny_task(), cfg, dir.path());
  ASSERT_TRUE(trainer.run_epoch());
  const std::string ckpt = trainer.checkpoint_path();

  Trainer longer(tiny_task(120), cfg, "");
  EXPECT_THAT([&] { longer.resume(ckpt); },
              ::testing::ThrowsMessage<Error>(HasSubstr(
                  "holds model cnn (length 100, outputs 2), but this run builds cnn (length 120")));

  auto sgd = cfg;
  sgd.optimizer = "sgd";
  Trainer other(tiny_task(), sgd, "");
  EXPECT_THAT(
      [&] { other.resume(ckpt); },
      ::testing::ThrowsMessage<Error>(HasSubstr("optimizer 'adam', but this run uses 'sgd'")));

  EXPECT_THAT([&] { trainer.resume(trainer.model_path()); },
              ::testing::ThrowsMessage<Error>(HasSubstr("expected a checkpoint file")));

  // Flip one byte near the end (tensor data): the CRC check rejects the file.
  {
    std::fstream f(ckpt, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-5, std::ios::end);
    char c = 0;
    f.read(&c, 1);
    c ^= 0x5A;
    f.seekp(-5, std::ios::end);
    f.write(&c, 1);
  }
  EXPECT_THAT([&] { trainer.resume(ckpt); },
              ::testing::ThrowsMessage<Error>(HasSubstr("corrupted file")));
  std::filesystem::resize_file(ckpt, std::filesystem::file_size(ckpt) / 2);
  EXPECT_THAT([&] { trainer.resume(ckpt); }, ::testing::ThrowsMessage<Error>(HasSubstr(ckpt)));
}

TEST(Trainer, ResumeChecksTheDataByContentAndBringsTheBestModelAlong) {
  data::testing::TempDir first_dir, moved_dir, other_dir;
  auto cfg = tiny_config();
  RunMetadata run;
  run.data = {{"data/x.fa", "1234abcd"}, {"data/x.tsv", "0f0f0f0f"}};
  {
    Trainer first(tiny_task(), cfg, first_dir.path(), run);
    ASSERT_TRUE(first.run_epoch());
  }
  const std::string ckpt = first_dir.file("checkpoint.safetensors");
  // The same files by other paths: accepted, and the best model so far is in the new directory.
  RunMetadata moved = run;
  moved.data = {{"./data/../data/x.fa", "1234abcd"}, {"/abs/x.tsv", "0f0f0f0f"}};
  Trainer resumed(tiny_task(), cfg, moved_dir.path(), moved);
  resumed.resume(ckpt);
  EXPECT_EQ(load_model(resumed.model_path()).info.tasks,
            load_model(first_dir.file("model.safetensors")).info.tasks);
  // Other data: refused, naming both.
  RunMetadata other = run;
  other.data["data/x.tsv"] = "deadbeef";
  Trainer wrong(tiny_task(), cfg, other_dir.path(), other);
  EXPECT_THAT([&] { wrong.resume(ckpt); },
              ::testing::ThrowsMessage<Error>(HasSubstr("was trained on other data")));
  // Without the best model beside a checkpoint whose last epoch is not the best: refused at
  // once, not after training.
  std::filesystem::remove(first_dir.file("model.safetensors"));
  EXPECT_NO_THROW(
      Trainer(tiny_task(), cfg, other_dir.path(), run).resume(ckpt));  // epoch 1 is best
  EXPECT_TRUE(std::filesystem::exists(other_dir.file("model.safetensors")));
}

// The same simulated sequences relabelled as multi-class (which of the two patterns is present) and
// as regression (their sum): the trainer picks the loss and the monitored metric by kind.
std::shared_ptr<const data::SplitDataset> relabelled(data::LabelKind kind) {
  data::SimulationConfig c;
  c.num_sequences = 300;
  c.length = 60;
  c.seed = 11;
  c.valid_fraction = 0.2;
  const auto sim = data::simulate(c);
  data::LabelTable t = sim.labels;
  t.kind = kind;
  std::vector<float> values;
  for (int64_t i = 0; i < t.num_rows(); ++i) values.push_back(t.row(i)[0] + 2 * t.row(i)[1]);
  t.values = values;
  t.columns = {"pattern"};
  if (kind == data::LabelKind::kMultiClass) t.classes = {"none", "ctcf", "pair", "both"};
  auto ds = std::make_shared<const data::Dataset>(data::Dataset::from_records(sim.records, t));
  return std::make_shared<const data::SplitDataset>(ds);
}

TEST(Trainer, MultiClassAndRegressionUseTheirLossAndMetric) {
  auto cfg = tiny_config();
  cfg.epochs = 1;
  Trainer mc(relabelled(data::LabelKind::kMultiClass), cfg, "");
  EXPECT_EQ(mc.monitor(), "macro_auroc");
  EXPECT_EQ(mc.info().outputs, 4);
  const TrainResult a = mc.fit();
  EXPECT_FALSE(a.diverged) << a.stop_reason;
  EXPECT_EQ(a.best_valid["kind"], "multiclass");
  EXPECT_TRUE(a.best_valid.contains("accuracy"));

  Trainer reg(relabelled(data::LabelKind::kRegression), cfg, "");
  EXPECT_EQ(reg.monitor(), "loss");
  const TrainResult b = reg.fit();
  EXPECT_FALSE(b.diverged) << b.stop_reason;
  EXPECT_EQ(b.best_valid["kind"], "regression");
  EXPECT_EQ(b.best_metric, b.best_valid["loss"].get<double>());
}

TEST(Trainer, DpSgdLogsTheEpsilonSpentEachEpoch) {
  data::testing::TempDir dir;
  auto cfg = tiny_config();
  cfg.epochs = 3;
  cfg.batch_size = 64;
  cfg.dp.enabled = true;
  cfg.dp.target_epsilon = 4;
  Trainer trainer(tiny_task(), cfg, dir.path());
  const TrainResult r = trainer.fit();
  ASSERT_TRUE(r.dp);
  EXPECT_TRUE(r.dp_guaranteed);
  EXPECT_EQ(r.epochs, 3);
  const int64_t n_train = static_cast<int64_t>(tiny_task()->train().size());
  EXPECT_DOUBLE_EQ(r.sampling_rate, 64.0 / static_cast<double>(n_train));
  EXPECT_DOUBLE_EQ(r.delta, default_delta(n_train));
  EXPECT_GT(r.noise_multiplier, 0.3);
  // Every planned step ran, so the spent epsilon is the target (the search is on the safe side).
  EXPECT_LE(r.epsilon, 4.0);
  EXPECT_GT(r.epsilon, 3.9);
  EXPECT_DOUBLE_EQ(r.epsilon, rules::epsilon(rules::AccountantKind::kRdp, r.sampling_rate,
                                             r.noise_multiplier, r.steps, r.delta));
  // One epsilon per epoch in the log, growing.
  std::ifstream in(dir.file("log.jsonl"));
  std::vector<double> eps;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["type"] == "epoch") eps.push_back(j.at("epsilon").get<double>());
  }
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_LT(eps[0], eps[1]);
  EXPECT_LT(eps[1], eps[2]);
  EXPECT_DOUBLE_EQ(eps[2], r.epsilon);
}

TEST(Trainer, DpSgdWithAGivenNoiseMultiplierAndShuffledBatches) {
  auto cfg = tiny_config();
  cfg.epochs = 1;
  cfg.dp.enabled = true;
  cfg.dp.noise_multiplier = 1.1;
  cfg.dp.sampling = "shuffle";
  Trainer trainer(tiny_task(), cfg, "");
  const TrainResult r = trainer.fit();
  EXPECT_FALSE(r.dp_guaranteed);  // fixed-size shuffled batches are not what the accountant assumes
  EXPECT_EQ(r.noise_multiplier, 1.1);
  EXPECT_GT(r.epsilon, 0);
}

TEST(Trainer, DpSgdRefusesBatchNorm) {
  auto cfg = tiny_config();
  cfg.model = "basset";
  cfg.dp.enabled = true;
  cfg.dp.target_epsilon = 8;
  EXPECT_THAT([&] { Trainer(tiny_task(600), cfg, "").fit(); },
              ::testing::ThrowsMessage<Error>(
                  AllOf(HasSubstr("is BatchNorm1d"), HasSubstr("GroupNorm or LayerNorm"))));
}

}  // namespace
}  // namespace strand::train
