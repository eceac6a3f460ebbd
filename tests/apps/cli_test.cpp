// The `strand` program end to end, as a user runs it: real processes, real files, exit codes and
// one-line reasons on bad input, JSON outputs that parse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "tests/apps/run_cli.h"

namespace {

using ::testing::HasSubstr;

using Result = ::strand::apps::cli_test::CliResult;

// Runs `strand args` in dir, capturing its output.
Result strand(const std::string& args, const std::string& dir = ".") {
  return ::strand::apps::cli_test::run_strand(args, dir);
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("strand_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir() const { return dir_.string(); }
  std::filesystem::path dir_;
};

TEST_F(Cli, BadInputExitsNonZeroWithOneLineReason) {
  const Result unknown = strand("frobnicate", dir());
  EXPECT_NE(unknown.status, 0);
  const Result flag = strand("train --epochs-typo 3", dir());
  EXPECT_NE(flag.status, 0);
  EXPECT_THAT(flag.output, HasSubstr("--epochs-typo"));
  const Result missing = strand("check data --fasta nowhere.fa --labels nowhere.tsv", dir());
  EXPECT_NE(missing.status, 0);
  EXPECT_THAT(missing.output, HasSubstr("nowhere"));
  EXPECT_EQ(std::count(missing.output.begin(), missing.output.end(), '\n'), 1) << missing.output;
}

TEST_F(Cli, InfoReportsTheBuildAsJson) {
  const Result info = strand("info --json", dir());
  ASSERT_EQ(info.status, 0) << info.output;
  const auto j = nlohmann::json::parse(info.output);
  EXPECT_TRUE(j.contains("version") && j.contains("commit") && j.contains("devices"));
  // The commit the binary was built from (recorded at build time, not when CMake configured).
  if (FILE* git = popen(
          ("git -C " + std::string(STRAND_SOURCE_DIR) + " rev-parse --short=12 HEAD 2>/dev/null")
              .c_str(),
          "r")) {
    char head[64] = {};
    const bool read = std::fgets(head, sizeof head, git) != nullptr;
    if (pclose(git) == 0 && read) {
      EXPECT_THAT(j["commit"].get<std::string>(),
                  ::testing::StartsWith(std::string(head, std::strlen(head) - 1)));
    }
  }
  // The CPU kernels in use: the ISA found and oneDNN's implementation names, never a reference.
  ASSERT_TRUE(j.contains("cpu")) << info.output;
  EXPECT_FALSE(j["cpu"]["isa"].get<std::string>().empty());
  EXPECT_THAT(j["cpu"]["conv_fp32"].get<std::string>(), ::testing::StartsWith("oneDNN "));
  EXPECT_THAT(j["cpu"]["conv_fp32"].get<std::string>(), ::testing::Not(HasSubstr("ref")));
  EXPECT_THAT(j["cpu"]["gemm_fp32"].get<std::string>(), HasSubstr("oneDNN jit sgemm"));
}

// Rule 5: the suite, and check data naming an aligned task.
TEST_F(Cli, SimulateSuiteAndCheckDataSaysAligned) {
  const Result suite = strand("simulate --suite --out suite --json", dir());
  ASSERT_EQ(suite.status, 0) << suite.output;
  const auto index = nlohmann::json::parse(suite.output.substr(suite.output.find('{')));
  ASSERT_EQ(index["suite"].size(), 7u);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "suite" / "suite.json"));
  const Result check = strand(
      "check data --fasta suite/orientation/sequences.fa --labels suite/orientation/labels.tsv",
      dir());
  ASSERT_TRUE(check.status == 0 || check.status == 1) << check.output;
  EXPECT_THAT(check.output, HasSubstr("position (rule 5): aligned"));
  EXPECT_THAT(check.output, HasSubstr("recommended head: a position-keeping head"));
}

// simulate -> check data -> train (tiny, with the baseline comparison) -> eval -> predict.
TEST_F(Cli, SimulateCheckTrainEvalPredict) {
  ASSERT_EQ(strand("simulate --out sim --sequences 600 --length 120 --seed 5", dir()).status, 0);
  ASSERT_TRUE(std::filesystem::exists(dir_ / "sim" / "ground_truth.json"));

  const Result check =
      strand("check data --fasta sim/sequences.fa --labels sim/labels.tsv --json", dir());
  ASSERT_TRUE(check.status == 0 || check.status == 1) << check.output;  // ok or warn
  EXPECT_NO_THROW(nlohmann::json::parse(check.output.substr(check.output.find('{'))));

  const Result train = strand(
      "train --fasta sim/sequences.fa --labels sim/labels.tsv --epochs 2 --batch-size 32 "
      "--bootstrap 50 --no-progress --out run",
      dir());
  ASSERT_EQ(train.status, 0) << train.output;
  EXPECT_THAT(train.output, HasSubstr("strongest baseline on valid: "));
  for (const char* f :
       {"model.safetensors", "checkpoint.safetensors", "log.jsonl", "metrics.json", "scores.tsv"}) {
    EXPECT_TRUE(std::filesystem::exists(dir_ / "run" / f)) << f;
  }
  std::ifstream metrics_file(dir_ / "run" / "metrics.json");
  const auto metrics = nlohmann::json::parse(metrics_file);
  // The strongest baseline is the best of the candidates on validation; fixed-length input adds
  // the position-specific ones.
  const auto& candidates = metrics["baseline"]["candidates"];
  const std::string strongest = metrics["baseline"]["name"];
  for (const char* name : {"kmer_logistic", "onehot_logistic", "dinuc_trees"})
    EXPECT_TRUE(candidates.contains(name)) << name;
  for (const auto& [name, v] : candidates.items())
    if (v.is_number()) {
      EXPECT_LE(v.get<double>(), candidates[strongest].get<double>()) << name;
    }
  EXPECT_TRUE(std::filesystem::exists(dir_ / "run" / "baselines" / strongest / "metrics.json"));
  EXPECT_TRUE(metrics["valid"].contains("tasks"));
  EXPECT_TRUE(metrics["test"].contains("tasks"));
  EXPECT_TRUE(metrics["baseline"]["summary"].contains("sentence"));

  const Result eval = strand(
      "eval --model run/model.safetensors --fasta sim/sequences.fa --labels sim/labels.tsv "
      "--split test --bootstrap 20 --json",
      dir());
  ASSERT_EQ(eval.status, 0) << eval.output;
  EXPECT_NO_THROW(nlohmann::json::parse(eval.output.substr(eval.output.find('{'))));

  const Result predict = strand(
      "predict --model run/model.safetensors --fasta sim/sequences.fa --out scores.tsv", dir());
  ASSERT_EQ(predict.status, 0) << predict.output;
  std::ifstream scores(dir_ / "scores.tsv");
  std::string header;
  std::getline(scores, header);
  EXPECT_THAT(header, HasSubstr("name"));

  // Rule 9: the calibration fitted on valid is stored with the weights; --calibrated applies it.
  const auto& cal = metrics["calibration"];
  EXPECT_TRUE(cal["stored"].get<bool>());
  EXPECT_THAT(train.output,
              HasSubstr("on valid alone (each fifth calibrated by a fit on the rest)"));
  const Result raw =
      strand("predict --model run/model.safetensors --fasta sim/sequences.fa --json", dir());
  const Result calibrated = strand(
      "predict --model run/model.safetensors --fasta sim/sequences.fa --json --calibrated", dir());
  ASSERT_EQ(calibrated.status, 0) << calibrated.output;
  const auto raw_rows = nlohmann::json::parse(raw.output)["predictions"];
  // After the note, if any, that the calibration was not recommended.
  const auto cal_rows =
      nlohmann::json::parse(calibrated.output.substr(calibrated.output.find('{')))["predictions"];
  EXPECT_EQ(calibrated.output.find("note: the calibration in") != std::string::npos,
            !cal["recommended"].get<bool>());
  ASSERT_EQ(raw_rows.size(), cal_rows.size());
  const auto tasks = metrics["model"]["tasks"];
  for (size_t i = 0; i < raw_rows.size(); i += 97)
    for (size_t t = 0; t < tasks.size(); ++t) {
      const double p = raw_rows[i][tasks[t].get<std::string>()].get<double>();
      const double z =
          cal["a"][t].get<double>() * std::log(p / (1 - p)) + cal["b"][t].get<double>();
      EXPECT_NEAR(cal_rows[i][tasks[t].get<std::string>()].get<double>(), 1 / (1 + std::exp(-z)),
                  1e-9);
    }
  // eval --calibrated on test reproduces the calibrated test ECE train reported.
  const Result eval_calibrated = strand(
      "eval --model run/model.safetensors --fasta sim/sequences.fa --labels sim/labels.tsv "
      "--split test --bootstrap 10 --json --calibrated",
      dir());
  ASSERT_EQ(eval_calibrated.status, 0) << eval_calibrated.output;
  const auto panel = nlohmann::json::parse(eval_calibrated.output);
  for (const auto& task : tasks)
    EXPECT_NEAR(panel["tasks"][task.get<std::string>()]["ece"].get<double>(),
                cal["test"]["after"]["tasks"][task.get<std::string>()]["ece"].get<double>(), 1e-12);

  const Result corrupt =
      strand("eval --model sim/labels.tsv --fasta sim/sequences.fa --labels sim/labels.tsv", dir());
  EXPECT_NE(corrupt.status, 0);
}

// A line count of CLI output, to prove a reason is one line.
size_t lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

TEST_F(Cli, UnknownFlagsAndCommandsNameTheClosestValidOne) {
  struct Case {
    const char* args;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"train --epoch 3", "strand train: unknown option '--epoch' (did you mean '--epochs'?)"},
           {"train --batch_size=8", "unknown option '--batch_size' (did you mean '--batch-size'?)"},
           {"check splits --fasat x.fa",
            "strand check splits: unknown option '--fasat' (did you "
            "mean '--fasta'?)"},
           {"trian", "strand: unknown command 'trian' (did you mean 'train'?)"},
           {"check splitz", "strand check: unknown command 'splitz' (did you mean 'splits'?)"},
           {"predict --model m.safetensors --rc-avg", "did you mean '--rc-average'?"},
           {"eval", "strand eval: --model is required (see strand eval --help)"}}) {
    const Result r = strand(c.args, dir());
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << c.args;
    EXPECT_EQ(lines(r.output), 1u) << c.args << ": " << r.output;
  }
  // A config file key with a typo: one line naming the file and the closest key.
  std::ofstream(dir_ / "cfg.json") << R"({"lr": 0.01, "epoch": 1})";
  const Result config = strand("train --config cfg.json --no-progress --json --out run", dir());
  EXPECT_NE(config.status, 0);
  EXPECT_THAT(config.output, HasSubstr("strand: config file 'cfg.json': unknown training config "
                                       "key 'epoch' (did you mean 'epochs'?)"));
  EXPECT_EQ(lines(config.output), 1u) << config.output;
  std::ofstream(dir_ / "broken.json") << "{\"epochs\": ";
  EXPECT_THAT(strand("train --config broken.json --json --out run", dir()).output,
              HasSubstr("config file 'broken.json': not valid JSON"));
  // A model name or YAML layer with a typo is a one-line reason naming the closest one.
  const Result model = strand("train --model deepsee --no-progress --json --out run", dir());
  EXPECT_NE(model.status, 0);
  EXPECT_THAT(model.output, HasSubstr("(did you mean 'deepsea'?)"));
  std::ofstream(dir_ / "bad.yaml") << "layers:\n  - conv1d: {out: 8, kernel: 5}\n  - rleu\n";
  const Result yaml = strand("train --model bad.yaml --no-progress --json --out run2", dir());
  EXPECT_NE(yaml.status, 0);
  EXPECT_THAT(yaml.output,
              HasSubstr("strand: bad.yaml line 3: unknown layer 'rleu' (did you mean 'relu'?)"));
  EXPECT_EQ(lines(yaml.output), 1u) << yaml.output;
}

// One set of data flags for every command: the older spellings of check and baseline
// (--reference for --genome, --kind for --task) still work, hidden from --help, with a one-line
// deprecation note on stderr and the same result as the current spelling.
TEST_F(Cli, OldDataFlagSpellingsWorkWithADeprecationNote) {
  ASSERT_EQ(strand("simulate --out sim --sequences 200 --length 60 --seed 4", dir()).status, 0);
  const std::string data = "--fasta sim/sequences.fa --labels sim/labels.tsv ";
  const auto out = [&](const std::string& name) { return (dir_ / name).string(); };
  const Result now = ::strand::apps::cli_test::run_strand(
      "check data " + data + "--task multi-label --no-alignment --json", dir(), out("now.json"));
  ASSERT_EQ(now.status, 0) << now.output;
  EXPECT_THAT(now.output, ::testing::Not(HasSubstr("deprecated")));
  const Result old = ::strand::apps::cli_test::run_strand(
      "check data " + data + "--kind multi-label --no-alignment --json", dir(), out("old.json"));
  ASSERT_EQ(old.status, 0) << old.output;
  EXPECT_EQ(old.output, "strand: --kind is deprecated; use --task\n");
  std::ifstream a(out("now.json")), b(out("old.json"));
  EXPECT_EQ(nlohmann::json::parse(a), nlohmann::json::parse(b));
  // --reference on BED windows, in baseline and check; both spellings at once are refused.
  std::ofstream genome(dir_ / "genome.fa");
  std::ofstream bed(dir_ / "regions.bed");
  std::mt19937 rng(5);
  for (const char* chrom : {"chr1", "chr2", "chr3"}) {
    std::string seq;
    for (int i = 0; i < 2000; ++i) seq += "ACGT"[rng() % 4];
    genome << ">" << chrom << "\n" << seq << "\n";
    for (int r = 0; r < 30; ++r)
      bed << chrom << "\t" << r * 60 + 10 << "\t" << r * 60 + 50 << "\t" << (r % 2) << "\n";
  }
  genome.close();
  bed.close();
  const std::string split = " --window 40 --split-method chromosome --test-chroms chr3 ";
  const Result check =
      strand("check splits --bed regions.bed --reference genome.fa" + split, dir());
  EXPECT_THAT(check.output, HasSubstr("strand: --reference is deprecated; use --genome\n"));
  EXPECT_THAT(check.output, HasSubstr("checked 90 sequences and 90 intervals"));
  const Result baseline = strand("baseline --bed regions.bed --reference genome.fa" + split +
                                     "--baselines gc_only --bootstrap 0 --out b --json",
                                 dir());
  ASSERT_EQ(baseline.status, 0) << baseline.output;
  EXPECT_THAT(baseline.output, HasSubstr("--reference is deprecated"));
  const Result both = strand(
      "check splits --bed regions.bed --genome genome.fa --reference "
      "genome.fa" +
          split,
      dir());
  EXPECT_NE(both.status, 0);
  EXPECT_THAT(both.output,
              HasSubstr("strand: --reference is the old spelling of --genome; give one of them"));
  const Result help = strand("check data --help", dir());
  EXPECT_THAT(help.output, HasSubstr("--genome"));
  EXPECT_THAT(help.output, ::testing::Not(HasSubstr("--reference")));
  EXPECT_THAT(help.output, ::testing::Not(HasSubstr("--kind")));
  // metrics takes --task (labels without sequences) with the same alias.
  const Result metrics =
      strand("metrics --labels sim/labels.tsv --scores sim/labels.tsv --kind multi-label", dir());
  EXPECT_THAT(metrics.output, HasSubstr("strand: --kind is deprecated; use --task"));
}

// A reference genome and BED regions with a 0/1 target (GC-rich windows are positives), written
// as real files: a YAML model trained on them, then eval and predict on BED with --rc-average,
// from the checkpoint alone (the YAML file removed).
TEST_F(Cli, YamlModelOnBedTrainEvalPredictWithRcAverage) {
  std::mt19937 rng(11);
  const std::string at = "AT", gc = "GC";
  std::ofstream genome(dir_ / "genome.fa");
  std::ofstream bed(dir_ / "regions.bed");
  bed << "#chrom\tstart\tend\tgc_rich\n";
  for (int chrom = 1; chrom <= 2; ++chrom) {
    std::string seq;
    for (int region = 0; region < 150; ++region) {
      const bool positive = rng() % 2;
      for (int i = 0; i < 80; ++i)
        seq += rng() % 10 < 7 ? (positive ? gc : at)[rng() % 2] : "ACGT"[rng() % 4];
      bed << "chr" << chrom << "\t" << region * 80 + 20 << "\t" << region * 80 + 60 << "\t"
          << positive << "\n";
    }
    genome << ">chr" << chrom << "\n" << seq << "\n";
  }
  genome.close();
  bed.close();
  std::ofstream(dir_ / "small.yaml") << "name: small\nlayers:\n"
                                        "  - conv1d: {out: 8, kernel: 5, padding: same}\n"
                                        "  - relu\n  - maxpool1d: {kernel: 4}\n  - flatten\n"
                                        "  - linear: {out: outputs}\n";
  const Result train = strand(
      "train --bed regions.bed --genome genome.fa --window 64 --model small.yaml --epochs 3 "
      "--lr 0.01 --rc-average --no-baseline --no-progress --bootstrap 10 --out run",
      dir());
  ASSERT_EQ(train.status, 0) << train.output;
  std::filesystem::remove(dir_ / "small.yaml");

  const Result eval = strand(
      "eval --model run/model.safetensors --bed regions.bed --genome genome.fa --rc-average "
      "--bootstrap 10 --json",
      dir());
  ASSERT_EQ(eval.status, 0) << eval.output;
  const auto panel = nlohmann::json::parse(eval.output.substr(eval.output.find('{')));
  EXPECT_GT(panel["tasks"]["gc_rich"]["auroc"].get<double>(), 0.8) << panel.dump();

  const Result predict = strand(
      "predict --model run/model.safetensors --bed regions.bed --genome genome.fa --rc-average "
      "--json",
      dir());
  ASSERT_EQ(predict.status, 0) << predict.output;
  const auto j = nlohmann::json::parse(predict.output);
  ASSERT_EQ(j["predictions"].size(), 300u);
  EXPECT_EQ(j["predictions"][0]["name"], "chr1:20-60");
  EXPECT_EQ(j["model"]["name"], "small.yaml");
  const double p = j["predictions"][0]["gc_rich"].get<double>();
  EXPECT_GT(p, 0.0);
  EXPECT_LT(p, 1.0);
  // Without --rc-average the scores differ (the model alone is not strand symmetric).
  const Result plain = strand(
      "predict --model run/model.safetensors --bed regions.bed --genome genome.fa --json", dir());
  ASSERT_EQ(plain.status, 0) << plain.output;
  EXPECT_NE(nlohmann::json::parse(plain.output)["predictions"][0]["gc_rich"].get<double>(), p);

  const Result window = strand(
      "predict --model run/model.safetensors --bed regions.bed --genome genome.fa --window 100",
      dir());
  EXPECT_NE(window.status, 0);
  EXPECT_THAT(window.output, HasSubstr("--window 100 differs from the model's input length 64"));
  const Result no_genome = strand("predict --model run/model.safetensors --bed regions.bed", dir());
  EXPECT_THAT(no_genome.output, HasSubstr("--bed needs --genome"));
}

// DeepSEA-style multi-task labels with missing values: training (with the k-mer baseline and
// its comparison) and eval run, and each task's metrics count only its labelled sequences.
TEST_F(Cli, MissingLabelsAreSkippedInTrainingAndMetrics) {
  ASSERT_EQ(strand("simulate --out sim --sequences 500 --length 100 --seed 2", dir()).status, 0);
  std::ifstream in(dir_ / "sim" / "labels.tsv");
  std::ofstream out(dir_ / "missing.tsv");
  std::string line;
  std::getline(in, line);
  out << line << "\n";
  int row = 0, missing = 0;
  while (std::getline(in, line)) {
    // Every third sequence has no measurement for the first task.
    const size_t tab = line.find('\t'), second = line.find('\t', tab + 1);
    if (row++ % 3 == 0) {
      line = line.substr(0, tab + 1) + "NA" + line.substr(second);
      ++missing;
    }
    out << line << "\n";
  }
  out.close();
  // A config file, with --epochs on the command line winning over its epochs.
  std::ofstream(dir_ / "cfg.json") << R"({"epochs": 6, "batch_size": 16, "patience": 0})";
  const Result train = strand(
      "train --fasta sim/sequences.fa --labels missing.tsv --config cfg.json --epochs 2 "
      "--bootstrap 10 --no-progress --json --out run",
      dir());
  ASSERT_EQ(train.status, 0) << train.output;
  const auto metrics = nlohmann::json::parse(train.output.substr(train.output.find('{')));
  const auto& tasks = metrics["valid"]["tasks"];
  ASSERT_EQ(tasks.size(), 2u);
  const auto first = tasks.begin(), second = std::next(tasks.begin());
  EXPECT_LT((*first)["n"].get<double>(), (*second)["n"].get<double>());  // NA rows skipped
  EXPECT_TRUE((*first)["auroc"].is_number());
  EXPECT_TRUE(metrics["baseline"]["summary"].contains("sentence"));
  EXPECT_EQ(metrics["epochs"], 2);
  EXPECT_GT(metrics["steps"].get<int>(), 40);  // batch 16 from the file: ~25 steps per epoch

  const Result eval = strand(
      "eval --model run/model.safetensors --fasta sim/sequences.fa --labels missing.tsv "
      "--bootstrap 10 --json",
      dir());
  ASSERT_EQ(eval.status, 0) << eval.output;
  const auto panel = nlohmann::json::parse(eval.output.substr(eval.output.find('{')));
  EXPECT_EQ((*panel["tasks"].begin())["n"].get<double>(), 500.0 - missing);
}

}  // namespace
