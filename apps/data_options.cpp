// The one registration of the labelled-data flags (data::DataSource) and of the label-kind flag;
// see commands.h.
#include <cstdio>

#include "apps/commands.h"
#include "core/error.h"
#include "data/data_source.h"

namespace strand::apps {
namespace {

// An older spelling of `current` that still works: hidden from --help, one line on stderr when
// used, and refused together with the current spelling.
void add_deprecated_alias(CLI::App* cmd, CLI::Option* current, const std::string& old_name,
                          std::string& target) {
  const std::string now = current->get_name();
  cmd->add_option(old_name, target, "Deprecated spelling of " + now)
      ->group("")
      ->each([old_name, now, current](const std::string&) {
        STRAND_CHECK(current->count() == 0, "{} is the old spelling of {}; give one of them",
                     old_name, now);
        std::fprintf(stderr, "strand: %s is deprecated; use %s\n", old_name.c_str(), now.c_str());
      });
}

}  // namespace

CLI::Option* add_task_option(CLI::App* cmd, std::string& task) {
  auto* opt = cmd->add_option("--task", task,
                              "Label kind: auto, binary, multi-label, multi-class or regression");
  add_deprecated_alias(cmd, opt, "--kind", task);
  return opt;
}

void add_data_options(CLI::App* cmd, data::DataSource& s, bool splits) {
  cmd->add_option("--fasta", s.fasta, "Sequences (FASTA; needs --labels)");
  cmd->add_option("--labels", s.labels,
                  "Labels TSV: name, task columns, optional split column (train/valid/test)");
  cmd->add_option("--bed", s.bed, "BED intervals with target columns (needs --genome)");
  add_deprecated_alias(
      cmd, cmd->add_option("--genome", s.genome, "Indexed reference FASTA for --bed windows"),
      "--reference", s.genome);
  cmd->add_option("--window", s.window, "Width of the windows centred on --bed intervals")
      ->check(non_negative());
  add_task_option(cmd, s.task);
  if (!splits) return;
  cmd->add_option("--split-method", s.split_method,
                  "auto (the split column, else random), column, chromosome or random (check: "
                  "also none)");
  cmd->add_option("--test-chroms", s.test_chroms, "Chromosomes held out as test")->delimiter(',');
  cmd->add_option("--valid-chroms", s.valid_chroms, "Chromosomes held out as valid")
      ->delimiter(',');
  cmd->add_option("--test-fraction", s.test_fraction, "Random split: fraction for test");
  cmd->add_option("--valid-fraction", s.valid_fraction,
                  "Fraction for valid (random split; or carved from train when no row is valid)");
  cmd->add_option("--split-seed", s.split_seed, "Seed of the random split")->check(non_negative());
}

}  // namespace strand::apps
