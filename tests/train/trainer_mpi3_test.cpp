// The data-parallel trainer over real processes (`mpirun -np 2` and `-np 3`): N ranks at batch B
// train exactly as one process at batch N*B (losses, validation metrics, weights; dropout
// included), ZeRO-1 equals plain data parallel, only rank 0 writes, a checkpoint resumes on a
// different number of ranks (1 -> N and N -> 1) and continues as the one-process run would, and
// ranks that disagree on the seed or an option stop at start-up with an error naming it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "runtime/comm.h"
#include "tests/train/tiny_task.h"
#include "train/trainer.h"

namespace strand::train {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::tiny_config;
using testing::tiny_task;

std::shared_ptr<runtime::Communicator> world() {
  static auto comm = runtime::make_communicator(runtime::detect_launch(), runtime::Device::cpu());
  return comm;
}
bool rank0() { return world()->rank() == 0; }

// A scratch directory every rank sees (rank 0 makes it), removed by rank 0 at the end.
class SharedDir {
 public:
  SharedDir() {
    std::string made;
    if (rank0()) {
      std::string templ =
          (std::filesystem::temp_directory_path() / "strand_data_parallel_XXXXXX").string();
      made = mkdtemp(templ.data());
    }
    path_ = runtime::all_gather_strings(*world(), made)[0];
  }
  ~SharedDir() {
    world()->barrier();
    if (rank0()) std::filesystem::remove_all(path_);
  }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

const std::shared_ptr<const data::SplitDataset>& task() {
  static const auto t = tiny_task(100, 400);
  return t;
}

TrainConfig config(int64_t epochs) {
  TrainConfig c = tiny_config();
  c.epochs = epochs;
  c.batch_size = 8;
  return c;
}

// One process at the global batch.
TrainConfig global(TrainConfig c) {
  c.batch_size *= world()->size();
  return c;
}

std::vector<double> weights(Trainer& t) {
  std::vector<double> out;
  for (const auto& p : t.model().parameters()) {
    const auto v = p.to_vector<double>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

void expect_same_training(Trainer& a, Trainer& b, double tol) {
  const auto& ha = a.state().history;
  const auto& hb = b.state().history;
  ASSERT_EQ(ha.size(), hb.size());
  for (size_t e = 0; e < ha.size(); ++e) {
    SCOPED_TRACE("epoch " + std::to_string(e + 1));
    EXPECT_EQ(ha[e]["step"], hb[e]["step"]);
    EXPECT_EQ(ha[e]["samples"], hb[e]["samples"]);
    EXPECT_NEAR(ha[e]["train_loss"].get<double>(), hb[e]["train_loss"].get<double>(), tol);
    EXPECT_NEAR(ha[e]["valid_loss"].get<double>(), hb[e]["valid_loss"].get<double>(), tol);
    EXPECT_NEAR(ha[e]["auroc"].get<double>(), hb[e]["auroc"].get<double>(), 1e-3);
  }
  const auto wa = weights(a), wb = weights(b);
  ASSERT_EQ(wa.size(), wb.size());
  double worst = 0;
  for (size_t i = 0; i < wa.size(); ++i) worst = std::max(worst, std::abs(wa[i] - wb[i]));
  EXPECT_LT(worst, tol);
}

TEST(TrainerMpi, RanksAtBatchBTrainAsOneProcessAtBatchNB) {
  ASSERT_GE(world()->size(), 2) << "run this program under mpirun -np 2 or 3";
  Trainer single(task(), global(config(2)), "");
  single.fit();
  for (bool zero1 : {false, true}) {
    SCOPED_TRACE(zero1 ? "zero1" : "plain");
    Trainer ranks(task(), config(2), "");
    ranks.distribute({.comm = world(), .reducer = {.bucket_mb = 0.05}, .zero1 = zero1});
    const TrainResult r = ranks.fit();
    expect_same_training(ranks, single, 2e-4);
    if (!zero1) {
      EXPECT_GT(r.comm.buckets, 0);
      EXPECT_GT(r.comm.launched_in_backward, 0);  // buckets went out during backward
      EXPECT_TRUE(ranks.state().history[0].contains("comm"));
    }
  }
}

TEST(TrainerMpi, OnlyRankZeroWritesAndCheckpointsResumeOnAnotherRankCount) {
  SharedDir dir;
  // The whole run, two epochs in one process at the global batch.
  Trainer straight(task(), global(config(2)), "");
  straight.fit();

  // N ranks train epoch 1; every rank names its own directory, only rank 0's gets files.
  const std::string mine = dir / ("ranks" + std::to_string(world()->rank()));
  {
    Trainer first(task(), config(1), mine);
    first.distribute({.comm = world()});
    first.fit();
  }
  world()->barrier();
  const std::string checkpoint = dir / "ranks0/checkpoint.safetensors";
  EXPECT_TRUE(std::filesystem::exists(checkpoint));
  if (!rank0()) {
    EXPECT_FALSE(std::filesystem::exists(mine + "/checkpoint.safetensors"));
    EXPECT_FALSE(std::filesystem::exists(mine + "/model.safetensors"));
    EXPECT_EQ(std::filesystem::file_size(mine + "/log.jsonl"), 0u);
  }
  // N -> 1: each rank alone resumes epoch 2 at the global batch.
  {
    Trainer alone(task(), global(config(2)), "");
    alone.resume(checkpoint);
    alone.fit();
    expect_same_training(alone, straight, 2e-4);
  }
  // 1 -> N: rank 0 alone trains epoch 1, then all ranks resume epoch 2 from its checkpoint.
  if (rank0()) {
    Trainer one(task(), global(config(1)), dir / "one");
    one.fit();
  }
  world()->barrier();
  Trainer resumed(task(), config(2), "");
  resumed.distribute({.comm = world()});
  resumed.resume(dir / "one/checkpoint.safetensors");
  resumed.fit();
  expect_same_training(resumed, straight, 2e-4);
}

// DP-SGD across ranks: each rank clips its examples of the global Poisson sample, the clipped sums
// are summed and the noise is drawn once for the global batch; with the same seed that is exactly
// one process's DP-SGD at the global batch (noise added per rank would be sqrt(N) times larger
// and drawn differently), and the privacy accounting uses the global sampling rate.
TEST(TrainerMpi, DpSgdAcrossRanksIsOneProcessDpSgdAtTheGlobalBatch) {
  TrainConfig c = config(1);
  c.dp.enabled = true;
  c.dp.noise_multiplier = 1.0;
  c.dp.max_grad_norm = 1.0;
  c.dp.sampling = "poisson";
  Trainer single(task(), global(c), "");
  const TrainResult one = single.fit();
  Trainer ranks(task(), c, "");
  ranks.distribute({.comm = world()});
  const TrainResult many = ranks.fit();
  EXPECT_TRUE(many.dp);
  EXPECT_DOUBLE_EQ(many.sampling_rate, one.sampling_rate);
  EXPECT_NEAR(many.sampling_rate,
              8.0 * world()->size() / static_cast<double>(task()->train().size()), 1e-12);
  EXPECT_DOUBLE_EQ(many.noise_multiplier, one.noise_multiplier);
  EXPECT_DOUBLE_EQ(many.epsilon, one.epsilon);
  EXPECT_GT(many.epsilon, 0);
  expect_same_training(ranks, single, 2e-4);
  Trainer zero(task(), c, "");
  EXPECT_THAT([&] { zero.distribute({.comm = world(), .zero1 = true}); },
              ThrowsMessage<Error>(HasSubstr("--zero1 cannot be combined with DP-SGD")));
}

TEST(TrainerMpi, RanksThatDisagreeStopAtStartUpNamingWhat) {
  TrainConfig c = config(1);
  c.seed = 3 + (world()->rank() == 1 ? 1 : 0);
  Trainer seeds(task(), c, "");
  EXPECT_THAT([&] { seeds.distribute({.comm = world()}); },
              ThrowsMessage<Error>(HasSubstr("ranks disagree on the seed: rank 0 has '3', rank 1 "
                                             "has '4'")));
  c = config(1);
  c.lr = world()->rank() == 1 ? 0.5 : c.lr;
  Trainer lrs(task(), c, "");
  EXPECT_THAT([&] { lrs.distribute({.comm = world()}); },
              ThrowsMessage<Error>(HasSubstr("ranks disagree on the training option 'lr'")));
}

}  // namespace
}  // namespace strand::train
