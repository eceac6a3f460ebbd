// `strand interpret filters`: a trained model's first-layer convolution filters as motifs
// (activation-weighted alignment over the given sequences), with logos and database matches.
#include <cstdio>
#include <memory>

#include "apps/commands.h"
#include "core/error.h"
#include "data/meme.h"
#include "data/sequence_source.h"
#include "interpret/filters.h"
#include "interpret/motif_report.h"
#include "layers/conv.h"
#include "train/checkpoint.h"

namespace strand::apps {
namespace {

struct FiltersArgs {
  std::string model, fasta, db, out;
  double threshold = 0.5;
  int64_t top = 5;
};

// The model's first Conv1d (registration order: the one the input meets first in a Sequential).
interpret::ConvFilters first_layer_filters(layers::Module& model, const std::string& path) {
  for (const auto& [name, module] : model.named_modules()) {
    auto* conv = dynamic_cast<layers::Conv1d*>(module);
    if (!conv) continue;
    const auto& c = conv->config();
    STRAND_CHECK(c.in_channels == 4 && c.groups == 1 && c.dilation == 1,
                 "the first convolution of '{}' ({}) has {} input channels, groups {}, dilation "
                 "{}: filters read as motifs need 4 channels (one-hot DNA), groups 1, dilation 1",
                 path, name, c.in_channels, c.groups, c.dilation);
    interpret::ConvFilters f;
    f.filters = c.out_channels;
    f.width = c.kernel_size;
    const runtime::Device cpu = runtime::Device::parse("cpu");
    f.weight = conv->weight().to(cpu).to_vector<float>();
    if (c.bias) f.bias = conv->bias().to(cpu).to_vector<float>();
    return f;
  }
  STRAND_FAIL("'{}' has no convolution layer: no filters to read as motifs", path);
}

void run_filters(const FiltersArgs& a) {
  const auto loaded = train::load_model(a.model);
  const auto filters = first_layer_filters(*loaded.model, a.model);
  const data::SequenceSource input = data::sequences_from_fasta(a.fasta, loaded.info.length);
  const auto codes = input.read_all();
  const auto motifs =
      interpret::filter_motifs(filters, codes.data(), input.size(), input.length, a.threshold);
  std::unique_ptr<interpret::MotifComparator> database;
  if (!a.db.empty())
    database = std::make_unique<interpret::MotifComparator>(data::read_meme(a.db).motifs);
  std::vector<interpret::ReportedMotif> report;
  int64_t silent = 0;
  for (const auto& m : motifs) {
    interpret::ReportedMotif r;
    r.motif.name = "filter_" + std::to_string(m.filter);
    r.motif.pwm = m.ppm;
    r.motif.nsites = static_cast<double>(m.sites);
    r.columns = {{"filter", std::to_string(m.filter)},
                 {"max_activation", strand::format("{}", m.max_activation)}};
    silent += m.sites == 0;
    report.push_back(std::move(r));
  }
  const auto files = interpret::write_motif_report(a.out, "filters", report, database.get(), a.top);
  std::printf(
      "%zu filters of width %lld over %lld sequences (%lld never activate above 0); "
      "wrote %s, %s (index), %s/%s\n",
      motifs.size(), static_cast<long long>(filters.width), static_cast<long long>(input.size()),
      static_cast<long long>(silent), files.meme.c_str(), files.index.c_str(), files.logos.c_str(),
      database ? (", " + files.matches).c_str() : "");
}

}  // namespace

void add_interpret_filters(CLI::App& interpret) {
  auto a = std::make_shared<FiltersArgs>();
  auto* cmd = interpret.add_subcommand(
      "filters", "First-layer convolution filters as motifs (activation-weighted alignment)");
  cmd->footer(
      "Example:\n"
      "  strand interpret filters --model run/model.safetensors --fasta sim/sequences.fa \\\n"
      "      --db data/motifs/JASPAR_CORE_vertebrates_nonredundant.meme --out filters\n"
      "For each filter, every window of the sequences where its linear activation exceeds\n"
      "--threshold x its largest activation is counted into a frequency matrix (Basset,\n"
      "DanQ). Writes OUT/filters.meme, OUT/filters.tsv (the index), OUT/logos/*.svg and,\n"
      "with --db, OUT/matches.tsv.");
  cmd->add_option("--model", a->model, "Trained model (.safetensors)")->required();
  cmd->add_option("--fasta", a->fasta, "Sequences of the model's input length")->required();
  cmd->add_option("--db", a->db, "MEME motif database to match against");
  cmd->add_option("--out", a->out, "Output directory")->required();
  cmd->add_option("--threshold", a->threshold,
                  "Fraction of a filter's largest activation a window must exceed")
      ->capture_default_str();
  cmd->add_option("--top", a->top, "Database matches listed per filter")->capture_default_str();
  cmd->callback([a] { run_filters(*a); });
}

}  // namespace strand::apps
