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

}  // namespace
}  // namespace strand::train
