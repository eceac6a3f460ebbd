// `strand simulate --motifs-from`, `strand interpret motifs` and `strand interpret filters` end to
// end: real JASPAR motifs planted, attributions built from the planted-site record, and a model
// whose first filters are motif log-odds; every output file checked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "data/encoding.h"
#include "data/fasta.h"
#include "data/meme.h"
#include "interpret/arrays.h"
#include "layers/models.h"
#include "runtime/rng.h"
#include "runtime/tensor.h"
#include "tests/apps/run_cli.h"
#include "train/checkpoint.h"

namespace strand {
namespace {

using apps::cli_test::run_strand;
using ::testing::HasSubstr;

const std::string kDb =
    std::string(STRAND_SOURCE_DIR) + "/data/motifs/JASPAR_CORE_vertebrates_nonredundant.meme";

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Rows of a TSV as maps from the header's names.
std::vector<std::map<std::string, std::string>> tsv(const std::filesystem::path& p) {
  std::vector<std::map<std::string, std::string>> rows;
  std::ifstream in(p);
  std::string line;
  std::vector<std::string> header;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string f;
    while (std::getline(ss, f, '\t')) fields.push_back(f);
    if (header.empty()) {
      header = fields;
      continue;
    }
    std::map<std::string, std::string> row;
    for (size_t k = 0; k < header.size() && k < fields.size(); ++k) row[header[k]] = fields[k];
    rows.push_back(row);
  }
  return rows;
}

class InterpretMotifsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = apps::cli_test::fresh_dir("interpret_motifs");
    const auto sim = run_strand("simulate --out sim --sequences 400 --motifs-from '" + kDb +
                                    "' --motif MA0139.2 --motif gata1 --motif SPI1",
                                dir_.string());
    ASSERT_EQ(sim.status, 0) << sim.output;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(InterpretMotifsCli, SimulatePlantsTheNamedJasparMotifs) {
  const auto labels = read(dir_ / "sim/labels.tsv");
  EXPECT_EQ(labels.substr(0, labels.find('\n')), "name\tctcf\tgata1\tspi1\tsplit");
  const auto truth = nlohmann::json::parse(read(dir_ / "sim/ground_truth.json"));
  std::vector<std::string> names;
  for (const auto& m : truth["motifs"]) names.push_back(m["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"MA0139.2", "MA0035.5", "MA0080.7"}));
  const auto ambiguous =
      run_strand("simulate --out x --motifs-from '" + kDb + "' --motif CTCF", dir_.string());
  EXPECT_NE(ambiguous.status, 0);
  EXPECT_THAT(ambiguous.output, HasSubstr("shared by 3 motifs"));
  const auto alone = run_strand("simulate --out x --motif MA0139.2", dir_.string());
  EXPECT_NE(alone.status, 0);
  EXPECT_THAT(alone.output, HasSubstr("--motif and --motifs-from go together"));
}

TEST_F(InterpretMotifsCli, MotifsFromAttributionsMatchTheirJasparEntries) {
  // attributions = one-hot x planted-site indicator + noise, [N, 1, 4, L], with a summary.tsv
  // naming the task as the attributions command writes it.
  const auto truth = nlohmann::json::parse(read(dir_ / "sim/ground_truth.json"));
  const auto records = data::read_fasta((dir_ / "sim/sequences.fa").string());
  const int64_t N = static_cast<int64_t>(records.size()), L = 200;
  interpret::Array a{{N, 1, 4, L}, std::vector<float>(static_cast<size_t>(N * 4 * L), 0.0f)};
  uint64_t state = 1;
  for (int64_t n = 0; n < N; ++n) {
    std::vector<float> site(L, 0.0f);
    for (const auto& p : truth["sequences"][n]["planted"])
      for (int64_t l = p["start"]; l < p["end"].get<int64_t>(); ++l) site[l] = 1;
    const auto codes = data::encode_bases(records[n].sequence);
    for (int64_t l = 0; l < L; ++l) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      const float noise = 0.6f * (static_cast<float>(state >> 40) / 16777216.0f - 0.5f);
      a.values[(n * 4 + codes[l]) * L + l] = site[l] + noise;
    }
  }
  std::filesystem::create_directories(dir_ / "attr");
  interpret::save_npy((dir_ / "attr/attributions.npy").string(), a);
  std::ofstream((dir_ / "attr/summary.tsv")) << "name\ttask\tf_x\n"
                                             << "sim_000000\tplanted\t0\n";
  const auto run = run_strand(
      "interpret motifs --fasta sim/sequences.fa --attributions "
      "attr/attributions.npy --db '" +
          kDb + "' --out motifs",
      dir_.string());
  ASSERT_EQ(run.status, 0) << run.output;
  const auto index = tsv(dir_ / "motifs/motifs.tsv");
  std::set<std::string> best;
  for (const auto& row : index) {
    EXPECT_EQ(row.at("task"), "planted");
    EXPECT_EQ(row.at("motif").rfind("planted_pos_", 0), 0u);
    EXPECT_TRUE(std::filesystem::exists(dir_ / "motifs" / row.at("logo")));
    best.insert(row.at("best_match"));
  }
  EXPECT_EQ(best, (std::set<std::string>{"MA0139.2", "MA0035.5", "MA0080.7"})) << run.output;
  const auto meme = data::read_meme((dir_ / "motifs/motifs.meme").string());
  EXPECT_EQ(meme.motifs.size(), index.size());
  const auto matches = tsv(dir_ / "motifs/matches.tsv");
  EXPECT_EQ(matches.size(), 5 * index.size());
  const auto seqlets = tsv(dir_ / "motifs/seqlets.tsv");
  EXPECT_GT(seqlets.size(), 300u);
  // Each listed seqlet lies on a planted site of its sequence.
  int64_t on_site = 0;
  for (const auto& s : seqlets) {
    const int64_t n = std::stoll(s.at("sequence").substr(4));
    const int64_t start = std::stoll(s.at("start")), end = std::stoll(s.at("end"));
    for (const auto& p : truth["sequences"][n]["planted"])
      on_site += start < p["end"].get<int64_t>() && p["start"].get<int64_t>() < end;
  }
  EXPECT_GT(on_site, static_cast<int64_t>(0.95 * static_cast<double>(seqlets.size())));

  const auto bad = run_strand(
      "interpret motifs --fasta sim/sequences.fa --attributions "
      "sim/labels.tsv --out m2",
      dir_.string());
  EXPECT_NE(bad.status, 0);
  EXPECT_THAT(bad.output, HasSubstr("sim/labels.tsv"));
  const auto task = run_strand(
      "interpret motifs --fasta sim/sequences.fa --attributions "
      "attr/attributions.npy --out m3 --task nope",
      dir_.string());
  EXPECT_NE(task.status, 0);
  EXPECT_THAT(task.output, HasSubstr("--task 'nope'"));
}

TEST_F(InterpretMotifsCli, FiltersSetToLogOddsMatchTheirMotif) {
  // cnn-small's first layer (32 filters of width 15): filter 0 = CTCF's log-odds, filter 1 =
  // SPI1's (13 columns, zero-padded).
  runtime::manual_seed(1);
  auto model = layers::build_model("cnn-small", 200, 3);
  const auto db = data::read_meme(kDb);
  auto state = model->state_dict();
  bool set = false;
  for (auto& [name, tensor] : state) {
    if (set || tensor.shape().size() != 3 || tensor.shape()[1] != 4) continue;
    auto w = tensor.to_vector<float>();
    const int64_t K = tensor.shape()[2];
    for (int f = 0; f < 2; ++f) {
      const auto& m = data::find_motif(db.motifs, f == 0 ? "MA0139.2" : "MA0080.7", kDb);
      for (int64_t j = 0; j < K; ++j)
        for (int b = 0; b < 4; ++b)
          w[(f * 4 + b) * K + j] =
              j < m.length() ? static_cast<float>(std::log((m.pwm[j][b] + 0.01) / 0.26)) : 0.0f;
    }
    tensor = runtime::from_vector(w, tensor.shape());
    set = true;
  }
  ASSERT_TRUE(set);
  model->load_state_dict(state);
  train::ModelInfo info{.name = "cnn-small",
                        .length = 200,
                        .outputs = 3,
                        .kind = "multi-label",
                        .tasks = {"ctcf", "gata1", "spi1"}};
  train::save_model((dir_ / "m.safetensors").string(), *model, info, {});
  const auto run =
      run_strand("interpret filters --model m.safetensors --fasta sim/sequences.fa --db '" + kDb +
                     "' --out filters",
                 dir_.string());
  ASSERT_EQ(run.status, 0) << run.output;
  const auto index = tsv(dir_ / "filters/filters.tsv");
  ASSERT_EQ(index.size(), 32u);
  EXPECT_EQ(index[0].at("motif"), "filter_0");
  EXPECT_EQ(index[0].at("best_match"), "MA0139.2");
  EXPECT_EQ(index[0].at("strand"), "+");
  EXPECT_EQ(index[1].at("best_match"), "MA0080.7");
  EXPECT_LT(std::stod(index[0].at("q_value")), 0.01);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "filters/logos/filter_31.svg"));
  EXPECT_EQ(data::read_meme((dir_ / "filters/filters.meme").string()).motifs.size(), 32u);
  const auto no_model = run_strand(
      "interpret filters --model sim/labels.tsv --fasta sim/sequences.fa --out f2", dir_.string());
  EXPECT_NE(no_model.status, 0);
}

}  // namespace
}  // namespace strand
