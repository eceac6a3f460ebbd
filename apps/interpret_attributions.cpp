// `strand interpret attributions`: per-base attributions of a trained model's outputs for FASTA
// records or BED windows (interpret/attributions.h), written as NumPy arrays and a summary TSV
// with the convergence delta of every sequence and task.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include "apps/commands.h"
#include "core/error.h"
#include "core/suggest.h"
#include "data/sequence_source.h"
#include "interpret/arrays.h"
#include "interpret/attributions.h"
#include "interpret/outputs.h"
#include "runtime/file_io.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"

namespace strand::apps {
namespace {

// Deltas above this fraction of max(|f(x)|, |mean f(reference)|, 1) are warned about.
constexpr double kDeltaWarning = 1e-3;

struct AttributionArgs {
  std::string model, fasta, bed, genome, out, method = "deeplift", baseline = "shuffle";
  std::string device = "cpu";
  std::vector<std::string> tasks;
  int64_t references = 20, steps = 50, batch_size = 64;
  uint64_t seed = 1;
  bool rc_average = false;
};

void run_attributions(const AttributionArgs& a) {
  using interpret::AttributionMethod;
  interpret::AttributionOptions o;
  o.method = interpret::parse_attribution_method(a.method);
  o.baseline = interpret::parse_baseline(a.baseline);
  o.references = a.references, o.steps = a.steps, o.seed = a.seed;
  o.batch_size = a.batch_size;
  STRAND_CHECK(a.references > 0, "--references must be positive, got {}", a.references);
  STRAND_CHECK(a.steps > 0, "--steps must be positive, got {}", a.steps);
  STRAND_CHECK(a.batch_size > 0, "--batch-size must be positive, got {}", a.batch_size);
  const auto loaded = train::load_model(a.model);
  const int64_t L = loaded.info.length;
  o.tasks = interpret::output_columns(a.tasks, loaded.info.tasks);
  const data::SequenceSource input = data::open_sequences(a.fasta, a.bed, a.genome, L);
  loaded.model->to(runtime::Device::parse(a.device));
  const auto model = train::for_prediction(loaded.model, a.rc_average);
  model->eval();
  std::filesystem::create_directories(a.out);

  const int64_t N = input.size(), T = static_cast<int64_t>(o.tasks.size());
  const bool complete = o.method == AttributionMethod::kDeepLift ||
                        o.method == AttributionMethod::kIntegratedGradients;
  std::fprintf(
      stderr, "attributions: %s, %lld sequences x %lld tasks of %s%s\n",
      interpret::attribution_method_name(o.method), static_cast<long long>(N),
      static_cast<long long>(T), loaded.info.describe().c_str(),
      o.method == AttributionMethod::kDeepLift
          ? format(", {} dinucleotide-shuffled references each (seed {})", o.references, o.seed)
                .c_str()
          : "");
  // Streamed to disk chunk by chunk and moved into place only when complete.
  interpret::NpyWriter attributions(a.out + "/attributions.npy", {N, T, 4, L});
  interpret::NpyWriter hypothetical(a.out + "/hypothetical.npy", {N, T, 4, L});
  runtime::AtomicFile summary(a.out + "/summary.tsv");
  summary.write("name\ttask\toutput\treference_output\tattribution_sum\tdelta\n");
  int64_t large = 0;
  double worst = 0;
  std::string worst_at;
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  // Chunks of sequences bound the memory of a batch's references and graphs.
  const int64_t chunk = std::max<int64_t>(1, a.batch_size);
  for (int64_t begin = 0; begin < N; begin += chunk) {
    const int64_t end = std::min(N, begin + chunk);
    std::vector<uint8_t> codes(static_cast<size_t>((end - begin) * L));
    for (int64_t i = begin; i < end; ++i) input.read(i, codes.data() + (i - begin) * L);
    const interpret::Attributions r = interpret::attribute_codes(*model, codes, L, o, begin);
    attributions.append(r.attributions);
    hypothetical.append(r.hypothetical);
    std::ostringstream tsv;
    tsv.precision(9);
    for (int64_t i = 0; i < r.sequences; ++i) {
      const std::string& name = input.names[begin + i];
      for (int64_t t = 0; t < T; ++t) {
        const size_t k = static_cast<size_t>(i * T + t);
        const std::string& task = loaded.info.tasks[o.tasks[t]];
        tsv << name << '\t' << task << '\t' << r.output[k] << '\t' << r.reference_output[k] << '\t'
            << r.total[k] << '\t' << r.delta(i, t) << '\n';
        const double rel = r.relative_delta(i, t);
        if (complete && rel > kDeltaWarning) ++large;
        if (rel > worst)
          worst = rel, worst_at = format("{} / {} (delta {})", name, task, r.delta(i, t));
      }
    }
    summary.write(tsv.view());
    const auto now = std::chrono::steady_clock::now();
    if (end == N || now - last_report > std::chrono::seconds(2)) {
      const double s = std::chrono::duration<double>(now - start).count();
      std::fprintf(stderr, "attributions: %lld/%lld sequences, %.1f sequences/s\n",
                   static_cast<long long>(end), static_cast<long long>(N),
                   static_cast<double>(end) / std::max(s, 1e-9));
      last_report = now;
    }
  }
  attributions.finish();
  hypothetical.finish();
  summary.commit();
  if (!complete) {
    std::fprintf(stderr,
                 "attributions: %s is not complete by construction; its deltas (against an "
                 "all-zero input) are in summary.tsv, unchecked\n",
                 a.method.c_str());
  } else if (large > 0) {
    std::fprintf(stderr,
                 "warning: %lld of %lld convergence deltas exceed %g of the output (worst: %s, "
                 "%.3g relative)%s\n",
                 static_cast<long long>(large), static_cast<long long>(N * T), kDeltaWarning,
                 worst_at.c_str(), worst,
                 o.method == AttributionMethod::kIntegratedGradients ? "; raise --steps" : "");
  } else {
    std::fprintf(stderr, "attributions: every convergence delta within %g (worst %.3g relative)\n",
                 kDeltaWarning, worst);
  }
  std::fprintf(stderr, "wrote %s/attributions.npy, hypothetical.npy and summary.tsv\n",
               a.out.c_str());
}

}  // namespace

void add_interpret_attributions(CLI::App& interpret) {
  auto a = std::make_shared<AttributionArgs>();
  auto* cmd = interpret.add_subcommand(
      "attributions",
      "Per-base attributions: saliency, input x gradient, integrated gradients, "
      "DeepLIFT/DeepSHAP");
  cmd->footer(
      "Examples:\n"
      "  strand interpret attributions --model run/model.safetensors --fasta seqs.fa --out attr\n"
      "  strand interpret attributions --model m.safetensors --bed peaks.bed --genome hg38.fa "
      "--method integrated-gradients --steps 64 --task ctcf --out attr\n"
      "Writes OUT/attributions.npy and OUT/hypothetical.npy ([sequence, task, base A/C/G/T, "
      "position], float32) and OUT/summary.tsv (name, task, output, reference_output, "
      "attribution_sum, delta = attribution_sum - (output - reference_output)).");
  cmd->add_option("--model", a->model, "model.safetensors written by strand train")->required();
  add_sequence_options(cmd, a->fasta, a->bed, a->genome);
  cmd->add_option("--out", a->out, "Output folder")->required();
  cmd->add_option("--method", a->method,
                  "saliency, input-x-gradient, integrated-gradients or deeplift")
      ->capture_default_str();
  cmd->add_option("--task", a->tasks, "Output to explain (repeatable; default: every task)");
  cmd->add_option("--references", a->references,
                  "Dinucleotide shuffles per sequence (deeplift; integrated-gradients with "
                  "--baseline shuffle)")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--seed", a->seed, "Seed of the shuffles")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--steps", a->steps, "Integrated-gradients steps (midpoint rule)")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--baseline", a->baseline,
                  "Integrated-gradients baseline: shuffle (dinucleotide shuffles, averaged), "
                  "zeros or uniform (0.25 each)")
      ->capture_default_str();
  cmd->add_option("--batch-size", a->batch_size, "Sequence-reference pairs per forward pass")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--device", a->device, "cpu or cuda")->capture_default_str();
  cmd->add_flag("--rc-average", a->rc_average,
                "Explain the mean of both strands' outputs (the reverse-complement wrapper)");
  cmd->callback([a] { run_attributions(*a); });
}

}  // namespace strand::apps
