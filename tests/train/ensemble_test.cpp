// Ensembles: the mean and spread of members' scores, and members that disagree on what they
// predict refused with the reason.
#include "train/ensemble.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "layers/models.h"
#include "runtime/rng.h"
#include "tests/data/temp_files.h"

namespace strand::train {
namespace {

using ::testing::HasSubstr;

TEST(Ensemble, MeanAndSampleSdAcrossMembers) {
  const auto e = combine_scores({{0.2, 0.9}, {0.4, 0.7}, {0.6, 0.8}});
  EXPECT_NEAR(e.mean[0], 0.4, 1e-12);
  EXPECT_NEAR(e.mean[1], 0.8, 1e-12);
  EXPECT_NEAR(e.sd[0], 0.2, 1e-12);
  EXPECT_NEAR(e.sd[1], 0.1, 1e-12);
  EXPECT_EQ(combine_scores({{0.3}}).sd[0], 0);
  EXPECT_THROW(combine_scores({{0.1, 0.2}, {0.1}}), Error);
}

std::string saved(data::testing::TempDir& dir, const std::string& file, int64_t length,
                  std::vector<std::string> tasks, uint64_t seed) {
  runtime::manual_seed(seed);
  auto model = layers::build_model("cnn-small", length, static_cast<int64_t>(tasks.size()));
  const ModelInfo info{.name = "cnn-small",
                       .length = length,
                       .outputs = static_cast<int64_t>(tasks.size()),
                       .kind = "multi-label",
                       .tasks = tasks};
  save_model(dir.file(file), *model, info, {});
  return dir.file(file);
}

TEST(Ensemble, MembersMustAgreeOnOutputsAndLength) {
  data::testing::TempDir dir;
  const auto a = saved(dir, "a.safetensors", 60, {"x", "y"}, 1);
  const auto b = saved(dir, "b.safetensors", 60, {"x", "y"}, 2);
  const auto e = load_ensemble({a, b});
  EXPECT_EQ(e.members.size(), 2u);
  EXPECT_EQ(e.info.tasks, (std::vector<std::string>{"x", "y"}));
  const auto other_tasks = saved(dir, "c.safetensors", 60, {"y", "x"}, 3);
  EXPECT_THAT(
      [&] {
        load_ensemble({a, other_tasks});
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("outputs [\"y\",\"x\"]")));
  const auto other_length = saved(dir, "d.safetensors", 80, {"x", "y"}, 4);
  EXPECT_THAT(
      [&] {
        load_ensemble({a, other_length});
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("takes sequences of length 80")));
}

// --calibrated: each member's scores go through its own stored calibration before the mean; a
// member without one is an error naming its file.
TEST(Ensemble, CalibratedScoresUseEachMembersOwnCalibration) {
  data::testing::TempDir dir;
  const auto a = saved(dir, "a.safetensors", 60, {"x", "y"}, 1);
  const auto b = saved(dir, "b.safetensors", 60, {"x", "y"}, 2);
  std::string fasta;
  for (int i = 0; i < 12; ++i) {
    fasta += ">s" + std::to_string(i) + "\n";
    for (int j = 0; j < 60; ++j) fasta += "ACGT"[(i * 7 + j * j) % 4];
    fasta += "\n";
  }
  const auto input =
      data::open_sequences(data::testing::write_text(dir.file("in.fa"), fasta), "", "", 60);
  const auto cpu = runtime::Device::parse("cpu");
  EXPECT_THAT(
      [&] {
        score_sequences(load_ensemble({a, b}), input, cpu, 5, false, true);
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("a.safetensors' carries no calibration")));
  // Labels that make each member's calibration differ (a: the first half positive; b: odd rows).
  std::vector<std::vector<double>> raw;
  for (const auto& path : {a, b}) {
    raw.push_back(score_sequences(load_ensemble({path}), input, cpu, 5, false).mean);
    std::vector<double> labels;
    for (size_t i = 0; i < raw.back().size(); ++i)
      labels.push_back(path == a ? (i < raw.back().size() / 2) : (i / 2) % 2);
    store_calibration(path, rules::calibrate_on_valid(rules::TaskKind::kBinary, {"x", "y"}, labels,
                                                      raw.back(), labels, raw.back()));
  }
  const auto calibrated = score_sequences(load_ensemble({a, b}), input, cpu, 5, false, true);
  const auto ca = load_model(a).calibration->calibrator.apply(raw[0]);
  const auto cb = load_model(b).calibration->calibrator.apply(raw[1]);
  ASSERT_EQ(calibrated.mean.size(), ca.size());
  for (size_t i = 0; i < ca.size(); ++i) {
    EXPECT_NEAR(calibrated.mean[i], (ca[i] + cb[i]) / 2, 1e-12);
    EXPECT_NEAR(calibrated.sd[i], std::abs(ca[i] - cb[i]) / std::sqrt(2.0), 1e-12);
  }
  EXPECT_NE(ca, raw[0]);
}

}  // namespace
}  // namespace strand::train
