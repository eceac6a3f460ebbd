// The command lines of issue 18's model selection: strand train --cv and --learning-curve,
// strand predict --ensemble of the fold models, and strand tune (a tiny search, a bad space file).
// Real processes on a small simulated task, tiny models, so each run takes seconds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/apps/run_cli.h"

namespace {

using ::testing::HasSubstr;
namespace cli = ::strand::apps::cli_test;

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

const char* kData = " --fasta d/sequences.fa --labels d/labels.tsv";

std::filesystem::path simulated(const std::string& tag) {
  const auto dir = cli::fresh_dir(tag);
  const auto sim = cli::run_strand("simulate --out d --sequences 300 --length 60", dir.string());
  EXPECT_EQ(sim.status, 0) << sim.output;
  return dir;
}

TEST(CrossValidationCli, FoldsThenTheirEnsemble) {
  const auto dir = simulated("cv_cli");
  const auto run =
      cli::run_strand(std::string("train") + kData +
                          " --model cnn-small --epochs 2 --bootstrap 20 --cv 3 --no-progress "
                          "--out cv",
                      dir.string());
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("3-fold cross-validation"));
  EXPECT_THAT(run.output, HasSubstr("the test split was not read"));
  // Each fold's held-out rows are named as such, not as the run's test split.
  EXPECT_THAT(run.output, HasSubstr("the held-out rows of cross-validation fold 1 of 3"));
  EXPECT_THAT(run.output, ::testing::Not(HasSubstr("test split of")));
  const auto cv = read_json(dir / "cv" / "cv.json");
  EXPECT_EQ(cv["per_fold"].size(), 3u);
  EXPECT_TRUE(cv["headline"].contains("metric"));

  EXPECT_THAT(run.output, HasSubstr("pooled out-of-fold ("));
  EXPECT_THAT(run.output, HasSubstr("tuning: none"));
  EXPECT_THAT(run.output, ::testing::ContainsRegex(
                              "calibration: recommended \\(on each fold's inner validation "
                              "rows\\) in [0-3] of 3 folds"));
  EXPECT_TRUE(cv["pooled"]["macro"]["ci"]["auroc"].is_array()) << cv["pooled"].dump();

  // Without --model the default tuning runs inside each fold, on that fold's training part.
  const auto tuned = cli::run_strand(
      std::string("train") + kData + " --epochs 10 --bootstrap 20 --cv 2 --no-progress --out cvt",
      dir.string());
  ASSERT_EQ(tuned.status, 0) << tuned.output;
  EXPECT_THAT(tuned.output, HasSubstr("the default tuning runs inside each fold"));
  EXPECT_THAT(tuned.output, HasSubstr("tuning: nested"));
  EXPECT_THAT(tuned.output, HasSubstr("fold 2 chose lr"));
  const auto cvt = read_json(dir / "cvt" / "cv.json");
  for (const auto& f : cvt["per_fold"]) {
    EXPECT_TRUE(f["tuning"]["ran"].get<bool>()) << f.dump();
    EXPECT_THAT(f["tuning"]["search"].get<std::string>(), HasSubstr("fold-"));
  }

  const auto too_many =
      cli::run_strand(std::string("train") + kData + " --cv 400 --out cv2", dir.string());
  EXPECT_NE(too_many.status, 0);
  EXPECT_THAT(too_many.output, HasSubstr("--cv 400 exceeds the smallest class count"));

  const auto predict = cli::run_strand(
      "predict --ensemble cv/fold-1/model.safetensors,cv/fold-2/model.safetensors,"
      "cv/fold-3/model.safetensors --fasta d/sequences.fa --out p.tsv",
      dir.string());
  ASSERT_EQ(predict.status, 0) << predict.output;
  std::ifstream in(dir / "p.tsv");
  std::string header;
  std::getline(in, header);
  EXPECT_THAT(header, HasSubstr("ctcf_sd"));
  // Each fold model carries its own calibration (fitted on its inner validation rows).
  const auto calibrated = cli::run_strand(
      "predict --ensemble cv/fold-1/model.safetensors,cv/fold-2/model.safetensors,"
      "cv/fold-3/model.safetensors --fasta d/sequences.fa --calibrated --json",
      dir.string());
  ASSERT_EQ(calibrated.status, 0) << calibrated.output;
  EXPECT_TRUE(
      nlohmann::json::parse(calibrated.output.substr(calibrated.output.find('{')))["calibrated"]
          .get<bool>());
  const auto neither = cli::run_strand("predict --fasta d/sequences.fa", dir.string());
  EXPECT_NE(neither.status, 0);
  EXPECT_THAT(neither.output, HasSubstr("give one of --model FILE or --ensemble"));
  std::filesystem::remove_all(dir);
}

TEST(LearningCurveCli, WritesTheCurve) {
  const auto dir = simulated("curve_cli");
  const auto run =
      cli::run_strand(std::string("train") + kData +
                          " --model cnn-small --epochs 2 --learning-curve --no-progress "
                          "--curve-fractions 0.5,1 --out lc",
                      dir.string());
  ASSERT_EQ(run.status, 0) << run.output;
  const auto curve = read_json(dir / "lc" / "learning_curve.json");
  EXPECT_EQ(curve["points"].size(), 2u);
  EXPECT_THAT(run.output, HasSubstr("from 50% to 100% of the training rows"));
  std::filesystem::remove_all(dir);
}

TEST(TuneCli, TinySearchAndABadSpaceFile) {
  const auto dir = simulated("tune_cli");
  std::ofstream(dir / "space.yaml") << "model: [cnn-small, cnn-variant]\nfilters: [8]\n"
                                       "lr: {log_uniform: [0.001, 0.01]}\n";
  const auto run = cli::run_strand(std::string("tune") + kData +
                                       " --space space.yaml --trials 3 --max-epochs 2 "
                                       "--bootstrap 20 --out t",
                                   dir.string());
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("chosen trial"));
  EXPECT_THAT(run.output, HasSubstr("unsealed"));
  const auto result = read_json(dir / "t" / "tune.json");
  EXPECT_EQ(result["trials"].size(), 3u);
  EXPECT_TRUE(result["test"].is_object());
  EXPECT_TRUE(std::filesystem::exists(dir / "t" / "tune_log.jsonl"));

  std::ofstream(dir / "bad.yaml") << "model: [cnn]\nbatch_sise: [32]\n";
  const auto bad =
      cli::run_strand(std::string("tune") + kData + " --space bad.yaml --out t2", dir.string());
  EXPECT_NE(bad.status, 0);
  EXPECT_THAT(bad.output,
              HasSubstr("search space 'bad.yaml' line 2: unknown key 'batch_sise' (did you "
                        "mean 'batch_size'?)"));
  std::filesystem::remove_all(dir);
}

TEST(TuneCli, NestedCrossValidationAndBaselineFolds) {
  const auto dir = simulated("tune_cv_cli");
  std::ofstream(dir / "space.yaml") << "model: [cnn-small]\nlr: [0.001, 0.01]\n";
  const auto run = cli::run_strand(std::string("tune") + kData +
                                       " --space space.yaml --trials 2 --max-epochs 1 --cv 2 "
                                       "--bootstrap 20 --out t",
                                   dir.string());
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("nested 2-fold cross-validation"));
  EXPECT_THAT(run.output, ::testing::Not(HasSubstr("test split of")));
  const auto cv = read_json(dir / "t" / "tune_cv.json");
  EXPECT_EQ(cv["per_fold"].size(), 2u);
  EXPECT_TRUE(cv["per_fold"][0]["chosen"]["config"].contains("lr"));

  const auto base = cli::run_strand(
      std::string("baseline") + kData + " --baselines gc_only,prevalence --cv 3 --out b",
      dir.string());
  ASSERT_EQ(base.status, 0) << base.output;
  EXPECT_THAT(base.output, HasSubstr("3-fold cross-validation of the baselines"));
  const auto b = read_json(dir / "b" / "cv.json");
  EXPECT_EQ(b["baselines"]["gc_only"]["auroc"]["values"].size(), 3u);
  EXPECT_THAT(base.output, HasSubstr("pooled out-of-fold [95% CI]"));
  EXPECT_TRUE(b["pooled"]["gc_only"]["macro"]["ci"]["auroc"].is_array());
  EXPECT_EQ(b["pooled"]["gc_only"]["n"], b["rows"]);
  const auto too_many = cli::run_strand(
      std::string("baseline") + kData + " --baselines gc_only --cv 400 --out b2", dir.string());
  EXPECT_NE(too_many.status, 0);
  EXPECT_THAT(too_many.output, HasSubstr("--cv 400 exceeds the smallest class count"));
  std::filesystem::remove_all(dir);
}

}  // namespace
