// TrainConfig JSON round trip, validation messages and the learning-rate schedules.
#include "train/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "kernels/common/onednn.h"

namespace strand::train {
namespace {

using ::testing::HasSubstr;

TEST(TrainConfig, RoundTripsThroughJson) {
  TrainConfig c;
  c.model = "danq";
  c.epochs = 3;
  c.lr = 0.125;
  c.optimizer = "sgd";
  c.seed = 99;
  c.clip_norm = 2.5;
  c.rc_average = true;
  c.precision = "bf16";
  const TrainConfig back = config_from_json(to_json(c));
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_EQ(back.model, "danq");
  EXPECT_EQ(back.seed, 99u);
  EXPECT_TRUE(back.rc_average);
  EXPECT_EQ(back.precision, "bf16");
}

TEST(TrainConfig, UnknownKeyNamesTheClosestKey) {
  try {
    config_from_json({{"learning_rat", 0.1}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("unknown training config key 'learning_rat'"));
  }
  try {
    config_from_json({{"epocs", 3}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("did you mean 'epochs'"));
  }
}

TEST(TrainConfig, TypeErrorsNameTheKey) {
  EXPECT_THAT(
      [] {
        config_from_json({{"lr", "fast"}});
      },
      ::testing::ThrowsMessage<Error>(
          HasSubstr("training config key 'lr': type must be number, but is string, got \"fast\"")));
  EXPECT_THAT(
      [] {
        config_from_json({{"dp", {{"delta", true}}}});
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("training config key 'dp.delta'")));
  EXPECT_THAT(
      [] {
        config_from_json({{"seed", -1}});
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("'seed' must be a non-negative integer")));
}

TEST(TrainConfig, ValidateNamesTheBadField) {
  TrainConfig c;
  c.batch_size = 0;
  EXPECT_THAT([&] { validate(c); }, ::testing::ThrowsMessage<Error>(HasSubstr("batch size")));
  c = {};
  c.optimizer = "adagrad";
  EXPECT_THAT([&] { validate(c); },
              ::testing::ThrowsMessage<Error>(HasSubstr("unknown optimizer 'adagrad'")));
  c = {};
  c.schedule = "exp";
  EXPECT_THAT([&] { validate(c); },
              ::testing::ThrowsMessage<Error>(HasSubstr("unknown lr schedule 'exp'")));
  c = {};
  c.lr = -1;
  EXPECT_THAT([&] { validate(c); }, ::testing::ThrowsMessage<Error>(HasSubstr("learning rate")));
  c = {};
  c.precision = "fp16";
  EXPECT_THAT([&] { validate(c); },
              ::testing::ThrowsMessage<Error>(HasSubstr("unknown precision 'fp16' (fp32, bf16)")));
  c.precision = "bf16";
  // bf16 on the CPU runs where the CPU has bf16 instructions and names what is missing otherwise.
  if (kernels::cpu::cpu_kernel_info().bf16) {
    EXPECT_NO_THROW(validate(c));
  } else {
    EXPECT_THAT([&] { validate(c); },
                ::testing::ThrowsMessage<Error>(HasSubstr("needs AVX512-BF16 or AMX-BF16")));
  }
  c.device = "cuda";
  EXPECT_NO_THROW(validate(c));
  c.dp.enabled = true;
  c.dp.target_epsilon = 8;
  EXPECT_THAT([&] { validate(c); },
              ::testing::ThrowsMessage<Error>(HasSubstr("--precision bf16 cannot be combined")));
}

TEST(TrainConfig, DpFieldsRoundTripAndAreValidated) {
  TrainConfig c;
  c.dp.enabled = true;
  c.dp.target_epsilon = 8;
  c.dp.max_grad_norm = 0.5;
  c.dp.sampling = "shuffle";
  const TrainConfig back = config_from_json(to_json(c));
  EXPECT_TRUE(back.dp.enabled);
  EXPECT_EQ(back.dp.target_epsilon, 8);
  EXPECT_EQ(back.dp.max_grad_norm, 0.5);
  EXPECT_EQ(back.dp.sampling, "shuffle");
  EXPECT_NO_THROW(validate(back));
  EXPECT_THAT(
      [] {
        config_from_json({{"dp", {{"epsilon", 8}}}});
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("unknown training config key 'dp.epsilon'")));
  TrainConfig bad = c;
  bad.dp.target_epsilon = 0;
  EXPECT_THAT([&] { validate(bad); },
              ::testing::ThrowsMessage<Error>(HasSubstr("needs a target epsilon")));
  bad = c;
  bad.dp.max_grad_norm = 0;
  EXPECT_THAT([&] { validate(bad); },
              ::testing::ThrowsMessage<Error>(HasSubstr("max_grad_norm (the clipping bound C)")));
  bad = c;
  bad.dp.delta = 1;
  EXPECT_THAT([&] { validate(bad); }, ::testing::ThrowsMessage<Error>(HasSubstr("delta must be")));
  bad = c;
  bad.dp.sampling = "uniform";
  EXPECT_THAT([&] { validate(bad); },
              ::testing::ThrowsMessage<Error>(HasSubstr("unknown sampling 'uniform'")));
  EXPECT_DOUBLE_EQ(default_delta(3200), 1e-5);  // 1/32000 rounded down
  EXPECT_DOUBLE_EQ(default_delta(100), 1e-3);
}

TEST(LearningRate, ConstantStepCosineAndWarmup) {
  TrainConfig c;
  c.lr = 0.1;
  c.schedule = "constant";
  EXPECT_DOUBLE_EQ(learning_rate(c, 50, 3, 100), 0.1);
  c.schedule = "step";
  c.step_epochs = 2;
  c.gamma = 0.5;
  EXPECT_DOUBLE_EQ(learning_rate(c, 0, 1, 100), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(c, 0, 2, 100), 0.05);
  EXPECT_DOUBLE_EQ(learning_rate(c, 0, 5, 100), 0.025);
  c.schedule = "cosine";
  EXPECT_DOUBLE_EQ(learning_rate(c, 0, 0, 100), 0.1);
  EXPECT_NEAR(learning_rate(c, 50, 0, 100), 0.05, 1e-12);
  EXPECT_NEAR(learning_rate(c, 100, 0, 100), 0.0, 1e-12);
  c.warmup_steps = 10;
  EXPECT_NEAR(learning_rate(c, 0, 0, 110), 0.01, 1e-12);  // (0 + 1) / 10 of the peak
  EXPECT_NEAR(learning_rate(c, 4, 0, 110), 0.05, 1e-12);
  EXPECT_NEAR(learning_rate(c, 10, 0, 110), 0.1, 1e-12);
  EXPECT_NEAR(learning_rate(c, 60, 0, 110), 0.05, 1e-12);
}

}  // namespace
}  // namespace strand::train
