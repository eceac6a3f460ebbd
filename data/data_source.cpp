// Loading and splitting a labelled data source; see data_source.h.
#include "data/data_source.h"

#include "core/error.h"

namespace strand::data {

SplitOptions split_options(const DataSource& s) {
  SplitOptions o;
  if (s.split_method == "auto")
    o.method = SplitMethod::kAuto;
  else if (s.split_method == "column")
    o.method = SplitMethod::kColumn;
  else if (s.split_method == "chromosome")
    o.method = SplitMethod::kChromosome;
  else if (s.split_method == "random")
    o.method = SplitMethod::kRandom;
  else
    STRAND_FAIL("split method '{}' is not one of auto, column, chromosome, random", s.split_method);
  o.test_chromosomes = s.test_chroms;
  o.valid_chromosomes = s.valid_chroms;
  o.test_fraction = s.test_fraction;
  o.valid_fraction = s.valid_fraction;
  o.seed = s.split_seed;
  return o;
}

std::shared_ptr<Dataset> load_dataset(const DataSource& s, LabelKind kind) {
  if (!s.bed.empty()) {
    STRAND_CHECK(s.fasta.empty(),
                 "give either --fasta with --labels or --bed with --genome, not both");
    STRAND_CHECK(!s.genome.empty(), "--bed needs --genome (an indexed reference FASTA)");
    return std::make_shared<Dataset>(Dataset::from_bed(s.bed, s.genome, s.window));
  }
  STRAND_CHECK(!s.fasta.empty(), "no data: give --fasta with --labels, or --bed with --genome");
  STRAND_CHECK(!s.labels.empty(), "--fasta needs --labels (a TSV: name, task columns, split)");
  FastaDatasetOptions o;
  o.kind = kind;
  return std::make_shared<Dataset>(Dataset::from_fasta(s.fasta, s.labels, o));
}

std::shared_ptr<Dataset> load_dataset(const DataSource& s) {
  return load_dataset(s, parse_label_kind(s.task));
}

}  // namespace strand::data
