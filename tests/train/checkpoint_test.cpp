// Model files: round trip with metadata and predictions, and clear errors for foreign files.
#include "train/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/version.h"
#include "layers/models.h"
#include "runtime/ops.h"
#include "runtime/rng.h"
#include "runtime/safetensors.h"
#include "tests/data/temp_files.h"

namespace strand::train {
namespace {

using ::testing::HasSubstr;

ModelInfo cnn_info() {
  return {
      .name = "cnn", .length = 80, .outputs = 3, .kind = "multi-label", .tasks = {"a", "b", "c"}};
}

TEST(ModelFile, RoundTripsWeightsAndMetadata) {
  data::testing::TempDir dir;
  runtime::manual_seed(5);
  auto model = layers::build_model("cnn", 80, 3);
  model->eval();
  RunMetadata run;
  run.seed = 5;
  run.training = {{"lr", 0.5}};
  run.data = {{"x.fa", "0badf00d"}};
  save_model(dir.file("m.safetensors"), *model, cnn_info(), run);

  const LoadedModel loaded = load_model(dir.file("m.safetensors"));
  EXPECT_EQ(loaded.info.describe(), "cnn (length 80, outputs 3)");
  EXPECT_EQ(loaded.info.tasks, cnn_info().tasks);
  EXPECT_EQ(loaded.metadata.at("strand.seed"), "5");
  EXPECT_EQ(loaded.metadata.at("strand.version"), strand::version());
  EXPECT_EQ(loaded.metadata.at("strand.git_commit"), strand::git_commit());
  EXPECT_THAT(loaded.metadata.at("strand.data"), HasSubstr("0badf00d"));
  // PyTorch names, and the same outputs.
  const auto names = model->state_dict();
  const auto loaded_names = loaded.model->state_dict();
  ASSERT_EQ(names.size(), loaded_names.size());
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(names[i].first, loaded_names[i].first);
  const Tensor codes = (runtime::rand({4, 80}, 9) * 4.0).to(DType::kU8);
  EXPECT_EQ((*model)(codes).to_vector<float>(), (*loaded.model)(codes).to_vector<float>());
}

TEST(ModelFile, YamlModelRebuildsFromTheCheckpointAlone) {
  data::testing::TempDir dir;
  const std::string yaml = dir.file("small.yaml");
  data::testing::write_text(yaml,
                            "name: small\nlayers:\n  - conv1d: {out: 6, kernel: 5}\n  - relu\n"
                            "  - maxpool1d: {kernel: 4}\n  - lstm: {hidden: 3, bidirectional: "
                            "true}\n  - flatten\n  - linear: {out: outputs}\n");
  ModelInfo info{.name = yaml,
                 .length = 40,
                 .outputs = 2,
                 .kind = "multi-label",
                 .tasks = {"a", "b"},
                 .spec = model_spec(yaml)};
  EXPECT_THAT(info.spec, HasSubstr("maxpool1d"));
  EXPECT_EQ(model_spec("cnn"), "");
  runtime::manual_seed(2);
  auto model = build_model(info);
  model->eval();
  save_model(dir.file("m.safetensors"), *model, info, {});
  std::filesystem::remove(yaml);  // the checkpoint alone must rebuild it

  const LoadedModel loaded = load_model(dir.file("m.safetensors"));
  EXPECT_EQ(loaded.info.spec, info.spec);
  EXPECT_EQ(loaded.info.name, yaml);
  const Tensor codes = (runtime::rand({3, 40}, 4) * 4.0).to(DType::kU8);
  EXPECT_EQ((*model)(codes).to_vector<float>(), (*loaded.model)(codes).to_vector<float>());

  // A broken embedded model names where the text came from.
  info.spec = "layers:\n  - conv1d: {out: 6, kernel: 50}\n";
  EXPECT_THAT([&] { build_model(info); },
              ::testing::ThrowsMessage<Error>(HasSubstr("embedded in a strand checkpoint)")));
}

TEST(ModelFile, ForeignOrMismatchedFilesAreRejected) {
  data::testing::TempDir dir;
  auto model = layers::build_model("cnn", 80, 3);
  runtime::save_safetensors(dir.file("plain.safetensors"), model->state_dict());
  EXPECT_THAT([&] { load_model(dir.file("plain.safetensors")); },
              ::testing::ThrowsMessage<Error>(HasSubstr("not a strand model file")));

  // Metadata claiming 4 outputs over the weights of a 3-output model.
  auto info = cnn_info();
  info.outputs = 4;
  save_model(dir.file("lie.safetensors"), *model, info, {});
  EXPECT_THAT(
      [&] { load_model(dir.file("lie.safetensors")); },
      ::testing::ThrowsMessage<Error>(HasSubstr("does not fit model cnn (length 80, outputs 4)")));
}

}  // namespace
}  // namespace strand::train
