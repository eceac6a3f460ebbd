// `strand check splits` (rule 1: no sequence shared between train, valid and test) and
// `strand check data` (rules 1 and 4: class balance, lengths, GC and N content, confounds,
// duplicates, label correlation).
#include <filesystem>
#include <iostream>
#include <memory>

#include "apps/commands.h"
#include "core/checked.h"
#include "core/error.h"
#include "core/version.h"
#include "data/bed.h"
#include "data/data_source.h"
#include "data/fasta.h"
#include "report/report.h"
#include "rules/alignment.h"
#include "rules/inspect.h"
#include "rules/io.h"
#include "rules/leakage.h"
#include "rules/report.h"
#include "rules/sequence_stream.h"
#include "runtime/file_io.h"
#include "train/pipeline.h"
#include "train/run_directory.h"

namespace strand::apps {
namespace {

struct SplitsArgs {
  std::vector<std::string> fastas, beds;
  data::DataSource source;
  std::string dedup_out;
  std::vector<std::string> split_names = {"train", "valid", "test"};
  std::string drop_from = "train";
  int k = 12, bins = 512, top = 10;
  double min_identity = 0.85;
  bool json = false;
  std::string max_memory = default_memory_limit_text();
};

// Intervals of a per-split BED file (read with data's BED reader).
std::vector<rules::GenomicInterval> split_intervals(const std::string& path, int split) {
  std::vector<rules::GenomicInterval> out;
  for (const auto& iv : data::read_bed(path).intervals)
    out.push_back({iv.chrom, iv.start, iv.end, split});
  return out;
}

// --max-memory: what check splits and check data may hold (sketches, per-record statistics, the
// records being read), checked as files are read; past it the error names the flag.
void limit_memory(const std::string& max_memory) {
  set_memory_limit(parse_bytes(max_memory, "--max-memory"), "--max-memory");
}

void run_check_splits(const SplitsArgs& a) {
  limit_memory(a.max_memory);
  // Sequences are streamed from the files, never held: names, splits and sketches are.
  std::unique_ptr<rules::SequenceStream> seqs;
  std::vector<std::string> names;
  std::vector<int> split;
  std::vector<std::string> split_names = a.split_names;
  std::vector<rules::GenomicInterval> bed_intervals;
  if (!a.fastas.empty()) {
    STRAND_CHECK(a.source.fasta.empty() && a.source.bed.empty(),
                 "give either FASTA files (one per split) or --fasta/--bed, not both");
    STRAND_CHECK(a.fastas.size() >= 2, "need at least two splits to compare, got {} FASTA file",
                 a.fastas.size());
    STRAND_CHECK(a.fastas.size() <= split_names.size(),
                 "{} FASTA files but only {} split names (--split-names)", a.fastas.size(),
                 split_names.size());
    split_names.resize(a.fastas.size());
    auto files = std::make_unique<rules::FastaFiles>(a.fastas);
    names = files->names();
    split = files->file_of();
    seqs = std::move(files);
  } else if (!a.source.fasta.empty() || !a.source.bed.empty()) {
    auto all = rules::stream_source(a.source, false);
    STRAND_CHECK(!all.rows.split.empty(), "no splits: give a split column or a --split-method");
    names = std::move(all.rows.names);
    split = std::move(all.rows.split);
    seqs = std::move(all.seqs);
    split_names = {"train", "valid", "test"};
    if (!a.source.bed.empty()) {
      // The intervals behind the windows, with the same splits, for the overlap check.
      const auto bed = data::read_bed(a.source.bed);
      STRAND_CHECK(bed.intervals.size() == split.size(), "'{}': {} intervals but {} examples",
                   a.source.bed, bed.intervals.size(), split.size());
      for (size_t i = 0; i < split.size(); ++i)
        bed_intervals.push_back(
            {bed.intervals[i].chrom, bed.intervals[i].start, bed.intervals[i].end, split[i]});
    }
  } else if (a.beds.empty()) {
    STRAND_FAIL(
        "nothing to check: give FASTA files (one per split), --fasta with --labels, or "
        "--bed files");
  } else {
    seqs = std::make_unique<rules::MemorySequences>(std::span<const std::string>{});
  }

  rules::LeakageOptions o;
  o.sketch.k = a.k;
  o.sketch.bins = a.bins;
  o.min_identity = a.min_identity;
  const auto report = rules::find_duplicates(*seqs, split, o);

  std::vector<rules::GenomicInterval> intervals = std::move(bed_intervals);
  for (size_t s = 0; s < a.beds.size(); ++s) {
    auto part = split_intervals(a.beds[s], static_cast<int>(s));
    intervals.insert(intervals.end(), part.begin(), part.end());
  }
  const auto overlaps = rules::cross_split_overlaps(intervals);

  nlohmann::json j = {{"sequences", names.size()},
                      {"counts",
                       {{"exact", report.exact},
                        {"reverse_complement", report.reverse_complement},
                        {"near_duplicate", report.near_duplicate},
                        {"overlapping_intervals", overlaps.size()}}},
                      {"min_identity", a.min_identity},
                      {"k", a.k},
                      {"candidates_verified", report.candidates},
                      {"unsketched", report.unsketched}};
  auto split_of = [&](int s) {
    return static_cast<size_t>(s) < split_names.size() ? split_names[s] : std::to_string(s);
  };
  j["worst_pairs"] = nlohmann::json::array();
  for (size_t i = 0; i < report.pairs.size() && static_cast<int>(i) < a.top; ++i) {
    const auto& p = report.pairs[i];
    j["worst_pairs"].push_back({{"a", names[p.a]},
                                {"split_a", split_of(split[p.a])},
                                {"b", names[p.b]},
                                {"split_b", split_of(split[p.b])},
                                {"kind", rules::pair_kind_name(p.kind)},
                                {"identity", p.identity}});
  }
  j["overlaps"] = nlohmann::json::array();
  for (size_t i = 0; i < overlaps.size() && static_cast<int>(i) < a.top; ++i) {
    const auto& x = intervals[overlaps[i].a];
    const auto& y = intervals[overlaps[i].b];
    j["overlaps"].push_back(
        {{"a", x.chrom + ":" + std::to_string(x.start) + "-" + std::to_string(x.end)},
         {"split_a", split_of(x.split)},
         {"b", y.chrom + ":" + std::to_string(y.start) + "-" + std::to_string(y.end)},
         {"split_b", split_of(y.split)},
         {"overlap_bp", overlaps[i].overlap}});
  }
  const bool leak = !report.pairs.empty() || !overlaps.empty();
  j["verdict"] = leak ? "fail" : "pass";

  if (!a.dedup_out.empty()) {
    std::vector<int> keep_rank(split_names.size(), 1);
    const auto it = std::find(split_names.begin(), split_names.end(), a.drop_from);
    STRAND_CHECK(it != split_names.end(), "--drop-from '{}' is not a split name", a.drop_from);
    keep_rank[it - split_names.begin()] = 0;
    const auto drop = rules::dedup_drop_list(report, split, keep_rank);
    std::filesystem::create_directories(a.dedup_out);
    std::vector<char> dropped(names.size(), 0);
    for (auto i : drop) dropped[i] = 1;
    // One more pass, each kept record written to its split's file as it is read.
    std::vector<std::unique_ptr<runtime::AtomicOstream>> files;
    for (const auto& name : split_names)
      files.push_back(std::make_unique<runtime::AtomicOstream>(a.dedup_out + "/" + name + ".fa"));
    seqs->for_each([&](int64_t i, std::string_view s) {
      if (!dropped[i]) data::write_fasta_record(*files[split[i]], names[i], s);
    });
    for (auto& f : files) f->commit();
    j["dedup"] = {{"dropped", drop.size()}, {"from", a.drop_from}, {"dir", a.dedup_out}};
  }

  if (a.json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "checked " << names.size() << " sequences";
    if (!intervals.empty()) std::cout << " and " << intervals.size() << " intervals";
    std::cout << " across splits\n";
    rules::print_table(
        std::cout,
        {{"kind", "pairs"},
         {"exact", std::to_string(report.exact)},
         {"reverse_complement", std::to_string(report.reverse_complement)},
         {"near_duplicate (identity >= " + std::to_string(a.min_identity).substr(0, 4) + ")",
          std::to_string(report.near_duplicate)},
         {"overlapping_intervals", std::to_string(overlaps.size())}});
    if (!j["worst_pairs"].empty()) {
      std::cout << "worst pairs:\n";
      for (const auto& p : j["worst_pairs"])
        std::cout << "  " << p["a"].get<std::string>() << " (" << p["split_a"].get<std::string>()
                  << ")  " << p["b"].get<std::string>() << " (" << p["split_b"].get<std::string>()
                  << ")  " << p["kind"].get<std::string>() << "  identity "
                  << p["identity"].get<double>() << "\n";
    }
    if (j.contains("dedup"))
      std::cout << "wrote de-duplicated splits to " << a.dedup_out << " (dropped "
                << j["dedup"]["dropped"] << " from " << a.drop_from << ")\n";
    std::cout << "verdict: "
              << (leak ? "FAIL - sequences are shared between splits; test scores would be "
                         "inflated"
                       : "PASS - no shared sequences found")
              << "\n";
  }
  STRAND_CHECK(!leak || !a.dedup_out.empty(),
               "check splits failed: {} exact, {} reverse-complement, {} near-duplicate pairs, {} "
               "overlapping intervals across splits",
               report.exact, report.reverse_complement, report.near_duplicate, overlaps.size());
}

struct DataArgs {
  data::DataSource source;
  bool alignment = true;  // rule 5: does position matter?
  bool json = false;
  std::string max_memory = default_memory_limit_text();
};

void run_check_data(const DataArgs& a) {
  limit_memory(a.max_memory);
  auto source = rules::stream_source(a.source, true);
  const rules::InspectInput in = rules::inspect_input(std::move(source.rows));
  auto j = rules::inspect_data(in, *source.seqs, rules::InspectOptions{});
  if (a.alignment) {
    const auto& len = j["length"];
    const int64_t common = len["variable"].get<bool>() ? 0 : len["min"].get<int64_t>();
    j["alignment"] = rules::diagnose_alignment(in, *source.seqs, common);
  }
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << j["n"] << " sequences";
  if (j.contains("splits"))
    std::cout << " (train " << j["splits"]["train"] << ", valid " << j["splits"]["valid"]
              << ", test " << j["splits"]["test"] << ")";
  std::cout << "\nlength: min " << j["length"]["min"] << ", median " << j["length"]["median"]
            << ", max " << j["length"]["max"] << "\n";
  const auto& group = j.contains("tasks") ? j["tasks"] : j["classes"];
  std::vector<std::vector<std::string>> rows = {
      {"task", "n", "prevalence", "balance", "gc+", "gc-", "gc_only_auroc"}};
  for (const auto& [task, t] : group.items()) {
    if (!t.contains("balance")) continue;
    rows.push_back({task, std::to_string(t["n"].get<int64_t>()),
                    rules::format_metric(t, "prevalence", 3), t["balance"].get<std::string>(),
                    rules::format_metric(t, "gc_mean_positive", 3),
                    rules::format_metric(t, "gc_mean_negative", 3),
                    rules::format_metric(t, "gc_only_auroc", 3)});
  }
  if (rows.size() > 1) rules::print_table(std::cout, rows);
  std::cout << "N content: " << j["n_content"]["sequences_with_n"] << " sequences with N, "
            << j["n_content"]["sequences_over_10_percent_n"] << " over 10%\n";
  std::cout << "duplicates within splits: " << j["duplicates_within_split"].dump() << "\n";
  if (j.contains("alignment")) {
    const auto& al = j["alignment"];
    std::cout << "position (rule 5): " << al["verdict"].get<std::string>() << " - "
              << al["reason"].get<std::string>() << "\n";
    std::cout << "  recommended representation: " << al["representation"].get<std::string>()
              << "\n  recommended head: " << al["head"].get<std::string>() << "\n";
  }
  for (const auto& w : j["warnings"]) std::cout << "warning: " << w.get<std::string>() << "\n";
  std::cout << "verdict: " << j["verdict"].get<std::string>() << "\n";
}

struct AllArgs {
  data::DataSource source;
  std::string out = "strand-checks";
  bool json = false;
};

// Every check that applies before training, with the trainer's split rules: the leakage check and
// small-split warnings train runs (Rule 1), `check data` (Rules 1 and 4) and the alignment
// diagnosis that picks the default model (Rule 5). DIR/checks.json, and DIR/report.html with the
// data sections of the ten-rules page.
void run_check_all(const AllArgs& a) {
  const rules::LabelledSequences all = rules::load_source(a.source, false);
  const rules::InspectInput in = rules::inspect_input(all);
  nlohmann::json checks = {{"command", command_line()},
                           {"date", train::utc_now()},
                           {"strand", {{"version", version()}, {"commit", git_commit()}}}};
  checks["data_checks"] = train::check_run_data(all, a.source.bed, false, !a.json);
  nlohmann::json why;
  checks["data_checks"]["default_model"] = {{"model", train::default_model_for(all, why)},
                                            {"alignment", why}};
  checks["inspection"] = rules::inspect_data(in, rules::InspectOptions{});
  int64_t counts[3] = {0, 0, 0};
  for (int s : all.split) ++counts[s];
  checks["splits"] = strand::format("train {}, valid {}, test {} (split method {})", counts[0],
                                    counts[1], counts[2], a.source.split_method);
  std::filesystem::create_directories(a.out);
  runtime::write_json_file(a.out + "/checks.json", checks);
  report::write_report({.run_dir = a.out}, a.out + "/report.html");
  if (a.json) {
    std::cout << checks.dump(2) << "\n";
    return;
  }
  std::cout << "Rule 1: " << checks["data_checks"]["leakage"]["sentence"].get<std::string>()
            << "\nRules 1 and 4: " << checks["inspection"]["verdict"].get<std::string>();
  for (const auto& w : checks["inspection"]["warnings"])
    std::cout << "\n  warning: " << w.get<std::string>();
  std::cout << "\nRule 5: the task looks " << why.value("verdict", std::string("?"))
            << "; default model "
            << checks["data_checks"]["default_model"]["model"].get<std::string>() << "\nwrote "
            << a.out << "/checks.json and " << a.out << "/report.html\n";
}

}  // namespace

// Defined in apps/metrics.cpp, apps/baseline.cpp and apps/compare.cpp; registered together so
// the shared apps/commands.h needs one line for all the rules' subcommands.
void add_metrics_command(CLI::App& app);
void add_baseline_command(CLI::App& app);
void add_compare_command(CLI::App& app);

void add_check_command(CLI::App& app) {
  auto* check = app.add_subcommand("check", "Check data and splits against the ten rules");
  check->require_subcommand(1);

  auto* splits = check->add_subcommand(
      "splits",
      "Find sequences shared between splits: exact, reverse-complement and near "
      "duplicates (either strand), and overlapping BED intervals");
  splits->footer(
      "Examples:\n"
      "  strand check splits train.fa valid.fa test.fa\n"
      "  strand check splits --fasta all.fa --labels labels.tsv --json\n"
      "  strand check splits --bed peaks.bed --genome hg38.fa --split-method chromosome "
      "--test-chroms chr8,chr9\n"
      "  strand check splits train.fa test.fa --split-names train,test --dedup-out clean/\n"
      "  strand check splits --split-beds train.bed valid.bed test.bed\n"
      "Verdict PASS: nothing shared. FAIL (exit status 1): some test sequences (or intervals)\n"
      "also occur in training, so test scores overstate performance on new sequences.");
  auto sa = std::make_shared<SplitsArgs>();
  splits->add_option("fastas", sa->fastas, "FASTA files, one per split (train valid test)");
  add_data_options(splits, sa->source);
  splits->add_option("--split-beds", sa->beds, "BED files, one per split, checked for overlaps");
  splits->add_option("--split-names", sa->split_names, "Names of the splits, in file order")
      ->delimiter(',');
  splits->add_option("--min-identity", sa->min_identity,
                     "Flag near-duplicates at or above this estimated identity");
  splits->add_option("-k", sa->k, "k-mer length of the MinHash sketches");
  splits->add_option("--bins", sa->bins, "MinHash sketch size (a multiple of 2)");
  splits->add_option("--top", sa->top, "How many of the worst pairs to list");
  splits->add_option("--dedup-out", sa->dedup_out,
                     "Write de-duplicated FASTA files (one per split) into this directory");
  splits->add_option("--drop-from", sa->drop_from, "Split that loses the duplicate of a pair");
  splits->add_flag("--json", sa->json, "Print JSON");
  splits
      ->add_option("--max-memory", sa->max_memory,
                   "Memory the check may hold (sketches, per-record statistics and the records "
                   "being read; 4 GiB or half the machine's memory by default), e.g. 4GiB, 16G")
      ->capture_default_str();
  splits->callback([sa] { run_check_splits(*sa); });

  auto* data_cmd = check->add_subcommand(
      "data",
      "Inspect a labelled data set: class balance, lengths, GC and N content, GC "
      "confounds, duplicates, label correlation, and whether position matters (aligned or "
      "unaligned)");
  data_cmd->footer(
      "Examples:\n"
      "  strand check data --fasta seqs.fa --labels labels.tsv\n"
      "  strand check data --fasta seqs.fa --labels labels.tsv --json\n"
      "Verdict ok: nothing to worry about. warn: read the warnings (imbalance and which metrics\n"
      "to trust, a GC or length confound, one-class splits, duplicates, near-identical tasks).\n"
      "Position (rule 5): flattened one-hot vs k-mer spectra (logistic regression and boosted\n"
      "trees, fitted on train, compared on valid): aligned when one-hot wins by 0.05 AUROC;\n"
      "it recommends the representation and the model head.");
  auto da = std::make_shared<DataArgs>();
  add_data_options(data_cmd, da->source);
  data_cmd->add_flag("!--no-alignment", da->alignment,
                     "Skip the aligned/unaligned diagnosis (it fits four small baselines)");
  data_cmd->add_flag("--json", da->json, "Print JSON");
  data_cmd
      ->add_option("--max-memory", da->max_memory,
                   "Memory the check may hold (sketches, per-record statistics, the alignment "
                   "check's rows; 4 GiB or half the machine's memory by default), e.g. 4GiB, 16G")
      ->capture_default_str();
  data_cmd->callback([da] { run_check_data(*da); });

  auto* all_cmd = check->add_subcommand(
      "all", "Every check that applies before training, and the data sections of the report");
  all_cmd->footer(
      "Examples:\n"
      "  strand check all --fasta seqs.fa --labels labels.tsv --out checks\n"
      "  strand check all --bed peaks.bed --genome hg38.fa --split-method chromosome "
      "--test-chroms chr8 --out checks\n"
      "Runs the split check train runs (Rule 1), check data (Rules 1 and 4) and the alignment\n"
      "diagnosis (Rule 5) with the trainer's split rules; writes DIR/checks.json and\n"
      "DIR/report.html. Train into the same DIR and its report keeps these sections.");
  auto aa = std::make_shared<AllArgs>();
  add_data_options(all_cmd, aa->source);
  all_cmd->add_option("--out", aa->out, "Directory for checks.json and report.html")
      ->capture_default_str();
  all_cmd->add_flag("--json", aa->json, "Print checks.json");
  all_cmd->callback([aa] { run_check_all(*aa); });
}

void add_rules_commands(CLI::App& app) {
  add_check_command(app);
  add_metrics_command(app);
  add_baseline_command(app);
  add_compare_command(app);
}

}  // namespace strand::apps
