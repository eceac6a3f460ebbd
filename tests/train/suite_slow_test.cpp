// Issue 18's suite check: strand train's default (the model chosen by the data's alignment, with
// its default tuning budget) reaches test AUROC >= 0.95 on the aligned suite tasks and does at
// least as well as every baseline there (test macro AUROC for multi-class, mean AUROC over tasks
// otherwise; and test accuracy for multi-class). CI runs the aligned tasks; STRAND_SUITE=all adds
// the unaligned ones (AUROC >= 0.95; their baselines are printed, not asserted; minutes more),
// STRAND_SUITE=unaligned runs those alone. Slow: minutes on a loaded CPU.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "data/simulate.h"
#include "data/simulation_files.h"
#include "data/simulation_suite.h"
#include "rules/baselines.h"
#include "rules/io.h"
#include "train/pipeline.h"

namespace strand::train {
namespace {

// Mean AUROC over tasks, or macro AUROC for multi-class.
double auroc_of(const nlohmann::json& panel) {
  if (panel.contains("macro_auroc")) return panel["macro_auroc"].get<double>();
  return panel["macro"]["auroc"].get<double>();
}

TEST(Suite, DefaultReachesAurocAndBeatsEveryBaselineOnAlignedTasks) {
  const char* which = std::getenv("STRAND_SUITE");
  const std::string chosen = which != nullptr ? which : "aligned";
  ASSERT_TRUE(chosen == "aligned" || chosen == "all" || chosen == "unaligned")
      << "STRAND_SUITE must be aligned, all or unaligned, got '" << chosen << "'";
  const auto root =
      std::filesystem::temp_directory_path() / ("strand_suite_" + std::to_string(::getpid()));
  int checked = 0;
  for (const data::SuiteTask& task : data::suite_tasks(1)) {
    if ((task.aligned && chosen == "unaligned") || (!task.aligned && chosen == "aligned")) continue;
    SCOPED_TRACE(task.name);
    const std::string dir = (root / task.name).string();
    const auto files = data::write_simulation(data::simulate(task.config), dir + "/data");
    RunOptions o;
    o.data.fasta = files.fasta, o.data.labels = files.labels;
    o.config.progress = false;
    o.choose_model = true;  // strand train without --model, default tuning on
    o.baseline = false;     // every baseline is run below
    o.replicates = 100;
    o.out = dir + "/run";
    const RunReport r = run_training(o);
    const double model = auroc_of(r.metrics["test"]);
    EXPECT_GE(model, 0.95) << "default model " << r.metrics["model"].dump();
    ++checked;
    if (r.metrics["default_tuning"].contains("sentence"))
      std::printf("%s: %s\n", task.name.c_str(),
                  r.metrics["default_tuning"]["sentence"].get<std::string>().c_str());
    if (r.metrics["test"].contains("accuracy"))
      std::printf("%s: default test accuracy %.4f\n", task.name.c_str(),
                  r.metrics["test"]["accuracy"].get<double>());
    const auto all = rules::load_source(o.data, false);
    for (const auto& b : rules::run_baselines(rules::baseline_problem(all), {})) {
      const double base = auroc_of(b.metrics);
      std::printf("%s: default %s AUROC %.4f, %s %.4f", task.name.c_str(),
                  r.metrics["model"]["name"].get<std::string>().c_str(), model, b.name.c_str(),
                  base);
      if (b.metrics.contains("accuracy"))
        std::printf(" (accuracy %.4f)", b.metrics["accuracy"].get<double>());
      std::printf("\n");
      if (!task.aligned) continue;  // the issue asks the unaligned tasks for AUROC >= 0.95 only
      // Both at the ceiling (orientation: every position-aware model near 1.000) is a tie: there
      // is nothing left to beat.
      if (!(model >= 0.999 && base >= 0.999)) {
        EXPECT_GE(model, base) << "baseline " << b.name;
      }
      if (b.metrics.contains("accuracy")) {
        EXPECT_GE(r.metrics["test"]["accuracy"].get<double>(), b.metrics["accuracy"].get<double>())
            << "baseline " << b.name;
      }
    }
  }
  EXPECT_EQ(checked, chosen == "all" ? 7 : chosen == "unaligned" ? 4 : 3);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace strand::train
