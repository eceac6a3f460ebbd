// `strand simulate`: a simulated motif dataset (FASTA + labels + ground truth), or the suite.
#include "data/simulate.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include "apps/commands.h"
#include "core/error.h"
#include "data/meme.h"
#include "data/simulation_files.h"
#include "data/simulation_suite.h"

namespace strand::apps {
namespace {

struct SimulateArgs {
  std::string out;
  std::string motifs_from;
  std::vector<std::string> motifs;
  data::SimulationConfig config;
  bool suite = false;
  bool json = false;
};

}  // namespace

void add_simulate_command(CLI::App& app) {
  auto a = std::make_shared<SimulateArgs>();
  auto* cmd = app.add_subcommand("simulate", "Write a simulated motif dataset (FASTA + labels)");
  cmd->footer(
      "Examples:\n"
      "  strand simulate --out sim\n"
      "  strand simulate --out sim --sequences 20000 --length 500 --seed 3\n"
      "  strand simulate --suite --out suite     # the aligned/unaligned benchmark suite\n"
      "  strand simulate --out sim --motifs-from "
      "data/motifs/JASPAR_CORE_vertebrates_nonredundant.meme\n"
      "      --motif MA0139.2 --motif GATA1 --motif SPI1   # real JASPAR motifs, one task each\n"
      "Writes DIR/sequences.fa (+ .fai), DIR/labels.tsv (with a split column) and\n"
      "DIR/ground_truth.json (the planted motifs). --suite writes one such directory per task\n"
      "(presence, grammar, aligned_position, aligned_short, orientation, spacing, imbalanced)\n"
      "and "
      "DIR/suite.json, the index.");
  cmd->add_option("--out", a->out, "Output directory")->required();
  cmd->add_option("--sequences", a->config.num_sequences, "Number of sequences")
      ->capture_default_str();
  cmd->add_option("--length", a->config.length, "Bases per sequence")->capture_default_str();
  cmd->add_option("--seed", a->config.seed, "Seed")->capture_default_str()->check(non_negative());
  cmd->add_option("--gc", a->config.gc, "Background GC fraction")->capture_default_str();
  cmd->add_flag("--suite", a->suite,
                "Write the built-in benchmark suite (aligned and unaligned tasks; --seed only)");
  cmd->add_option("--motifs-from", a->motifs_from,
                  "MEME motif file (e.g. data/motifs/JASPAR_CORE_vertebrates_nonredundant.meme) "
                  "to plant motifs from, instead of the built-in ones");
  cmd->add_option("--motif", a->motifs,
                  "With --motifs-from: a motif to plant, by MOTIF identifier or name (repeat); "
                  "each is one task, labelled 1 where it was planted");
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->callback([a] {
    if (a->suite) {
      const auto index = data::write_suite(a->out, a->config.seed);
      if (a->json) {
        std::cout << index.dump(2) << "\n";
        return;
      }
      for (const auto& t : index["suite"])
        std::printf("%-17s %-9s %-11s %5d x %3d bp  %s\n", t["name"].get<std::string>().c_str(),
                    t["aligned"].get<bool>() ? "aligned" : "unaligned",
                    t["label_kind"].get<std::string>().c_str(), t["sequences"].get<int>(),
                    t["length"].get<int>(), t["description"].get<std::string>().c_str());
      std::printf("wrote %s/suite.json and one directory per task\n", a->out.c_str());
      return;
    }
    STRAND_CHECK(a->motifs.empty() == a->motifs_from.empty(),
                 "--motif and --motifs-from go together (a MEME file and the motifs to plant)");
    if (!a->motifs_from.empty()) {
      const auto file = data::read_meme(a->motifs_from);
      a->config.builtin_motifs = false;
      for (const auto& key : a->motifs) {
        const data::Motif& m = data::find_motif(file.motifs, key, a->motifs_from);
        a->config.motifs.push_back(m);
        a->config.tasks.push_back(
            {data::motif_task_name(m), data::MotifRule::Op::kSingle, m.name, "", 0, -1});
      }
    }
    STRAND_CHECK(a->config.num_sequences > 0, "--sequences must be positive, got {}",
                 a->config.num_sequences);
    STRAND_CHECK(a->config.length > 0, "--length must be positive, got {}", a->config.length);
    const auto sim = data::simulate(a->config);
    const auto files = data::write_simulation(sim, a->out);
    nlohmann::json j = {{"fasta", files.fasta},
                        {"labels", files.labels},
                        {"ground_truth", files.ground_truth},
                        {"sequences", sim.records.size()},
                        {"tasks", sim.labels.columns}};
    if (a->json)
      std::cout << j.dump(2) << "\n";
    else
      std::printf("wrote %zu sequences, tasks %s: %s, %s, %s\n", sim.records.size(),
                  j["tasks"].dump().c_str(), files.fasta.c_str(), files.labels.c_str(),
                  files.ground_truth.c_str());
  });
}

}  // namespace strand::apps
