// `strand tune`: hyper-parameter search (Rule 6) over random configurations with asynchronous
// successive halving, selected on validation only; --cv K nests the search in K outer folds.
#include "train/tune.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include "apps/commands.h"
#include "apps/tables.h"
#include "core/error.h"
#include "data/split_dataset.h"
#include "rules/headline.h"
#include "rules/io.h"
#include "runtime/comm.h"
#include "runtime/file_io.h"
#include "train/cross_validation.h"
#include "train/pipeline.h"
#include "train/run_directory.h"

namespace strand::apps {
namespace {

struct TuneArgs {
  data::DataSource data;
  train::TrainConfig config;
  train::TuneOptions options;
  std::string out = "strand-tune";
  std::string space;  // search-space file (YAML or JSON); empty: the default space
  double max_minutes = 0;
  train::CrossValidationOptions cv =
      train::no_cv();  // folds > 0: nested cross-validation of the search
  bool print_space = false;
  bool json = false;
};

void run_tune(TuneArgs& a) {
  const runtime::LaunchInfo launch = runtime::detect_launch();
  std::shared_ptr<runtime::Communicator> comm;
  if (launch.distributed())
    comm = runtime::make_communicator(launch, runtime::Device::parse("cpu"), {});
  const bool writer = !comm || comm->rank() == 0;
  a.options.out_dir = a.out;
  a.options.max_seconds = a.max_minutes * 60;
  const auto body = [&] {
    if (train::use_simulated_data(a.data, a.out, comm.get(), writer) && writer && !a.json)
      std::printf("no data given: using the built-in simulated dataset (%s/data)\n", a.out.c_str());
    const train::RunDataset loaded = train::load_run_data(a.data, true);
    data::SplitDataset& splits = *loaded.splits;
    const rules::LabelledSequences& all = loaded.rows;
    nlohmann::json data_checks, why;
    if (writer) data_checks = train::check_run_data(all, a.data.bed, false, !a.json);
    const std::string default_model = train::default_model_for(all, why);
    const train::SearchSpace space = a.space.empty()
                                         ? train::SearchSpace::default_space(default_model)
                                         : train::SearchSpace::from_file(a.space);
    if (writer && !a.json)
      std::printf(
          "tuning %d trials over %s (%s; %s), asynchronous successive halving over epochs %s, eta "
          "%d%s\n",
          a.options.trials, a.space.empty() ? "the default space" : a.space.c_str(),
          splits.summary().c_str(),
          comm ? strand::format("{} ranks", comm->size()).c_str() : "1 process",
          nlohmann::json(train::rung_epochs(a.options)).dump().c_str(), a.options.eta,
          a.max_minutes > 0 ? strand::format(", at most {} min", a.max_minutes).c_str() : "");
    const auto line = [&](const std::string& l) {
      if (!a.json && writer) std::printf("  %s\n", l.c_str());
    };
    if (a.cv.folds > 0) {
      nlohmann::json cv =
          train::tune_cross_validated(splits, a.config, space, a.options, a.cv, comm, line);
      if (!writer) return;
      cv["data_checks"] = data_checks;
      runtime::write_json_file(a.out + "/tune_cv.json", cv);
      if (a.json) {
        std::cout << cv.dump(2) << "\n";
        return;
      }
      for (const auto& f : cv["per_fold"])
        std::printf("fold %d: chose %s; held-out %s\n", f["fold"].get<int>(),
                    f["chosen"]["config"].dump().c_str(), f["metrics"].dump().c_str());
      std::printf("%s\n%s\nwrote %s/tune_cv.json and one search per fold (%s/fold-<k>/)\n",
                  cv["sentence"].get<std::string>().c_str(),
                  cv["final_model"].get<std::string>().c_str(), a.out.c_str(), a.out.c_str());
      return;
    }
    nlohmann::json result = train::tune(splits, a.config, space, a.options, comm, line);
    if (!writer) return;
    result["data_checks"] = data_checks;
    result["space"] = space.to_json();
    if (result["test"].is_object()) {
      result["headline"] = rules::headline_of(result["test"]);
      result["headline"]["split"] = "test";
    }
    runtime::write_json_file(a.out + "/tune.json", result);
    if (a.json) {
      std::cout << result.dump(2) << "\n";
      return;
    }
    std::printf("%-5s %-5s %-6s %-9s %s\n", "rank", "trial", "epochs", "valid", "config");
    for (const auto& t : result["trials"])
      std::printf("%-5d %-5d %-6lld %-9s %s\n", t["rank"].get<int>(), t["id"].get<int>(),
                  static_cast<long long>(t["epochs"].get<int64_t>()), fmt(t["valid"]).c_str(),
                  t["config"].dump().c_str());
    std::printf("%s\n", result["sentence"].get<std::string>().c_str());
    if (result.contains("headline"))
      std::printf("chosen model on test (opened once): %s\n",
                  result["headline"]["sentence"].get<std::string>().c_str());
    if (result["privacy"].is_object())
      std::printf("privacy: %s\n", result["privacy"]["sentence"].get<std::string>().c_str());
    std::printf(
        "wrote %s/tune.json, %s/tune_log.jsonl (every trial; the test lock), "
        "%s/trials/<id>/\n",
        a.out.c_str(), a.out.c_str(), a.out.c_str());
  };
  train::with_run_directory(writer ? a.out : "", body);
}

}  // namespace

void add_tune_command(CLI::App& app) {
  auto a = std::make_shared<TuneArgs>();
  auto* cmd = app.add_subcommand(
      "tune",
      "Search hyper-parameters (Rule 6): random search + asynchronous successive halving, valid "
      "only");
  cmd->footer(
      "Examples:\n"
      "  strand tune                                    # built-in simulated data, default space\n"
      "  strand tune --fasta seqs.fa --labels labels.tsv --space space.yaml --trials 12\n"
      "  mpirun -n 4 strand tune --fasta seqs.fa --labels labels.tsv   # 4 workers, one board\n"
      "  strand tune --fasta seqs.fa --labels labels.tsv --cv 5     # nested cross-validation\n"
      "  strand tune --print-space > space.yaml         # the default space, to edit\n"
      "Search-space keys: model (zoo names, YAML model files, cnn-variant), optimizer, lr,\n"
      "batch_size, weight_decay, and for cnn-variant depth, kernel, filters, dropout. A value is\n"
      "fixed, a list of choices or {uniform|log_uniform|int_uniform: [lo, hi]}.\n"
      "Test stays sealed through the search and opens once for the chosen model. Rerun the same\n"
      "command to resume a killed search (DIR/tune_log.jsonl is append-only).");
  add_data_options(cmd, a->data);
  cmd->add_option("--space", a->space, "Search-space file (YAML or JSON); default: built in");
  cmd->add_flag("--print-space", a->print_space, "Print the default search space and exit");
  cmd->add_option("--trials", a->options.trials, "Random configurations")->capture_default_str();
  cmd->add_option("--min-epochs", a->options.min_epochs, "Epochs of the first rung")
      ->capture_default_str();
  cmd->add_option("--max-epochs", a->options.max_epochs, "Epochs of the last rung")
      ->capture_default_str();
  cmd->add_option("--eta", a->options.eta, "Keep the best 1/eta at each rung")
      ->capture_default_str();
  cmd->add_option("--max-minutes", a->max_minutes,
                  "Time budget: no rung job starts after this (0: none)");
  cmd->add_option("--seed", a->options.seed, "Seed of the sampled configurations")
      ->capture_default_str();
  cmd->add_option("--device", a->config.device, "cpu or cuda")->capture_default_str();
  cmd->add_flag("--dp", a->config.dp.enabled,
                "DP-SGD for every trial; the search's total privacy cost is accounted");
  cmd->add_option("--noise-multiplier", a->config.dp.noise_multiplier,
                  "--dp: noise multiplier of every trial (needed: fixes each trial's cost)");
  cmd->add_option("--max-grad-norm", a->config.dp.max_grad_norm, "--dp: clipping norm")
      ->capture_default_str();
  cmd->add_option("--delta", a->config.dp.delta, "--dp: delta (default 1/(10 N) rounded down)");
  cmd->add_option("--bootstrap", a->options.bootstrap, "Bootstrap replicates of the final panels");
  cmd->add_option("--cv", a->cv.folds,
                  "Nested cross-validation: K outer folds of train + valid, a whole search in "
                  "each (test untouched): DIR/tune_cv.json");
  cmd->add_option("--cv-group", a->cv.group_by, "--cv: auto, duplicates, chromosome or none")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "Output directory")->capture_default_str();
  cmd->add_flag("--json", a->json, "Print tune.json");
  cmd->callback([a] {
    if (a->print_space) {
      std::printf("%s", train::SearchSpace::default_text("cnn").c_str());
      return;
    }
    run_tune(*a);
  });
}

}  // namespace strand::apps
