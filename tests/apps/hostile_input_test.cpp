// The hostile-input catalogue (issue 23) run through the real `strand` program: each case exits
// non-zero with one line naming the problem and where, or succeeds with correct output; full
// output devices, concurrent runs, killed writers' debris and resume mistakes included.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>

#include "runtime/file_io.h"
#include "tests/apps/run_cli.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Result = ::strand::apps::cli_test::CliResult;
namespace fs = std::filesystem;

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::strand::apps::cli_test::fresh_dir(
        std::string("hostile_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { fs::remove_all(dir_); }
  Result strand(const std::string& args, const std::string& stdout_to = "",
                const std::string& prefix = "") const {
    return ::strand::apps::cli_test::run_strand(args, dir_.string(), stdout_to, prefix);
  }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name), std::ios::binary) << text;
  }
  // A small simulated dataset in DIR/<name> (100 bp, 400 sequences).
  void simulate(const std::string& name, int seed = 1) const {
    const Result r = strand("simulate --out " + name + " --sequences 400 --length 100 --seed " +
                            std::to_string(seed));
    ASSERT_EQ(r.status, 0) << r.output;
  }
  Result train(const std::string& args) const {
    return strand("train --epochs 1 --no-baseline --no-progress --bootstrap 10 " + args);
  }
  fs::path dir_;
};

// Exit status 1 and exactly one line besides the data warnings a run may print first (small
// splits, duplicates across splits), which contains `what`.
void expect_one_line(const Result& r, const std::string& what, int status = 1) {
  EXPECT_EQ(r.status, status) << r.output;
  ASSERT_THAT(r.output, HasSubstr(what));
  std::istringstream lines(r.output);
  int other_lines = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find(": warning: ") == std::string::npos) ++other_lines;
  }
  EXPECT_EQ(other_lines, 1) << r.output;
  EXPECT_EQ(r.output.back(), '\n') << r.output;
}

TEST_F(Hostile, ConfigFiles) {
  write("deep.json", std::string(200000, '[') + std::string(200000, ']'));
  expect_one_line(strand("train --config deep.json"),
                  "config file 'deep.json': JSON nested deeper than 64 levels (at byte 64)");
  write("typed.json", R"({"lr": "fast"})");
  expect_one_line(strand("train --config typed.json"),
                  "config file 'typed.json': training config key 'lr': type must be number, but "
                  "is string, got \"fast\"");
  write("seed.json", R"({"seed": -1})");
  expect_one_line(strand("train --config seed.json"),
                  "training config key 'seed' must be a non-negative integer, got -1");
}

TEST_F(Hostile, NegativeAndHugeNumbers) {
  expect_one_line(strand("simulate --out s --seed -1"), "--seed: must not be negative, got -1",
                  105);
  expect_one_line(strand("train --window -5"), "--window: must not be negative, got -5", 105);
  const Result huge = strand("simulate --out s --sequences 1000000000000");
  expect_one_line(huge, "simulating 1000000000000 sequences of 200 bp needs about");
  EXPECT_THAT(huge.output, HasSubstr("of memory, more than the"));
}

TEST_F(Hostile, YamlModels) {
  simulate("sim");
  const std::string data = "--fasta sim/sequences.fa --labels sim/labels.tsv --out r ";
  const std::pair<std::string, std::string> cases[] = {
      {"layers:\n  - conv1d: {out: 8, kernel: 3}\n  - batchnorm1d: {eps: -1}\n  - flatten\n"
       "  - linear: {out: outputs}\n",
       "bad.yaml line 3: batchnorm1d: 'eps' must be a positive number, got -1"},
      {"layers:\n  - conv1d: {out: 8, kernel: 3, dilation: 4611686018427387904}\n",
       "bad.yaml line 2: conv1d: 'dilation' must be at most 16777216, got 4611686018427387904"},
      {"layers:\n  - conv1d: {out: 100000000, kernel: 3}\n",
       "conv1d: 'out' must be at most 16777216, got 100000000"},
      {"layers: " + std::string(5000, '[') + std::string(5000, ']') + "\n",
       "bad.yaml line 1: nested more than 64 levels deep: not a model file"}};
  for (const auto& [yaml, message] : cases) {
    write("bad.yaml", yaml);
    expect_one_line(train(data + "--model bad.yaml"), message);
  }
}

TEST_F(Hostile, LabelsWithAStrayValueNameItAndTheLine) {
  simulate("sim");
  std::ifstream in(file("sim/labels.tsv"));
  std::string header, line;
  std::getline(in, header);
  std::vector<std::string> rows;
  while (std::getline(in, line)) rows.push_back(line);
  auto with_value = [&](const std::string& name, const std::string& value, const char* prefix) {
    std::string text = prefix + header + "\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      std::string row = rows[i];
      const size_t first = row.find('\t'), second = row.find('\t', first + 1);
      if (i == 9) row = row.substr(0, first) + "\t" + value + row.substr(second);
      text += row + "\n";
    }
    write(name, text);
    return "--fasta sim/sequences.fa --labels " + name + " --out r ";
  };
  expect_one_line(train(with_value("two.tsv", "2", "")),
                  "'two.tsv' line 11, column 'ctcf': label '2' is neither 0 nor 1, unlike 799 of "
                  "the 800 labels, so the label kind is unclear; fix it, or give the kind with "
                  "--task");
  expect_one_line(train(with_value("yes.tsv", "yes", "")),
                  "'yes.tsv' line 11, column 'ctcf': label 'yes' is not a number but the other "
                  "labels are");
  expect_one_line(train(with_value("hex.tsv", "0x1", "")), "label '0x1' is not a number");
  expect_one_line(train(with_value("hex.tsv", "0x1", "") + "--task multi-label"),
                  "'hex.tsv' line 11, column 'ctcf': label '0x1' is not a number");
  // --task regression accepts the stray value as a number.
  const Result regression = train(with_value("two.tsv", "2", "") + "--task regression");
  EXPECT_EQ(regression.status, 0) << regression.output;
  expect_one_line(train(with_value("bom.tsv", "1", "\xEF\xBB\xBF")),
                  "'bom.tsv' line 1 starts with a byte-order mark");
}

TEST_F(Hostile, CorruptGzipGivesOneLineWithoutHtslibNoise) {
  simulate("sim");
  std::ifstream in(file("sim/labels.tsv"), std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  gzFile gz = gzopen(file("labels.tsv.gz").c_str(), "wb");
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  fs::resize_file(file("labels.tsv.gz"), fs::file_size(file("labels.tsv.gz")) / 2);
  const Result r = train("--fasta sim/sequences.fa --labels labels.tsv.gz --out r");
  expect_one_line(r, "'labels.tsv.gz': read error after line");
  EXPECT_THAT(r.output, Not(HasSubstr("[E::")));
}

// A copy of a safetensors file with its header's metadata edited by `edit`.
void edit_metadata(const std::string& from, const std::string& to,
                   const std::function<void(nlohmann::json&)>& edit) {
  std::ifstream in(from, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  auto header = nlohmann::json::parse(bytes.substr(8, n));
  edit(header["__metadata__"]);
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t size = text.size();
  std::ofstream out(to, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&size), 8);
  out << text << bytes.substr(8 + n);
}

TEST_F(Hostile, PredictIntoAFullDeviceOrPastASizeLimitFails) {
  simulate("sim");
  ASSERT_EQ(train("--fasta sim/sequences.fa --labels sim/labels.tsv --out r").status, 0);
  const std::string predict = "predict --model r/model.safetensors --fasta sim/sequences.fa";
  expect_one_line(strand(predict, "/dev/full"),
                  "cannot write to standard output: No space left on device");
  expect_one_line(strand(predict + " --json", "/dev/full"), "cannot write to standard output");
  EXPECT_EQ(strand(predict, file("scores.tsv")).status, 0);
  EXPECT_GT(fs::file_size(file("scores.tsv")), 400u * 10);
  // A file-size limit (as a full disk): the error names the file and the earlier result stays.
  ASSERT_EQ(strand(predict + " --out kept.tsv").status, 0);
  const auto kept = fs::file_size(file("kept.tsv"));
  expect_one_line(strand(predict + " --out kept.tsv", "", "ulimit -f 4 && trap '' XFSZ && "),
                  "kept.tsv: write failed: File too large");
  EXPECT_EQ(fs::file_size(file("kept.tsv")), kept);
  // An unwritable place for the output: one line naming it.
  write("notadir", "x");
  expect_one_line(strand(predict + " --out notadir/s.tsv"),
                  "notadir/s.tsv: cannot create a temporary file in notadir: Not a directory");
  expect_one_line(strand("train --out notadir/run --epochs 1 --no-progress"),
                  "strand: 'notadir/run': cannot create directories: Not a directory");
  // Edited model files: metadata is under the checksum; without one a file is refused unless
  // STRAND_SKIP_CHECKSUM=1, and then the task list is still checked against the outputs.
  const std::string model = file("r/model.safetensors");
  auto tasks = [](nlohmann::json& m) {
    auto spec = nlohmann::json::parse(m["strand.model"].get<std::string>());
    spec["tasks"].push_back("extra");
    m["strand.model"] = spec.dump();
  };
  edit_metadata(model, file("edited.safetensors"), tasks);
  expect_one_line(strand("predict --model edited.safetensors --fasta sim/sequences.fa"),
                  "edited.safetensors: corrupted file: the CRC-32 of its header and data is");
  edit_metadata(model, file("bare.safetensors"),
                [](nlohmann::json& m) { m.erase("strand.checksum"); });
  expect_one_line(strand("predict --model bare.safetensors --fasta sim/sequences.fa"),
                  "'bare.safetensors' has no checksum (metadata 'strand.checksum'): it was edited "
                  "or not written by strand; set STRAND_SKIP_CHECKSUM=1 to load it unverified");
  edit_metadata(model, file("longer.safetensors"), [&](nlohmann::json& m) {
    m.erase("strand.checksum");
    tasks(m);
  });
  expect_one_line(strand("predict --model longer.safetensors --fasta sim/sequences.fa", "",
                         "STRAND_SKIP_CHECKSUM=1 "),
                  "'longer.safetensors': model metadata: 3 task names for 2 outputs");
}

// Export past a file-size limit (as a full disk): the privacy audit log and the loader note are
// the first writes. Each failure is one line naming the file; nothing is exported; the earlier
// audit entries stay whole lines (a partly written entry is cut off again); the earlier export's
// files are untouched and no temporary is left.
TEST_F(Hostile, ExportIntoAFullDiskLosesNothingEarlier) {
  simulate("sim");
  const std::string data = "--fasta sim/sequences.fa --labels sim/labels.tsv ";
  ASSERT_EQ(train(data + "--sensitive --out s").status, 0);
  ASSERT_EQ(train(data + "--out p").status, 0);
  const std::string limit = "ulimit -f 4 && trap '' XFSZ && ";  // 4 KiB per file
  // 4,000 bytes of earlier entries: the new one (~400 bytes) crosses the limit part-way.
  std::string earlier;
  for (int i = 0; earlier.size() < 3950; ++i)
    earlier += "{\"reason\": \"earlier override " + std::to_string(i) + "\"}\n";
  write("w.safetensors.privacy-override.jsonl", earlier);
  expect_one_line(strand("export --model s/model.safetensors --out w.safetensors "
                         "--override-privacy demo",
                         "", limit),
                  "cannot write the privacy audit log 'w.safetensors.privacy-override.jsonl': "
                  "File too large; nothing was exported");
  EXPECT_FALSE(fs::exists(file("w.safetensors")));
  std::ifstream log(file("w.safetensors.privacy-override.jsonl"), std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(log), {}), earlier);
  // The loader note: an earlier export stays as it was when a new one cannot write anything.
  const std::string exp = "export --model p/model.safetensors --out e.safetensors --format pytorch";
  ASSERT_EQ(strand(exp).status, 0);
  const auto weights = fs::file_size(file("e.safetensors"));
  const auto note = fs::file_size(file("e.safetensors.load.py"));
  expect_one_line(strand(exp, "", "ulimit -f 0 && trap '' XFSZ && "),
                  "e.safetensors.load.py: write failed: File too large");
  EXPECT_EQ(fs::file_size(file("e.safetensors")), weights);
  EXPECT_EQ(fs::file_size(file("e.safetensors.load.py")), note);
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}

// `check splits` on chromosome-length records (3 Mb): unrelated records are not near-duplicates,
// a shared one is found. The records are streamed, not held: under an 8 MiB --max-memory (the
// files hold 12 MB) the result is the same; a bound too small for a pair of records to compare,
// or for one record, is one line naming it.
TEST_F(Hostile, CheckSplitsOnMultiMegabaseRecordsWithAMemoryBound) {
  std::mt19937_64 rng(3);
  auto record = [&](const std::string& name) {
    std::string text = ">" + name + "\n";
    for (int line = 0; line < 50000; ++line) {  // 3 Mb in lines of 60
      for (int i = 0; i < 60; ++i) text += "ACGT"[rng() % 4];
      text += '\n';
    }
    return text;
  };
  const std::string shared = record("chrA");
  write("train.fa", shared + record("chrB"));
  write("test.fa", record("chrC") + ">chrA_copy" + shared.substr(5));
  const std::string check = "check splits train.fa test.fa --split-names train,test --json";
  const Result r = strand(check);
  EXPECT_EQ(r.status, 1) << r.output;
  const std::string json = r.output.substr(0, r.output.rfind("strand: check splits failed"));
  const auto j = nlohmann::json::parse(json);
  EXPECT_EQ(j["counts"]["exact"], 1);
  EXPECT_EQ(j["counts"]["near_duplicate"], 0) << r.output;
  ASSERT_EQ(j["worst_pairs"].size(), 1u);
  EXPECT_EQ(j["worst_pairs"][0]["b"], "chrA_copy");
  const Result bounded = strand(check + " --max-memory 8MiB");
  EXPECT_EQ(bounded.status, 1);
  EXPECT_EQ(bounded.output, r.output);
  expect_one_line(strand("check splits train.fa test.fa --max-memory 4MiB"),
                  "confirming a duplicate pair of 3000000 and 3000000 bases needs about 5.7 MiB "
                  "of memory, more than the 4.0 MiB allowed by --max-memory");
  expect_one_line(strand("check splits train.fa test.fa --max-memory 2MiB"),
                  "reading 'train.fa' (1 records so far) needs about 2.9 MiB of memory, more than "
                  "the 2.0 MiB allowed by --max-memory");
  // --dedup-out streams the kept records into one file per split: the leak is gone.
  const Result dedup = strand(check + " --max-memory 8MiB --dedup-out clean");
  EXPECT_EQ(dedup.status, 0) << dedup.output;
  EXPECT_EQ(fs::file_size(file("clean/train.fa")), fs::file_size(file("train.fa")) / 2);
  EXPECT_EQ(strand("check splits clean/train.fa clean/test.fa").status, 0);
  expect_one_line(strand("check splits train.fa test.fa --max-memory lots"),
                  "--max-memory 'lots' is not a byte count");
  write("labels.tsv", "name\ty\nchrA\t1\nchrB\t0\n");
  const std::string data = "check data --fasta train.fa --labels labels.tsv --json";
  const Result inspected = strand(data);
  ASSERT_EQ(inspected.status, 0) << inspected.output;
  EXPECT_EQ(nlohmann::json::parse(inspected.output)["duplicates_within_split"]["near_duplicate"],
            0);
  EXPECT_EQ(strand(data + " --max-memory 8MiB").output, inspected.output);
  expect_one_line(strand(data + " --max-memory 2MiB"),
                  "comparing 2 sequences with 512-bin sketches (a record of 3000000 bases) needs "
                  "about 2.9 MiB of memory, more than the 2.0 MiB allowed by --max-memory");
}

TEST_F(Hostile, RunDirectoriesAreLockedCleanedAndCarryAStatus) {
  simulate("sim");
  const std::string data = "--fasta sim/sequences.fa --labels sim/labels.tsv --out r ";
  fs::create_directories(file("r"));
  write("r/.checkpoint.safetensors.tmp-AbC123", std::string(1000, 'x'));
  fs::create_directories(file("r/baselines/kmer"));
  write("r/baselines/kmer/.metrics.json.tmp-x1y2z3", "{");
  write("r/.notes.txt.tmp-AbC123", "not strand's");
  write("r/run.json", R"({"status": "running", "pid": 7, "started": "earlier"})");
  {
    const strand::runtime::DirectoryLock held(file("r"), "strand train");
    expect_one_line(train(data), "'r' is in use by another strand train (process");
  }
  ASSERT_EQ(train(data).status, 0);
  EXPECT_FALSE(fs::exists(file("r/.checkpoint.safetensors.tmp-AbC123")));
  const auto status = strand::runtime::read_json_file(file("r/run.json"));
  EXPECT_EQ(status["status"], "finished");
  EXPECT_EQ(status["removed_temporaries"], 2);
  EXPECT_TRUE(fs::exists(file("r/.notes.txt.tmp-AbC123")));
  EXPECT_EQ(status["previous"], "killed (process 7, started earlier)");
  ASSERT_NE(train(data + "--batch-size 0").status, 0);
  const auto failed = strand::runtime::read_json_file(file("r/run.json"));
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_THAT(failed["reason"].get<std::string>(), HasSubstr("batch size must be positive"));
}

TEST_F(Hostile, ResumeRules) {
  simulate("sim");
  simulate("other", 2);
  fs::create_directories(file("models"));
  write("models/m.yaml",
        "layers:\n  - conv1d: {out: 8, kernel: 5}\n  - relu\n  - maxpool1d: {kernel: 4}\n"
        "  - flatten\n  - linear: {out: outputs}\n");
  const std::string data = "--fasta sim/sequences.fa --labels sim/labels.tsv ";
  ASSERT_EQ(train(data + "--model models/m.yaml --out r1").status, 0);
  // Into a new --out, with the model file spelled another way: the best model comes along.
  const Result moved =
      strand("train --epochs 2 --no-baseline --no-progress --bootstrap 10 " + data +
             "--model ./models/../models/m.yaml --resume r1/checkpoint.safetensors "
             "--out r2");
  EXPECT_EQ(moved.status, 0) << moved.output;
  EXPECT_TRUE(fs::exists(file("r2/model.safetensors")));
  // No epoch to train beyond the saved one (so none can beat its best): still a model.
  const Result none =
      train(data + "--model models/m.yaml --resume r1/checkpoint.safetensors --out r3");
  EXPECT_EQ(none.status, 0) << none.output;
  expect_one_line(
      train("--fasta other/sequences.fa --labels other/labels.tsv --model models/m.yaml "
            "--resume r1/checkpoint.safetensors --out r4"),
      "was trained on other data");
}

}  // namespace
