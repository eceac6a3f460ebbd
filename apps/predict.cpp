// `strand predict`: scores of sequences (FASTA, or BED windows of a genome) from a model or an
// ensemble of models.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include "apps/commands.h"
#include "core/error.h"
#include "data/sequence_source.h"
#include "layers/gpu_math.h"
#include "rules/io.h"
#include "train/ensemble.h"

namespace strand::apps {
namespace {

struct PredictArgs {
  std::vector<std::string> ensemble;  // --ensemble: several models, scores averaged
  std::string model, fasta, bed, genome, out, device = "cpu";
  layers::GpuMath gpu;
  int64_t window = 0;  // 0: the model's input length
  int64_t batch_size = 256;
  bool rc_average = false;
  bool calibrated = false;
  bool json = false;
};

// The sequences to score: FASTA records, or windows centred on BED intervals of a reference.
data::SequenceSource predict_input(const PredictArgs& a, int64_t length) {
  const int64_t window = a.window > 0 ? a.window : length;
  STRAND_CHECK(a.bed.empty() || window == length,
               "--window {} differs from the model's input length {}", window, length);
  return data::open_sequences(a.fasta, a.bed, a.genome, length);
}

void run_predict(const PredictArgs& a) {
  STRAND_CHECK(a.model.empty() != a.ensemble.empty(),
               "give one of --model FILE or --ensemble FILE1,FILE2,...");
  layers::check_gpu_math(a.gpu, a.device);
  const train::Ensemble models =
      train::load_ensemble(a.ensemble.empty() ? std::vector<std::string>{a.model} : a.ensemble);
  for (const auto& member : models.members) layers::set_gpu_math(*member.model, a.gpu);
  const bool ensemble = !a.ensemble.empty();
  const auto device = runtime::Device::parse(a.device);
  const train::ModelInfo& info = models.info;
  const int64_t L = info.length;
  const data::SequenceSource input = predict_input(a, L);
  const auto& names = input.names;
  const int64_t rows = static_cast<int64_t>(names.size());
  const train::EnsembleScores combined =
      train::score_sequences(models, input, device, a.batch_size, a.rc_average, a.calibrated);
  for (size_t m = 0; a.calibrated && m < models.members.size(); ++m)
    if (!models.members[m].calibration->recommended)
      std::fprintf(stderr,
                   "strand predict: note: the calibration in '%s' did not lower the "
                   "cross-fitted validation log loss when it was trained (applied as asked)\n",
                   models.paths[m].c_str());
  const size_t T = info.tasks.size();
  // An ensemble's output: the mean per task, then each task's spread across models ("<task>_sd").
  std::vector<std::string> columns = info.tasks;
  std::vector<double> table = combined.mean;
  if (ensemble) {
    for (const auto& t : info.tasks) columns.push_back(t + "_sd");
    table.clear();
    for (int64_t i = 0; i < rows; ++i) {
      table.insert(table.end(), combined.mean.begin() + i * T, combined.mean.begin() + (i + 1) * T);
      table.insert(table.end(), combined.sd.begin() + i * T, combined.sd.begin() + (i + 1) * T);
    }
  }
  const size_t C = columns.size();
  if (a.json) {
    nlohmann::json j = {{"model", info.to_json()}, {"predictions", nlohmann::json::array()}};
    j["model"].erase("spec");
    j["calibrated"] = a.calibrated;
    if (ensemble)
      j["ensemble"] = {{"models", models.paths},
                       {"combined",
                        "mean of the models' "
                        "scores; _sd: their "
                        "standard deviation"}};
    for (size_t i = 0; i < names.size(); ++i) {
      nlohmann::json row = {{"name", names[i]}};
      for (size_t c = 0; c < C; ++c) row[columns[c]] = table[i * C + c];
      j["predictions"].push_back(row);
    }
    if (!a.out.empty()) rules::write_scores(a.out, names, columns, table);
    std::cout << j.dump(2) << "\n";
    return;
  }
  if (!a.out.empty()) {
    rules::write_scores(a.out, names, columns, table);
    std::fprintf(stderr, "wrote %zu predictions to %s%s\n", names.size(), a.out.c_str(),
                 ensemble
                     ? strand::format(" (mean and sd of {} models)", models.members.size()).c_str()
                     : "");
    return;
  }
  std::printf("name");
  for (const auto& c : columns) std::printf("\t%s", c.c_str());
  std::printf("\n");
  for (size_t i = 0; i < names.size(); ++i) {
    std::printf("%s", names[i].c_str());
    for (size_t c = 0; c < C; ++c) std::printf("\t%.9g", table[i * C + c]);
    std::printf("\n");
  }
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "Score sequences with a trained model");
  cmd->footer(
      "Examples:\n"
      "  strand predict --model run/model.safetensors --fasta new.fa --out scores.tsv\n"
      "  strand predict --model run/model.safetensors --bed regions.bed --genome hg38.fa "
      "--rc-average\n"
      "  strand predict --ensemble cv/fold-1/model.safetensors,cv/fold-2/model.safetensors "
      "--fasta new.fa\n"
      "  strand predict --model run/model.safetensors --fasta new.fa --calibrated\n"
      "Output TSV: name, then one column per task (probabilities) or class (softmax).");
  cmd->add_option("--model", a->model, "model.safetensors written by strand train");
  cmd->add_option("--ensemble", a->ensemble,
                  "Several models (e.g. the folds of strand train --cv): the mean of their "
                  "scores, and each task's spread across them as <task>_sd")
      ->delimiter(',');
  add_sequence_options(cmd, a->fasta, a->bed, a->genome);
  cmd->add_option("--window", a->window, "Window width for --bed (default: the model's length)")
      ->check(non_negative());
  cmd->add_option("--out", a->out, "Scores TSV (default: standard output)");
  cmd->add_option("--device", a->device, "cpu or cuda")->capture_default_str();
  add_gpu_math_options(cmd, a->gpu.conv_algo, a->gpu.tf32, a->gpu.rnn_algo);
  cmd->add_option("--batch-size", a->batch_size, "Examples per batch")->capture_default_str();
  cmd->add_flag("--rc-average", a->rc_average,
                "Score each sequence as the mean of both strands' predictions");
  cmd->add_flag("--calibrated", a->calibrated,
                "Probabilities through the calibration strand train fitted on validation and "
                "stored in the model file (each member's own for --ensemble)");
  cmd->add_flag("--json", a->json, "Print the predictions as JSON");
  cmd->callback([a] { run_predict(*a); });
}

}  // namespace strand::apps
