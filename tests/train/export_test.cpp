// The Rule 10 guard on export: a model trained on sensitive data without DP is refused with the
// reason, the override writes the weights and an audit record, DP and non-sensitive models pass,
// and the exported file holds the same PyTorch-named weights with the privacy record.
#include "train/export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "layers/models.h"
#include "runtime/safetensors.h"
#include "tests/data/temp_files.h"
#include "train/checkpoint.h"

namespace strand::train {
namespace {

using ::testing::HasSubstr;

std::string save_tiny_model(const data::testing::TempDir& dir, const rules::PrivacyRecord& p) {
  auto model = layers::build_model("cnn", 60, 2);
  RunMetadata run;
  run.data = {{"/secret/patients.fa", "0badf00d"}};
  run.privacy = p;
  const std::string path = dir.file("model.safetensors");
  save_model(
      path, *model,
      {.name = "cnn", .length = 60, .outputs = 2, .kind = "multi-label", .tasks = {"a", "b"}}, run);
  return path;
}

rules::PrivacyRecord sensitive(bool dp) {
  rules::PrivacyRecord p;
  p.sensitive = true;
  if (dp) {
    p.dp = true;
    p.epsilon = 4.2;
    p.delta = 1e-5;
    p.accountant = "pld";
    p.noise_multiplier = 1.1;
    p.sampling_rate = 0.01;
    p.max_grad_norm = 1.0;
    p.steps = 500;
  }
  return p;
}

TEST(Export, SensitiveModelWithoutDpIsRefusedWithTheReason) {
  data::testing::TempDir dir;
  const std::string model = save_tiny_model(dir, sensitive(false));
  std::ostringstream log;
  EXPECT_THAT([&] { export_model(model, dir.file("out.safetensors"), {}, log); },
              ::testing::ThrowsMessage<Error>(AllOf(HasSubstr("refusing to export"),
                                                    HasSubstr("marked sensitive without "
                                                              "differential privacy"),
                                                    HasSubstr("--override-privacy"))));
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.safetensors")));
}

TEST(Export, OverrideExportsAndIsLogged) {
  data::testing::TempDir dir;
  const std::string model = save_tiny_model(dir, sensitive(false));
  const std::string out = dir.file("out.safetensors");
  std::ostringstream log;
  ExportOptions o;
  o.override_privacy = "IRB 2024-17 approved sharing with the consortium";
  const ExportResult r = export_model(model, out, o, log);
  EXPECT_TRUE(r.overridden);
  EXPECT_THAT(log.str(), HasSubstr("PRIVACY OVERRIDE"));
  EXPECT_THAT(log.str(), HasSubstr("IRB 2024-17"));
  ASSERT_EQ(r.audit_log, out + ".privacy-override.jsonl");
  // A second override appends.
  export_model(model, out, o, log);
  std::ifstream audit(r.audit_log);
  std::string line;
  int lines = 0;
  while (std::getline(audit, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["reason"], o.override_privacy);
    EXPECT_EQ(j["model"], model);
    EXPECT_EQ(j["privacy"]["sensitive"], true);
    EXPECT_THAT(j["refusal"].get<std::string>(), HasSubstr("without differential privacy"));
    ++lines;
  }
  EXPECT_EQ(lines, 2);
  const auto file = runtime::load_safetensors(out);
  EXPECT_EQ(file.metadata.at("strand.privacy_override"), o.override_privacy);
}

TEST(Export, DpAndNonSensitiveModelsExportWithTheSameWeightsAndRecord) {
  for (const auto& record : {sensitive(true), rules::PrivacyRecord{}}) {
    data::testing::TempDir dir;
    const std::string model = save_tiny_model(dir, record);
    const std::string out = dir.file("shared.safetensors");
    std::ostringstream log;
    ExportOptions o;
    o.format = "pytorch";
    const ExportResult r = export_model(model, out, o, log);
    EXPECT_FALSE(r.overridden);
    EXPECT_TRUE(log.str().empty());
    ASSERT_EQ(r.files.size(), 2u);
    EXPECT_TRUE(std::filesystem::exists(out + ".load.py"));
    const auto original = runtime::load_safetensors(model);
    const auto exported = runtime::load_safetensors(out);
    ASSERT_EQ(exported.tensors.size(), original.tensors.size());
    for (size_t i = 0; i < original.tensors.size(); ++i) {
      EXPECT_EQ(exported.tensors[i].first, original.tensors[i].first);
      EXPECT_EQ(exported.tensors[i].second.to_vector<float>(),
                original.tensors[i].second.to_vector<float>());
    }
    const auto back = rules::read_privacy_record(exported.metadata);
    EXPECT_EQ(back.sensitive, record.sensitive);
    EXPECT_EQ(back.dp, record.dp);
    EXPECT_DOUBLE_EQ(back.epsilon, record.epsilon);
    EXPECT_EQ(exported.metadata.count("strand.data"), 0u);  // training file paths stay home
    EXPECT_EQ(exported.metadata.at("format"), "pt");
  }
}

TEST(Export, AWeakGuaranteeExportsWithANote) {
  data::testing::TempDir dir;
  auto record = sensitive(true);
  record.epsilon = 50;
  const std::string model = save_tiny_model(dir, record);
  std::ostringstream log;
  const ExportResult r = export_model(model, dir.file("o.safetensors"), {}, log);
  EXPECT_FALSE(r.overridden);
  EXPECT_THAT(log.str(), HasSubstr("epsilon 50, a weak guarantee"));
}

TEST(Export, ShuffledBatchDpIsNotAGuarantee) {
  data::testing::TempDir dir;
  auto record = sensitive(true);
  record.sampling = "shuffle";
  const std::string model = save_tiny_model(dir, record);
  std::ostringstream log;
  EXPECT_THAT([&] { export_model(model, dir.file("o.safetensors"), {}, log); },
              ::testing::ThrowsMessage<Error>(HasSubstr("not a proven guarantee")));
}

TEST(Export, BadFormatIsRejected) {
  data::testing::TempDir dir;
  const std::string model = save_tiny_model(dir, {});
  std::ostringstream log;
  ExportOptions o;
  o.format = "onnx";
  EXPECT_THAT([&] { export_model(model, dir.file("o"), o, log); },
              ::testing::ThrowsMessage<Error>(
                  HasSubstr("unknown export format 'onnx' (safetensors, pytorch)")));
}

}  // namespace
}  // namespace strand::train
