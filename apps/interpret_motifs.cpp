// `strand interpret motifs`: seqlets from attributions clustered into motifs (TF-MoDISco-like),
// each with a logo and its best matches in a MEME motif database (interpret/ does the work).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>

#include "apps/commands.h"
#include "core/error.h"
#include "data/meme.h"
#include "data/sequence_source.h"
#include "data/text_reader.h"
#include "interpret/arrays.h"
#include "interpret/motif_report.h"
#include "interpret/seqlet_clusters.h"
#include "interpret/seqlets.h"
#include "runtime/file_io.h"

namespace strand::apps {
namespace {

struct MotifsArgs {
  std::string fasta, attributions, hypothetical, db, out;
  std::vector<std::string> tasks;
  interpret::SeqletOptions seqlets;
  interpret::ClusterOptions clusters;
  int64_t top = 5;
};

// Task names from the attributions command's summary.tsv beside the array (its "task" column, in
// order of first appearance), else "task0", "task1", ...
std::vector<std::string> task_names(const std::string& attributions, int64_t T) {
  const auto summary = std::filesystem::path(attributions).parent_path() / "summary.tsv";
  std::vector<std::string> names;
  if (std::filesystem::exists(summary)) {
    data::TextReader reader(summary.string());
    std::string_view line;
    std::vector<std::string_view> fields;
    int64_t column = -1;
    while (reader.next(line)) {
      data::split_tabs(line, fields);
      if (column < 0) {
        for (size_t k = 0; k < fields.size(); ++k)
          if (fields[k] == "task") column = static_cast<int64_t>(k);
        if (column < 0) break;
        continue;
      }
      if (column < static_cast<int64_t>(fields.size())) {
        const std::string name(fields[column]);
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      }
    }
  }
  if (static_cast<int64_t>(names.size()) != T) {
    names.clear();
    for (int64_t t = 0; t < T; ++t) names.push_back("task" + std::to_string(t));
  }
  for (auto& n : names)
    for (char& c : n)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') c = '_';
  return names;
}

void run_motifs(const MotifsArgs& a) {
  const interpret::Array contrib = interpret::load_npy(a.attributions);
  STRAND_CHECK(contrib.shape.size() == 4 && contrib.shape[2] == 4,
               "'{}' has shape {}, expected [sequences, tasks, 4, length]", a.attributions,
               contrib.shape);
  const int64_t N = contrib.shape[0], T = contrib.shape[1], L = contrib.shape[3];
  interpret::Array hyp;
  if (!a.hypothetical.empty()) {
    hyp = interpret::load_npy(a.hypothetical);
    STRAND_CHECK(hyp.shape == contrib.shape, "'{}' has shape {}, but the attributions have {}",
                 a.hypothetical, hyp.shape, contrib.shape);
  }
  const data::SequenceSource input = data::sequences_from_fasta(a.fasta, L);
  STRAND_CHECK(input.size() == N, "'{}' has {} sequences, but the attributions have {}", a.fasta,
               input.size(), N);
  const auto names = task_names(a.attributions, T);
  std::vector<int64_t> chosen;
  for (const auto& t : a.tasks) {
    const auto it = std::find(names.begin(), names.end(), t);
    STRAND_CHECK(it != names.end(), "--task '{}': the attributions' tasks are {}", t, names);
    chosen.push_back(it - names.begin());
  }
  if (chosen.empty())
    for (int64_t t = 0; t < T; ++t) chosen.push_back(t);

  std::unique_ptr<interpret::MotifComparator> database;
  if (!a.db.empty())
    database = std::make_unique<interpret::MotifComparator>(data::read_meme(a.db).motifs);
  const auto codes = input.read_all();
  std::vector<interpret::ReportedMotif> report;
  std::string seqlet_rows = "motif\tsequence\tstart\tend\tstrand\n";
  for (const int64_t t : chosen) {
    interpret::AttributionTracks tracks;
    tracks.sequences = N;
    tracks.length = L;
    tracks.codes = codes;
    auto slice = [&](const interpret::Array& from) {
      std::vector<float> out(static_cast<size_t>(N * 4 * L));
      for (int64_t n = 0; n < N; ++n)
        std::copy_n(from.values.begin() + ((n * T + t) * 4) * L, 4 * L, out.begin() + n * 4 * L);
      return out;
    };
    tracks.contributions = slice(contrib);
    if (!a.hypothetical.empty()) tracks.hypothetical = slice(hyp);
    const auto calls = interpret::find_seqlets(tracks, a.seqlets);
    const auto motifs = interpret::cluster_seqlets(tracks, calls.seqlets, a.clusters);
    std::printf(
        "task %s: %zu seqlets (window sums >= %.3g positive, <= -%.3g negative at FDR "
        "%.2g), %zu motifs\n",
        names[t].c_str(), calls.seqlets.size(), calls.positive_threshold, calls.negative_threshold,
        a.seqlets.fdr, motifs.size());
    int pos = 0, neg = 0;
    for (const auto& m : motifs) {
      interpret::ReportedMotif r;
      r.motif.name = names[t] + (m.sign > 0 ? "_pos_" + std::to_string(pos++)
                                            : "_neg_" + std::to_string(neg++));
      r.motif.pwm = m.ppm;
      r.motif.nsites = static_cast<double>(m.members.size());
      double contribution = 0;
      for (const auto& row : m.cwm) contribution += row[0] + row[1] + row[2] + row[3];
      r.columns = {{"task", names[t]},
                   {"sign", m.sign > 0 ? "+" : "-"},
                   {"mean_contribution", strand::format("{}", contribution)}};
      const auto W = static_cast<int64_t>(m.ppm.size());
      const int64_t width = calls.seqlets.empty() ? 0 : calls.seqlets[0].width;
      for (const auto& p : m.members) {
        const auto& s = calls.seqlets[p.seqlet];
        // The trimmed columns [trim_begin, trim_begin + W) of the aligned window, in sequence
        // coordinates (a '-' window reads from its end).
        const int64_t begin =
            p.strand == '+' ? p.start + m.trim_begin : p.start + width - m.trim_begin - W;
        seqlet_rows += strand::format("{}\t{}\t{}\t{}\t{}\n", r.motif.name, input.names[s.sequence],
                                      begin, begin + W, p.strand);
      }
      report.push_back(std::move(r));
    }
  }
  const auto files = interpret::write_motif_report(a.out, "motifs", report, database.get(), a.top);
  runtime::write_file_atomic(a.out + "/seqlets.tsv", {seqlet_rows});
  std::printf("wrote %zu motifs: %s, %s (index), %s/, %s/seqlets.tsv%s\n", report.size(),
              files.meme.c_str(), files.index.c_str(), files.logos.c_str(), a.out.c_str(),
              database ? (", " + files.matches).c_str() : "");
}

}  // namespace

void add_interpret_motifs(CLI::App& interpret) {
  auto a = std::make_shared<MotifsArgs>();
  auto* cmd = interpret.add_subcommand(
      "motifs", "Motifs from attributions: seqlets, clusters, logos and database matches");
  cmd->footer(
      "Example:\n"
      "  strand interpret motifs --fasta seqs.fa --attributions attr/attributions.npy \\\n"
      "      --hypothetical attr/hypothetical.npy \\\n"
      "      --db data/motifs/JASPAR_CORE_vertebrates_nonredundant.meme --out motifs\n"
      "Writes OUT/motifs.meme, OUT/motifs.tsv (the index), OUT/logos/*.svg, OUT/seqlets.tsv\n"
      "and, with --db, OUT/matches.tsv (TOMTOM-like: Pearson column similarity, all offsets\n"
      "and both strands, p-values from the database's column scores convolved, q-values by\n"
      "Benjamini-Hochberg).");
  cmd->add_option("--fasta", a->fasta, "The attributed sequences, in the same order")->required();
  cmd->add_option("--attributions", a->attributions,
                  "Contributions [N, tasks, 4, L] (.npy, from strand interpret attributions)")
      ->required();
  cmd->add_option("--hypothetical", a->hypothetical,
                  "Hypothetical contributions of the same shape: seqlet similarity uses them");
  cmd->add_option("--db", a->db, "MEME motif database to match against");
  cmd->add_option("--out", a->out, "Output directory")->required();
  cmd->add_option("--task", a->tasks, "Task to analyse (repeat; default every task)");
  cmd->add_option("--window", a->seqlets.window, "Positions summed per seqlet window")
      ->capture_default_str();
  cmd->add_option("--flank", a->seqlets.flank, "Bases added on each side of a window")
      ->capture_default_str();
  cmd->add_option("--fdr", a->seqlets.fdr, "False discovery rate of seqlet windows")
      ->capture_default_str();
  cmd->add_option("--max-seqlets", a->seqlets.max_seqlets, "Seqlets kept per sign, strongest")
      ->capture_default_str();
  cmd->add_option("--min-seqlets", a->clusters.min_seqlets, "Smallest cluster reported")
      ->capture_default_str();
  cmd->add_option("--seed", a->seqlets.seed, "Seed of the null's shuffles")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--top", a->top, "Database matches listed per motif")->capture_default_str();
  cmd->callback([a] { run_motifs(*a); });
}

}  // namespace strand::apps
