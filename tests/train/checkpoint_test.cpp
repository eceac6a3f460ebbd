// Model files: round trip with metadata and predictions, and clear errors for foreign files.
#include "train/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

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
  info.tasks.push_back("d");
  save_model(dir.file("lie.safetensors"), *model, info, {});
  EXPECT_THAT(
      [&] { load_model(dir.file("lie.safetensors")); },
      ::testing::ThrowsMessage<Error>(HasSubstr("does not fit model cnn (length 80, outputs 4)")));
}

// Rewrites a safetensors file's JSON header (keeping the data) as a hostile editor would.
void edit_header(const std::string& path, const std::function<void(nlohmann::json&)>& edit) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i)
    length |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, length));
  edit(header);
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string prefix(8, '\0');
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>((text.size() >> (8 * i)) & 0xFF);
  std::ofstream(path, std::ios::binary) << prefix << text << bytes.substr(8 + length);
}

TEST(ModelFile, MetadataIsVerifiedAndCrossCheckedAgainstTheWeights) {
  data::testing::TempDir dir;
  auto model = layers::build_model("cnn", 80, 3);
  const std::string path = dir.file("m.safetensors");
  save_model(path, *model, cnn_info(), {});
  // A longer task list (predict would read past the scores) with the checksum removed.
  edit_header(path, [](nlohmann::json& h) {
    auto& meta = h["__metadata__"];
    meta.erase("strand.checksum");
    auto info = nlohmann::json::parse(meta["strand.model"].get<std::string>());
    info["tasks"].push_back("d");
    meta["strand.model"] = info.dump();
  });
  EXPECT_THAT([&] { load_model(path); },
              ::testing::ThrowsMessage<Error>(HasSubstr(
                  "has no checksum (metadata 'strand.checksum'): it was edited or not written by "
                  "strand; set STRAND_SKIP_CHECKSUM=1")));
  ::setenv("STRAND_SKIP_CHECKSUM", "1", 1);
  EXPECT_THAT(
      [&] { load_model(path); },
      ::testing::ThrowsMessage<Error>(HasSubstr("model metadata: 4 task names for 3 outputs")));
  edit_header(path, [](nlohmann::json& h) {
    auto& meta = h["__metadata__"];
    auto info = nlohmann::json::parse(meta["strand.model"].get<std::string>());
    info["tasks"] = {"a", "b", "c"};
    info["kind"] = "probabilities";
    meta["strand.model"] = info.dump();
  });
  EXPECT_THAT([&] { load_model(path); },
              ::testing::ThrowsMessage<Error>(HasSubstr("unknown output kind 'probabilities'")));
  ::unsetenv("STRAND_SKIP_CHECKSUM");
  // A file of an older strand (its CRC covers the data only) is refused unless skipped.
  save_model(path, *model, cnn_info(), {});
  uint32_t data_crc = 0;
  edit_header(path, [&](nlohmann::json& h) { h["__metadata__"].erase("strand.checksum"); });
  {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    uint64_t length = 0;
    for (int i = 0; i < 8; ++i)
      length |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
    const std::string data = bytes.substr(8 + length);
    data_crc = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0),
                                           reinterpret_cast<const Bytef*>(data.data()),
                                           static_cast<uInt>(data.size())));
  }
  edit_header(path, [&](nlohmann::json& h) {
    h["__metadata__"]["strand.crc32"] = std::to_string(data_crc);
  });
  EXPECT_THAT([&] { load_model(path); },
              ::testing::ThrowsMessage<Error>(HasSubstr("was written by an older strand: its "
                                                        "checksum covers the weights but not")));
  ::setenv("STRAND_SKIP_CHECKSUM", "1", 1);
  EXPECT_EQ(load_model(path).info.tasks, cnn_info().tasks);
  ::unsetenv("STRAND_SKIP_CHECKSUM");
}

// Rule 9: the calibration strand train fits is stored in the model file (checksum renewed) and
// read back by load_model; an edited one is refused like any edited metadata, and a hostile one
// (with the check skipped) is an error naming the file.
TEST(ModelFile, StoredCalibrationRoundTripsAndIsVerified) {
  data::testing::TempDir dir;
  auto model = layers::build_model("cnn", 80, 3);
  model->eval();
  const std::string path = dir.file("m.safetensors");
  save_model(path, *model, cnn_info(), {});
  EXPECT_FALSE(load_model(path).calibration.has_value());
  const std::vector<double> labels = {1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0};
  const std::vector<double> scores = {0.9, 0.2, 0.6, 0.3, 0.8, 0.1, 0.4, 0.7, 0.99, 0.6, 0.5, 0.2};
  const auto report = rules::calibrate_on_valid(rules::TaskKind::kBinary, cnn_info().tasks, labels,
                                                scores, labels, scores);
  store_calibration(path, report);
  const LoadedModel loaded = load_model(path);  // verified: the checksum covers the new metadata
  ASSERT_TRUE(loaded.calibration.has_value());
  EXPECT_EQ(loaded.calibration->recommended, report["recommended"].get<bool>());
  const auto fitted = rules::fit_calibrator(rules::TaskKind::kBinary, 3, labels, scores);
  EXPECT_EQ(loaded.calibration->calibrator.apply(scores), fitted.apply(scores));
  EXPECT_FALSE(nlohmann::json::parse(loaded.metadata.at("strand.calibration")).contains("test"));
  const Tensor codes = (runtime::rand({2, 80}, 3) * 4.0).to(DType::kU8);
  EXPECT_EQ((*model)(codes).to_vector<float>(), (*loaded.model)(codes).to_vector<float>());

  edit_header(path, [](nlohmann::json& h) {
    auto& meta = h["__metadata__"];
    auto cal = nlohmann::json::parse(meta["strand.calibration"].get<std::string>());
    cal["a"] = {1.0, 2.0};  // one slope short
    meta["strand.calibration"] = cal.dump();
  });
  EXPECT_THAT([&] { load_model(path); },
              ::testing::ThrowsMessage<Error>(HasSubstr("corrupted file: the CRC-32")));
  edit_header(path, [](nlohmann::json& h) { h["__metadata__"].erase("strand.checksum"); });
  ::setenv("STRAND_SKIP_CHECKSUM", "1", 1);
  EXPECT_THAT([&] { load_model(path); },
              ::testing::ThrowsMessage<Error>(HasSubstr(
                  "m.safetensors': metadata 'strand.calibration': calibration: 'a' must list one "
                  "number per task (3)")));
  ::unsetenv("STRAND_SKIP_CHECKSUM");
}

}  // namespace
}  // namespace strand::train
