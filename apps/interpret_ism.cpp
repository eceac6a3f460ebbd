// `strand interpret ism`: in-silico saturation mutagenesis of FASTA records or BED windows with a
// trained model (interpret/ism.h), written as NumPy arrays and a TSV.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include "apps/commands.h"
#include "core/error.h"
#include "core/suggest.h"
#include "data/encoding.h"
#include "data/sequence_source.h"
#include "interpret/arrays.h"
#include "interpret/ism.h"
#include "interpret/outputs.h"
#include "runtime/file_io.h"
#include "train/checkpoint.h"

namespace strand::apps {
namespace {

struct IsmArgs {
  std::string model, fasta, bed, genome, out;
  std::vector<std::string> tasks;
  int64_t start = 0, end = 0;
  int64_t batch_size = 512;
  bool rc_average = false, naive = false;
};

void run_ism(const IsmArgs& a) {
  const auto loaded = train::load_model(a.model);
  const int64_t L = loaded.info.length;
  const auto& names = loaded.info.tasks;
  interpret::IsmOptions o;
  o.tasks = interpret::output_columns(a.tasks, names);
  o.start = a.start;
  o.end = a.end == 0 ? L : a.end;
  STRAND_CHECK(o.start < o.end && o.end <= L,
               "--start {} / --end {} must give a non-empty window inside the model's input "
               "length {}",
               a.start, o.end, L);
  o.rc_average = a.rc_average;
  o.batch_size = a.batch_size;
  const data::SequenceSource input = data::open_sequences(a.fasta, a.bed, a.genome, L);

  interpret::MutationScorer scorer(*loaded.model, L, a.naive);
  if (!scorer.fast() && !a.naive)
    std::fprintf(stderr, "ism: no fast path for this model (%s); every mutant runs in full\n",
                 scorer.fallback_reason().c_str());
  else
    std::fprintf(stderr, "ism: %s\n", scorer.describe().c_str());

  const int64_t N = input.size(), T = static_cast<int64_t>(o.tasks.size()), W = o.end - o.start;
  // Streamed to disk sequence by sequence (DeepSEA's 919 tasks make 15 MB per 1 kb sequence) and
  // moved into place only when complete.
  std::filesystem::create_directories(a.out);
  interpret::NpyWriter ism(a.out + "/ism.npy", {N, T, 4, W});
  interpret::NpyWriter centered(a.out + "/ism_centered.npy", {N, T, 4, W});
  runtime::AtomicFile tsv_file(a.out + "/ism.tsv");
  tsv_file.write("name\ttask\tposition\tref\tA\tC\tG\tT\n");
  const auto begin = std::chrono::steady_clock::now();
  auto last_report = begin;
  std::vector<uint8_t> codes(L);
  for (int64_t n = 0; n < N; ++n) {
    input.read(n, codes.data());
    o.progress = [&](int64_t done, int64_t total) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_report < std::chrono::seconds(5)) return;
      last_report = now;
      const double s = std::chrono::duration<double>(now - begin).count();
      std::fprintf(stderr, "ism: sequence %lld/%lld, %lld/%lld mutations, %.1f s\n",
                   static_cast<long long>(n + 1), static_cast<long long>(N),
                   static_cast<long long>(done), static_cast<long long>(total), s);
    };
    const auto r = interpret::saturation_mutagenesis(scorer, codes.data(), o);
    ism.append(r.effects);
    centered.append(interpret::mean_centered(r));
    std::ostringstream tsv;
    tsv.precision(7);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < W; ++i) {
        tsv << input.names[n] << '\t' << names[o.tasks[t]] << '\t' << o.start + i << '\t'
            << data::base_letter(codes[o.start + i]);
        for (int64_t b = 0; b < 4; ++b) tsv << '\t' << r.effects[(t * 4 + b) * W + i];
        tsv << '\n';
      }
    tsv_file.write(tsv.view());
  }
  ism.finish();
  centered.finish();
  tsv_file.commit();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  std::fprintf(stderr,
               "ism: %lld sequences x %lld positions in %.2f s; wrote %s/ism.npy [%lld, %lld, 4, "
               "%lld], ism_centered.npy and ism.tsv\n",
               static_cast<long long>(N), static_cast<long long>(W), s, a.out.c_str(),
               static_cast<long long>(N), static_cast<long long>(T), static_cast<long long>(W));
}

}  // namespace

void add_interpret_ism(CLI::App& interpret) {
  auto a = std::make_shared<IsmArgs>();
  auto* cmd = interpret.add_subcommand(
      "ism", "In-silico saturation mutagenesis: every position x every other base");
  cmd->footer(
      "Examples:\n"
      "  strand interpret ism --model run/model.safetensors --fasta seqs.fa --out ism/\n"
      "  strand interpret ism --model run/model.safetensors --bed peaks.bed --genome hg38.fa "
      "--start 400 --end 600 --task CTCF --rc-average --out ism/\n"
      "Output in OUT/: ism.npy [sequences, tasks, 4 (A, C, G, T), positions] float32 with\n"
      "output(mutant) - output(sequence) on the model's raw outputs (logits), 0 at the\n"
      "reference base (all four bases at an N); ism_centered.npy, the same minus the mean\n"
      "of the four bases at each position; ism.tsv, one row per sequence, task and position\n"
      "(0-based, in the sequence) with the four effects. Positions are --start..--end-1.\n"
      "Models whose first layers are position-local (convolutions, pooling, batch norm,\n"
      "activations, dropout) recompute only each mutation's receptive field; others run\n"
      "every mutant in full (said on stderr).");
  cmd->add_option("--model", a->model, "model.safetensors written by strand train")->required();
  add_sequence_options(cmd, a->fasta, a->bed, a->genome);
  cmd->add_option("--out", a->out, "Output directory")->required();
  cmd->add_option("--task", a->tasks, "Output to explain (repeatable; default every output)");
  cmd->add_option("--start", a->start, "First position to mutate (0-based)")->check(non_negative());
  cmd->add_option("--end", a->end, "One past the last position (default: the sequence end)")
      ->check(non_negative());
  cmd->add_option("--batch-size", a->batch_size, "Mutants scored together")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--rc-average", a->rc_average,
                "Effects on the mean of both strands' outputs (as predict --rc-average)");
  cmd->add_flag("--naive", a->naive,
                "Run every mutant through the whole model (the slow reference the fast path "
                "equals)");
  cmd->callback([a] { run_ism(*a); });
}

}  // namespace strand::apps
