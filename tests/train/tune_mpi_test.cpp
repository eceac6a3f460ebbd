// strand tune over real processes (`mpirun -np 2`): both ranks take jobs from the shared board as
// they free up (asynchronous successive halving), each job is run and logged once, every rank
// sees the same results and choice, and only rank 0 opens test.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "runtime/comm.h"
#include "tests/train/tiny_task.h"
#include "train/tune.h"

namespace strand::train {
namespace {

TEST(TuneMpi, TrialsSpreadOverRanksAndOneWriterOpensTest) {
  auto comm = runtime::make_communicator(runtime::detect_launch(), runtime::Device::cpu());
  ASSERT_GE(comm->size(), 2);
  std::string made;
  if (comm->rank() == 0) {
    std::string templ = (std::filesystem::temp_directory_path() / "strand_tune_XXXXXX").string();
    made = mkdtemp(templ.data());
  }
  const std::string dir = runtime::all_gather_strings(*comm, made)[0];
  data::SplitDataset splits = *testing::tiny_task(60, 300);
  TuneOptions o;
  o.trials = 4, o.min_epochs = 1, o.max_epochs = 2, o.eta = 2, o.bootstrap = 20;
  o.out_dir = dir;
  const auto space =
      SearchSpace::parse("model: [cnn-small]\nlr: {log_uniform: [0.001, 0.01]}\n", "test");
  const auto r = tune(splits, testing::tiny_config(), space, o, comm);
  // Every rank agrees on the choice.
  const auto chosen = runtime::all_gather_strings(*comm, r["chosen"]["id"].dump());
  for (const auto& c : chosen) EXPECT_EQ(c, chosen[0]);
  EXPECT_EQ(splits.test_unsealed(), comm->rank() == 0);
  if (comm->rank() == 0) {
    std::set<int> ranks;
    std::set<std::pair<int, int>> jobs;
    std::ifstream in(dir + "/tune_log.jsonl");
    std::string line;
    int unsealed = 0, results = 0, promotions = 0;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line);
      if (j["type"] == "rung") {
        ranks.insert(j["rank"].get<int>());
        jobs.insert({j["id"].get<int>(), j["rung"].get<int>()});
        ++results;
      }
      promotions += j["type"] == "promote";
      unsealed += j["type"] == "test_unsealed";
    }
    EXPECT_EQ(ranks.size(), static_cast<size_t>(comm->size()));
    EXPECT_EQ(results, static_cast<int>(jobs.size())) << "no job run twice";
    EXPECT_EQ(results, 4 + promotions) << "every trial's first rung and every promotion";
    EXPECT_GE(promotions, 1);
    EXPECT_EQ(unsealed, 1);
  }
  comm->barrier();
  if (comm->rank() == 0) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strand::train
