// `strand eval`: a trained model's metrics panel on labelled sequences.
#include <cstdio>
#include <iostream>
#include <memory>

#include "apps/commands.h"
#include "apps/tables.h"
#include "core/error.h"
#include "data/data_source.h"
#include "layers/gpu_math.h"
#include "rules/headline.h"
#include "train/evaluate.h"
#include "train/pipeline.h"

namespace strand::apps {
namespace {

struct EvalArgs {
  std::string model;
  data::DataSource data;
  std::string split = "all";
  std::string device = "cpu";
  layers::GpuMath gpu;
  int64_t batch_size = 256;
  int replicates = 1000;
  bool rc_average = false;
  bool calibrated = false;
  bool json = false;
};

void run_eval(const EvalArgs& args) {
  EvalArgs a = args;
  layers::check_gpu_math(a.gpu, a.device);
  const auto loaded = train::load_model(a.model);
  if (a.data.window == 0) a.data.window = loaded.info.length;  // --bed windows fit the model
  auto dataset = data::load_dataset(a.data, data::parse_label_kind(loaded.info.kind));
  STRAND_CHECK(dataset->length() == loaded.info.length,
               "'{}' has sequences of length {}, but the model takes length {}", dataset->source(),
               dataset->length(), loaded.info.length);
  const auto& cols =
      loaded.info.kind == "multi-class" ? dataset->classes() : dataset->output_names();
  STRAND_CHECK(cols == loaded.info.tasks, "the labels' outputs {} are not the model's {}",
               nlohmann::json(cols).dump(), nlohmann::json(loaded.info.tasks).dump());
  std::vector<int64_t> rows;
  if (a.split == "all") {
    for (int64_t i = 0; i < dataset->size(); ++i) rows.push_back(i);
  } else {
    const data::Split want = data::parse_split(a.split, "--split");
    const auto& declared = dataset->declared_splits();
    STRAND_CHECK(!declared.empty(), "--split {} needs a split column in the labels", a.split);
    for (int64_t i = 0; i < dataset->size(); ++i)
      if (declared[i] == want) rows.push_back(i);
    STRAND_CHECK(!rows.empty(), "no examples in split '{}'", a.split);
  }
  const auto device = runtime::Device::parse(a.device);
  loaded.model->to(device);
  layers::set_gpu_math(*loaded.model, a.gpu);
  auto p = train::predict_rows(*train::for_prediction(loaded.model, a.rc_average), loaded.info.kind,
                               dataset, rows, a.batch_size, device);
  if (a.calibrated) {
    p.scores = train::stored_calibrator(loaded, a.model).apply(p.scores);
    p.loss = rules::log_loss(loaded.info.task_kind(), loaded.info.tasks.size(), p.labels, p.scores);
  }
  nlohmann::json panel = train::panel_of(loaded.info, p, a.replicates);
  if (a.json) {
    std::cout << panel.dump(2) << "\n";
    return;
  }
  std::printf("model %s on %zu examples (%s)%s, loss %.4f\n", loaded.info.describe().c_str(),
              rows.size(), a.split.c_str(), a.calibrated ? ", calibrated" : "", p.loss);
  std::printf("headline: %s\n", rules::headline_of(panel)["sentence"].get<std::string>().c_str());
  print_table(panel, nlohmann::json(), "", "");
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  a->data.window = 0;  // the model's input length unless --window says otherwise
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained model on labelled sequences");
  cmd->footer(
      "Examples:\n"
      "  strand eval --model run/model.safetensors --fasta seqs.fa --labels labels.tsv --split "
      "test\n"
      "  strand eval --model run/model.safetensors --fasta other.fa --labels other.tsv --json\n"
      "  strand eval --model run/model.safetensors --bed peaks.bed --genome hg38.fa --rc-average");
  cmd->add_option("--model", a->model, "model.safetensors written by strand train")->required();
  add_data_options(cmd, a->data, /*splits=*/false);
  cmd->add_option("--split", a->split, "all, train, valid or test (needs a split column)")
      ->capture_default_str();
  cmd->add_option("--device", a->device, "cpu or cuda")->capture_default_str();
  add_gpu_math_options(cmd, a->gpu.conv_algo, a->gpu.tf32, a->gpu.rnn_algo);
  cmd->add_option("--batch-size", a->batch_size, "Examples per batch")->capture_default_str();
  cmd->add_option("--bootstrap", a->replicates, "Bootstrap replicates for intervals");
  cmd->add_flag("--rc-average", a->rc_average,
                "Score each sequence as the mean of both strands' predictions");
  cmd->add_flag("--calibrated", a->calibrated,
                "Score the probabilities through the calibration stored in the model file");
  cmd->add_flag("--json", a->json, "Print the metrics panel as JSON");
  cmd->callback([a] { run_eval(*a); });
}

}  // namespace strand::apps
