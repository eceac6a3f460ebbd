// `strand score-variants`: the model's outputs for the reference and alternative alleles of every
// VCF variant, streamed (interpret/variants.h).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "apps/commands.h"
#include "core/error.h"
#include "interpret/outputs.h"
#include "interpret/variants.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"

namespace strand::apps {
namespace {

struct ScoreVariantsArgs {
  std::string vcf, genome, model, out, ref_mismatch = "fail";
  std::vector<std::string> tasks;
  int64_t window = 0, batch_size = 64;
  bool rc_average = false, naive = false;
};

void run_score_variants(const ScoreVariantsArgs& a) {
  const auto loaded = train::load_model(a.model);
  const int64_t L = loaded.info.length;
  STRAND_CHECK(a.window == 0 || a.window <= L,
               "--window {} is larger than the model's input length {}", a.window, L);
  STRAND_CHECK(a.window == 0 || a.window == L,
               "--window {} differs from the model's input length {} (windows are the model's "
               "length)",
               a.window, L);
  interpret::VariantOptions o;
  o.vcf = a.vcf;
  o.genome = a.genome;
  o.tasks = loaded.info.tasks;
  o.columns = interpret::output_columns(a.tasks, loaded.info.tasks);
  o.rc_average = a.rc_average;
  using RefMismatch = interpret::VariantOptions::RefMismatch;
  o.ref_mismatch = a.ref_mismatch == "skip"   ? RefMismatch::kSkip
                   : a.ref_mismatch == "swap" ? RefMismatch::kSwap
                                              : RefMismatch::kFail;
  o.batch_size = a.batch_size;
  o.log_fold_change = loaded.info.kind != "regression";
  o.scores = [kind = loaded.info.kind](const runtime::Tensor& logits) {
    return train::scores_of(kind, logits);
  };
  interpret::MutationScorer scorer(*loaded.model, L, a.naive);
  const auto s = a.out.empty() ? interpret::score_variants(scorer, o, std::cout, std::cerr)
                               : interpret::score_variants_to_file(scorer, o, a.out, std::cerr);
  std::fprintf(
      stderr,
      "score-variants: %lld rows (%lld SNVs on the receptive-field path), %lld REF "
      "mismatches skipped, %lld REF/ALT swapped, %lld records without ALT%s%s%s\n",
      static_cast<long long>(s.rows), static_cast<long long>(s.snvs_fast),
      static_cast<long long>(s.ref_mismatches), static_cast<long long>(s.swapped),
      static_cast<long long>(s.without_alt), a.out.empty() ? "" : "; wrote ", a.out.c_str(),
      scorer.fast() || a.naive
          ? ""
          : ("; no receptive-field path for this model: " + scorer.fallback_reason()).c_str());
}

}  // namespace

void add_score_variants_command(CLI::App& app) {
  auto a = std::make_shared<ScoreVariantsArgs>();
  auto* cmd = app.add_subcommand("score-variants",
                                 "Score VCF variants: model outputs for REF and ALT alleles");
  cmd->footer(
      "Examples:\n"
      "  strand score-variants --vcf calls.vcf.gz --genome hg38.fa --model run/model.safetensors "
      "--out scores.tsv\n"
      "  strand score-variants --vcf gwas.vcf --genome hg38.fa --model m.safetensors "
      "--rc-average --ref-mismatch skip\n"
      "Each variant is scored on a window of the model's input length with its first REF base\n"
      "at index length/2. The ALT window keeps the same left flank; after the ALT bases comes\n"
      "the genome after REF, so a deletion extends the window to the right and an insertion is\n"
      "trimmed on the right (N past contig ends). Multi-allelic records are split: one row per\n"
      "ALT allele. Symbolic alleles (<DEL>, breakends, *) are refused. Every REF is checked\n"
      "against the genome: a mismatch is an error naming the line, or with --ref-mismatch skip\n"
      "is reported on stderr and left out; with --ref-mismatch swap, a variant whose ALT is the\n"
      "genome's allele (alleles given in the other orientation) is scored with REF and ALT\n"
      "swapped, each swap reported on stderr (others are skipped).\n"
      "Output TSV: chrom, pos (1-based), id, ref, alt, then per task <task>:ref, <task>:alt,\n"
      "<task>:alt-ref (probabilities for binary and multi-label models, each class's softmax\n"
      "probability for multi-class, values for regression) and <task>:log2fc = log2(alt/ref)\n"
      "(not for regression). The VCF is read and the rows written in chunks: memory does not\n"
      "grow with the number of variants.");
  cmd->add_option("--vcf", a->vcf, "Variants (VCF, plain, gzip or bgzip)")->required();
  cmd->add_option("--genome", a->genome, "Indexed reference FASTA the VCF refers to")->required();
  cmd->add_option("--model", a->model, "model.safetensors written by strand train")->required();
  cmd->add_option("--out", a->out, "Scores TSV (default: standard output)");
  cmd->add_option("--task", a->tasks, "Output to score (repeatable; default every output)");
  cmd->add_option("--window", a->window, "Window width (must be the model's input length)")
      ->check(non_negative());
  cmd->add_option("--ref-mismatch", a->ref_mismatch,
                  "fail (stop at the first REF that differs from the genome), skip (report each "
                  "on stderr and go on) or swap (allele orientation: take an ALT that matches "
                  "the genome as REF)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fail", "skip", "swap"}));
  cmd->add_option("--batch-size", a->batch_size, "Variants scored together")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--rc-average", a->rc_average,
                "Score each window as the mean of both strands' outputs");
  cmd->add_flag("--naive", a->naive, "No receptive-field fast path for SNVs");
  cmd->callback([a] { run_score_variants(*a); });
}

}  // namespace strand::apps
