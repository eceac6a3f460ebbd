// `strand report` and `strand train --report` on a real small run, rendered by a real headless
// browser (Debian's chromium) and checked by an HTML checker (tidy).
#include "rules/report.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "interpret/arrays.h"
#include "tests/apps/run_cli.h"

namespace strand::apps::cli_test {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool have(const std::string& program) {
  return run_shell("command -v " + program + " >/dev/null 2>&1").status == 0;
}

class Report : public ::testing::Test {
 protected:
  // One small real run (simulated data, a few epochs, two permutations) shared by the tests and
  // by the test processes ctest starts, one per test: the first builds it under a lock, the
  // others reuse it (keyed by the strand binary, so a rebuilt strand trains afresh).
  static void SetUpTestSuite() {
    const auto stamp = fs::last_write_time(STRAND_CLI_PATH).time_since_epoch().count();
    dir_ = fs::temp_directory_path() / ("strand_report_" + std::to_string(stamp));
    fs::create_directories(dir_);
    const int lock = ::open((dir_ / ".lock").c_str(), O_CREAT | O_RDWR, 0644);
    ASSERT_GE(lock, 0);
    ::flock(lock, LOCK_EX);
    if (!fs::exists(dir_ / "run" / "report.html")) {
      fs::remove_all(dir_ / "run");
      const CliResult sim = run_strand("simulate --out data --sequences 800 --length 100", dir_);
      EXPECT_EQ(sim.status, 0) << sim.output;
      const CliResult train = run_strand(
          "train --fasta data/sequences.fa --labels data/labels.tsv --epochs 3 --permutations 2 "
          "--bootstrap 50 --no-progress --report --out run",
          dir_);
      EXPECT_EQ(train.status, 0) << train.output;
      EXPECT_NE(train.output.find("report.html"), std::string::npos) << train.output;
    }
    ::flock(lock, LOCK_UN);
    ::close(lock);
  }
  static fs::path dir_;
};
fs::path Report::dir_;

TEST_F(Report, HasTheTenSectionsWithVerdictsAndCommands) {
  const std::string html = read_file(dir_ / "run" / "report.html");
  for (int rule = 1; rule <= 10; ++rule) {
    const std::regex section("<section id=\"rule-" + std::to_string(rule) +
                             "\" data-verdict=\"(pass|warn|fail|not run)\">");
    EXPECT_TRUE(std::regex_search(html, section)) << "rule " << rule;
  }
  // The train command as typed, and nothing fetched from elsewhere.
  EXPECT_NE(html.find("--permutations 2"), std::string::npos);
  // Rule 9's verdict on calibration, judged on validation alone.
  EXPECT_TRUE(std::regex_search(
      html, std::regex("takes the log loss from [0-9.]+ to [0-9.]+: (not )?recommended")));
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos) << "the page needs no script";
}

TEST_F(Report, ChromiumRendersEveryPlotAndTheNumbersOfMetricsJson) {
  if (!have("chromium")) GTEST_SKIP() << "chromium not found (scripts/setup.sh installs it)";
  const fs::path page = dir_ / "run" / "report.html";
  const std::string flags =
      "--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars "
      "--user-data-dir=" +
      (dir_ / "chromium").string();
  const CliResult dom =
      run_shell("chromium " + flags + " --enable-logging=stderr --v=0 " + "--dump-dom 'file://" +
                page.string() + "' 2>" + (dir_ / "console.log").string());
  ASSERT_EQ(dom.status, 0) << dom.output;
  const std::string rendered = dom.output;
  for (int rule = 1; rule <= 10; ++rule)
    EXPECT_NE(rendered.find("id=\"rule-" + std::to_string(rule) + "\""), std::string::npos);
  // Every figure holds a drawn SVG with axis text: loss, metric, lr, permutation histogram, ROC,
  // PR and reliability plots for this run.
  size_t figures = 0, svgs = 0;
  for (size_t at = 0; (at = rendered.find("<figure", at)) != std::string::npos; ++at) ++figures;
  for (size_t at = 0; (at = rendered.find("<svg", at)) != std::string::npos; ++at) ++svgs;
  EXPECT_GE(figures, 7u);
  EXPECT_EQ(svgs, figures);
  EXPECT_NE(rendered.find("false positive rate"), std::string::npos);
  EXPECT_NE(rendered.find("shuffled-label runs"), std::string::npos);
  // The numbers shown are metrics.json's.
  const auto metrics = nlohmann::json::parse(read_file(dir_ / "run" / "metrics.json"));
  for (const auto& [task, panel] : metrics["test"]["tasks"].items()) {
    for (const char* m : {"auroc", "auprc"}) {
      const std::string cell = "data-metric=\"test.tasks." + task + "." + m + "\">" +
                               rules::format_metric(panel, m) + "</td>";
      EXPECT_NE(rendered.find(cell), std::string::npos) << cell;
    }
  }
  const std::string console = read_file(dir_ / "console.log");
  EXPECT_EQ(console.find("Uncaught"), std::string::npos) << console;
  // The screenshot is kept as the test's artifact (and is the README's picture).
  const fs::path shot = fs::current_path() / "report_screenshot.png";
  const CliResult png =
      run_shell("chromium " + flags + " --window-size=1200,2400 --screenshot=" + shot.string() +
                " 'file://" + page.string() + "' 2>&1");
  ASSERT_EQ(png.status, 0) << png.output;
  EXPECT_GT(fs::file_size(shot), 20000u);
}

TEST_F(Report, TidyFindsNoErrors) {
  if (!have("tidy")) GTEST_SKIP() << "tidy not found (scripts/setup.sh installs it)";
  // tidy exits 0 when clean, 1 with warnings only, 2 with errors.
  const CliResult tidy =
      run_shell("tidy -q -e '" + (dir_ / "run" / "report.html").string() + "' 2>&1");
  EXPECT_LE(tidy.status, 1) << tidy.output;
}

TEST_F(Report, MissingPartsSayNotRunWithTheCommand) {
  const fs::path run = dir_ / "partial";
  fs::remove_all(run);
  fs::copy(dir_ / "run", run, fs::copy_options::recursive);
  fs::remove(run / "scores.tsv");
  auto metrics = nlohmann::json::parse(read_file(run / "metrics.json"));
  metrics.erase("baseline");
  metrics.erase("permutation");
  metrics.erase("overfitting");
  std::ofstream(run / "metrics.json") << metrics.dump();
  const CliResult r = run_strand("report partial -o partial.html", dir_);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string html = read_file(dir_ / "partial.html");
  for (int rule : {2, 6, 7, 8}) {
    EXPECT_NE(
        html.find("<section id=\"rule-" + std::to_string(rule) + "\" data-verdict=\"not run\">"),
        std::string::npos)
        << "rule " << rule;
  }
  EXPECT_NE(html.find("strand baseline --fasta data/sequences.fa"), std::string::npos);
  EXPECT_NE(html.find("strand tune"), std::string::npos);
  EXPECT_NE(html.find("no scores.tsv"), std::string::npos);
}

TEST_F(Report, BadRunDirectoriesGiveOneLineErrors) {
  fs::create_directories(dir_ / "empty");
  CliResult r = run_strand("report empty", dir_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("is not a strand run directory"), std::string::npos) << r.output;

  const fs::path other = dir_ / "other_version";
  fs::remove_all(other);
  fs::copy(dir_ / "run", other, fs::copy_options::recursive);
  auto metrics = nlohmann::json::parse(read_file(other / "metrics.json"));
  metrics["strand"] = {{"version", "9.4.1"}, {"commit", "abc123"}};
  std::ofstream(other / "metrics.json") << metrics.dump();
  r = run_strand("report other_version", dir_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("written by strand 9.4.1 (commit abc123)"), std::string::npos)
      << r.output;

  const fs::path truncated = dir_ / "truncated";
  fs::remove_all(truncated);
  fs::copy(dir_ / "run", truncated, fs::copy_options::recursive);
  const std::string text = read_file(truncated / "metrics.json");
  std::ofstream(truncated / "metrics.json") << text.substr(0, text.size() / 2);
  r = run_strand("report truncated", dir_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("metrics.json"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

// `strand check all`: the checks before training and the data sections of the page; training into
// the same directory keeps them.
TEST_F(Report, CheckAllWritesTheDataSectionsBeforeTraining) {
  fs::remove_all(dir_ / "checks");
  const CliResult r =
      run_strand("check all --fasta data/sequences.fa --labels data/labels.tsv --out checks", dir_);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Rule 5: the task looks"), std::string::npos) << r.output;
  const auto checks = nlohmann::json::parse(read_file(dir_ / "checks" / "checks.json"));
  EXPECT_TRUE(checks["data_checks"]["leakage"].is_object());
  EXPECT_TRUE(checks["inspection"]["tasks"].is_object());
  const std::string html = read_file(dir_ / "checks" / "report.html");
  for (int rule : {1, 4, 5})
    EXPECT_EQ(
        html.find("<section id=\"rule-" + std::to_string(rule) + "\" data-verdict=\"not run\">"),
        std::string::npos)
        << "rule " << rule << " should have run";
  for (int rule : {2, 3, 9})
    EXPECT_NE(
        html.find("<section id=\"rule-" + std::to_string(rule) + "\" data-verdict=\"not run\">"),
        std::string::npos)
        << "rule " << rule;
  EXPECT_NE(html.find("GC-only AUROC"), std::string::npos);
  EXPECT_NE(
      html.find("strand train --fasta data/sequences.fa --labels data/labels.tsv --out checks"),
      std::string::npos);
}

// The outputs of tune, --learning-curve and interpret, in the formats those commands write, fill
// sections 6, 7 and 8; a search that opened test twice fails Rule 6.
TEST_F(Report, TuningLearningCurveAndInterpretationFromTheirOutputs) {
  const fs::path tune = dir_ / "tune";
  fs::create_directories(tune);
  nlohmann::json trials = nlohmann::json::array();
  for (int i = 0; i < 3; ++i)
    trials.push_back({{"id", i},
                      {"rank", i + 1},
                      {"rung", i == 0 ? 1 : 0},
                      {"epochs", i == 0 ? 3 : 1},
                      {"valid", 0.9 - 0.1 * i},
                      {"monitor", "auroc"},
                      {"model", "cnn"},
                      {"config", {{"model", "cnn"}, {"lr", 0.001 * (i + 1)}, {"batch_size", 64}}}});
  std::ofstream(tune / "tune.json")
      << nlohmann::json({{"trials", trials},
                         {"chosen", trials[0]},
                         {"selection", "validation only"},
                         {"sentence", "chose trial 0 at validation auroc 0.9000"}})
             .dump();
  std::ofstream(tune / "tune_log.jsonl")
      << R"({"type":"test_lock","reason":"sealed for the whole search"})"
      << "\n"
      << R"({"type":"test_unsealed","reason":"opened once for the chosen trial 0"})"
      << "\n";
  std::ofstream(dir_ / "curve.json")
      << R"({"monitor":"auroc","points":[{"fraction":0.5,"train_rows":100,"valid":0.8},)"
      << R"({"fraction":1,"train_rows":200,"valid":0.85}],"verdict":"rising",)"
      << R"("sentence":"still rising; more data of this kind would likely help"})";
  const fs::path interp = dir_ / "interp";
  fs::create_directories(interp / "logos");
  std::ofstream(interp / "summary.tsv")
      << "name\ttask\toutput\treference_output\tattribution_sum\tdelta\n"
      << "s1\tctcf\t2\t0.5\t1.5\t0.0000002\n";
  interpret::save_npy((interp / "attributions.npy").string(),
                      {{1, 1, 4, 5}, std::vector<float>(20, 0.25f)});
  std::ofstream(interp / "motifs.tsv")
      << "motif\twidth\tsites\tconsensus\tbest_match\tbest_match_name\tstrand\tp_value\t"
         "q_value\tlogo\n"
      << "motif_1\t3\t40\tACG\tMA0139.2\tCTCF\t+\t1e-9\t2e-7\tlogos/motif_1.svg\n";
  std::ofstream(interp / "logos" / "motif_1.svg")
      << R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 30 10"><text>ACG</text></svg>)";
  CliResult r = run_strand(
      "report run -o full.html --tune tune --learning-curve curve.json --interpret interp", dir_);
  ASSERT_EQ(r.status, 0) << r.output;
  std::string html = read_file(dir_ / "full.html");
  for (int rule : {6, 8})
    EXPECT_NE(html.find("<section id=\"rule-" + std::to_string(rule) + "\" data-verdict=\"pass\">"),
              std::string::npos)
        << "rule " << rule;
  EXPECT_NE(html.find("Trials against their budget"), std::string::npos);
  EXPECT_NE(html.find("Learning curve"), std::string::npos);
  EXPECT_NE(html.find("MA0139.2 CTCF"), std::string::npos);
  EXPECT_NE(html.find("<text>ACG</text>"), std::string::npos) << "the logo is inlined";
  EXPECT_NE(html.find("Attribution tracks"), std::string::npos);

  std::ofstream(tune / "tune_log.jsonl", std::ios::app)
      << R"({"type":"test_unsealed","reason":"opened again"})"
      << "\n";
  r = run_strand("report run -o twice.html --tune tune", dir_);
  ASSERT_EQ(r.status, 0) << r.output;
  html = read_file(dir_ / "twice.html");
  EXPECT_NE(html.find("<section id=\"rule-6\" data-verdict=\"fail\">"), std::string::npos);
  EXPECT_NE(html.find("opened 2 times"), std::string::npos);
}

}  // namespace
}  // namespace strand::apps::cli_test
