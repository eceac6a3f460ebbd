// Variant effect scoring: VCF records read through htslib in chunks (memory flat in the number of
// variants), each REF checked against an indexed reference genome, then the model's outputs on a
// window of its input length centred on the variant, for the reference and the alternative
// allele, written as a TSV row per (variant, ALT allele) as they are scored.
//
// Windows: the variant's first REF base sits at index length / 2 of both windows (as a 1 bp BED
// interval centred by `strand predict --bed`). The alternative window keeps the same left flank,
// then the ALT bases, then the genome after the REF allele; a deletion extends it to the right
// and an insertion is trimmed on the right, so it keeps the model's length. Positions past a
// contig end are N, as for BED windows. SNVs use MutationScorer's receptive-field fast path.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "interpret/mutation_scorer.h"
#include "runtime/tensor.h"

namespace strand::interpret {

struct Variant {
  int64_t line = 0;  // 1-based line of the VCF text
  std::string chrom;
  int64_t pos = 0;  // 0-based position of the first REF base
  std::string id, ref, alt;
  int alt_index = 1;  // which of the line's ALT alleles (multi-allelic lines are split)
};

// Streaming VCF reader (plain, gzip or bgzip) on htslib: hts_getline for the text and
// vcf_parse as the parser, with line numbers kept for every message. A file whose first line is
// not ##fileformat=VCF or that has no #CHROM line is an error; so are malformed lines, symbolic
// (<DEL>, breakend, *) or non-ACGTN alleles, each named by line number.
class VcfReader {
 public:
  explicit VcfReader(const std::string& path);
  ~VcfReader();
  VcfReader(const VcfReader&) = delete;
  VcfReader& operator=(const VcfReader&) = delete;
  // Appends the variants of up to max_lines more records (one per ALT allele; a '.' ALT gives
  // none); false once the file is exhausted.
  bool next_chunk(int64_t max_lines, std::vector<Variant>& out);
  // The contigs the header declares (##contig lines), possibly none.
  const std::vector<std::string>& header_contigs() const { return contigs_; }
  int64_t records_without_alt() const { return no_alt_; }

 private:
  struct Handles;
  std::unique_ptr<Handles> h_;
  std::string path_;
  int64_t line_ = 0, no_alt_ = 0;
  std::vector<std::string> contigs_;
};

struct VariantOptions {
  std::string vcf, genome;
  std::vector<std::string> tasks;  // the model's output names, one per output
  std::vector<int64_t> columns;    // outputs written, in this order (empty: every output)
  bool rc_average = false;
  // A REF that differs from the genome: stop the run (after reporting it), skip the variant (each
  // reported), or, where the ALT allele is the genome's, swap REF and ALT (alleles given in the
  // other orientation, as in GWAS summary statistics; each swap reported), else skip.
  enum class RefMismatch { kFail, kSkip, kSwap } ref_mismatch = RefMismatch::kFail;
  bool log_fold_change = true;  // write log2(alt / ref) (for positive scores: probabilities)
  int64_t batch_size = 64;      // variants scored together
  int64_t chunk_lines = 1024;   // VCF records read at a time
  // Raw outputs [n, outputs] -> scores (probabilities or values), n * outputs of them.
  std::function<std::vector<double>(const runtime::Tensor&)> scores;
};

struct VariantSummary {
  int64_t rows = 0;            // (variant, ALT) rows written
  int64_t ref_mismatches = 0;  // skipped, each reported on `log`
  int64_t swapped = 0;         // REF and ALT swapped (RefMismatch::kSwap), each reported
  int64_t without_alt = 0;     // records with ALT '.'
  int64_t snvs_fast = 0;       // rows scored through the fast path
};

// Scores every variant of options.vcf, writing the TSV (header first) to `out` as it goes and one
// line per REF mismatch to `log`. Errors (missing contig, malformed line, a REF mismatch under
// RefMismatch::kFail) throw strand::Error naming the line.
VariantSummary score_variants(MutationScorer& scorer, const VariantOptions& options,
                              std::ostream& out, std::ostream& log);
// The same into the file OUT_PATH: rows stream to OUT_PATH.partial, renamed over OUT_PATH only when
// every variant is scored, so a run stopped by a bad record leaves no table that looks finished.
VariantSummary score_variants_to_file(MutationScorer& scorer, const VariantOptions& options,
                                      const std::string& out_path, std::ostream& log);

}  // namespace strand::interpret
