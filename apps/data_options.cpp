// The labelled-data flags of train, eval and tune (train::RunData); see commands.h.
#include "apps/commands.h"
#include "train/pipeline.h"

namespace strand::apps {

void add_data_options(CLI::App* cmd, train::RunData& a) {
  cmd->add_option("--fasta", a.fasta, "Sequences (FASTA, equal lengths; needs --labels)");
  cmd->add_option("--labels", a.labels, "Labels TSV: name, task columns, optional split column");
  cmd->add_option("--bed", a.bed, "BED intervals with target columns (needs --genome)");
  cmd->add_option("--genome", a.genome, "Indexed reference FASTA for --bed windows");
  cmd->add_option("--window", a.window, "Width of the windows centred on --bed intervals")
      ->check(non_negative());
  cmd->add_option("--task", a.task,
                  "Label kind: auto, binary, multi-label, multi-class, regression");
}

}  // namespace strand::apps
