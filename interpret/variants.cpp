// VCF reading and variant scoring (see variants.h).
#include "interpret/variants.h"

#include <htslib/hts.h>
#include <htslib/kseq.h>
#include <htslib/kstring.h>
#include <htslib/vcf.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string_view>

#include "core/error.h"
#include "data/encoding.h"
#include "data/fasta.h"
#include "runtime/file_io.h"
#include "runtime/ops.h"

namespace strand::interpret {

struct VcfReader::Handles {
  htsFile* file = nullptr;
  bcf_hdr_t* header = nullptr;
  bcf1_t* record = nullptr;
  kstring_t line = {0, 0, nullptr};
  ~Handles() {
    if (record) bcf_destroy(record);
    if (header) bcf_hdr_destroy(header);
    if (file) hts_close(file);
    free(line.s);
  }
};

namespace {

std::vector<std::string> split_tabs(const std::string& s, size_t max_fields) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (out.size() + 1 < max_fields) {
    const size_t tab = s.find('\t', begin);
    if (tab == std::string::npos) break;
    out.push_back(s.substr(begin, tab - begin));
    begin = tab + 1;
  }
  out.push_back(s.substr(begin));
  return out;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool is_bases(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::string_view("ACGTNacgtn").find(c) != std::string_view::npos;
  });
}

}  // namespace

VcfReader::VcfReader(const std::string& path) : h_(std::make_unique<Handles>()), path_(path) {
  hts_set_log_level(HTS_LOG_OFF);  // every problem is reported here, with its line
  h_->file = hts_open(path.c_str(), "r");
  STRAND_CHECK(h_->file != nullptr, "cannot open VCF '{}' (no such file, or no permission)", path);
  std::string text;
  while (true) {
    const int n = hts_getline(h_->file, KS_SEP_LINE, &h_->line);
    STRAND_CHECK(n >= -1, "'{}' line {}: read error", path, line_ + 1);
    STRAND_CHECK(n >= 0, "'{}' has no #CHROM header line (not a VCF, or a VCF without a header)",
                 path);
    ++line_;
    const std::string s(h_->line.s, h_->line.l);
    if (line_ == 1)
      STRAND_CHECK(s.rfind("##fileformat=VCF", 0) == 0,
                   "'{}' line 1: a VCF starts with a ##fileformat=VCF header line, found '{}' (a "
                   "VCF without a header?)",
                   path, s.substr(0, 40));
    STRAND_CHECK(!s.empty() && s[0] == '#', "'{}' line {}: a record before the #CHROM header line",
                 path, line_);
    text += s + "\n";
    if (s.rfind("#CHROM", 0) == 0) break;
  }
  h_->header = bcf_hdr_init("r");
  STRAND_CHECK(h_->header && bcf_hdr_parse(h_->header, text.data()) == 0,
               "'{}': htslib cannot parse its header (lines 1-{})", path, line_);
  int n = 0;
  const char** names = bcf_hdr_seqnames(h_->header, &n);
  for (int i = 0; i < n; ++i) contigs_.emplace_back(names[i]);
  free(names);
  h_->record = bcf_init();
}

VcfReader::~VcfReader() = default;

bool VcfReader::next_chunk(int64_t max_lines, std::vector<Variant>& out) {
  for (int64_t done = 0; done < max_lines;) {
    const int n = hts_getline(h_->file, KS_SEP_LINE, &h_->line);
    if (n == -1) return false;
    STRAND_CHECK(n >= 0, "'{}' line {}: read error", path_, line_ + 1);
    ++line_;
    const std::string s(h_->line.s, h_->line.l);
    if (s.empty()) continue;
    ++done;
    // Checks of our own first, for messages that say what is wrong; then htslib's parser.
    const auto f = split_tabs(s, 9);
    STRAND_CHECK(f.size() >= 8,
                 "'{}' line {}: malformed VCF record: {} tab-separated columns, a record has at "
                 "least 8 (CHROM POS ID REF ALT QUAL FILTER INFO)",
                 path_, line_, f.size());
    const bool pos_ok =
        !f[1].empty() && f[1].size() < 12 &&
        std::all_of(f[1].begin(), f[1].end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        std::stoll(f[1]) > 0;
    STRAND_CHECK(pos_ok, "'{}' line {}: malformed VCF record: POS '{}' is not a positive integer",
                 path_, line_, f[1]);
    STRAND_CHECK(is_bases(f[3]), "'{}' line {}: REF '{}' is not made of A, C, G, T, N", path_,
                 line_, f[3]);
    STRAND_CHECK(vcf_parse(&h_->line, h_->header, h_->record) == 0,
                 "'{}' line {}: malformed VCF record (htslib cannot parse it)", path_, line_);
    bcf_unpack(h_->record, BCF_UN_STR);
    const bcf1_t* r = h_->record;
    if (r->n_allele < 2) {
      ++no_alt_;
      continue;
    }
    for (int a = 1; a < r->n_allele; ++a) {
      const std::string alt = r->d.allele[a];
      const bool symbolic = alt.find_first_of("<>[]*") != std::string::npos;
      STRAND_CHECK(!symbolic,
                   "'{}' line {}: symbolic ALT allele '{}' cannot be scored (only sequence "
                   "alleles: SNVs, MNVs and indels)",
                   path_, line_, alt);
      STRAND_CHECK(is_bases(alt), "'{}' line {}: ALT '{}' is not made of A, C, G, T, N", path_,
                   line_, alt);
      Variant v;
      v.line = line_;
      v.chrom = bcf_seqname(h_->header, r);
      v.pos = r->pos;
      v.id = r->d.id;
      v.ref = upper(r->d.allele[0]);
      v.alt = upper(alt);
      v.alt_index = a;
      out.push_back(std::move(v));
    }
  }
  return true;
}

namespace {

void write_header(std::ostream& out, const VariantOptions& o, const std::vector<int64_t>& columns) {
  out << "chrom\tpos\tid\tref\talt";
  for (const int64_t c : columns) {
    const std::string& t = o.tasks[c];
    out << '\t' << t << ":ref\t" << t << ":alt\t" << t << ":alt-ref";
    if (o.log_fold_change) out << '\t' << t << ":log2fc";
  }
  out << '\n';
}

}  // namespace

VariantSummary score_variants(MutationScorer& scorer, const VariantOptions& o, std::ostream& out,
                              std::ostream& log) {
  STRAND_CHECK(o.batch_size > 0 && o.chunk_lines > 0, "batch size and chunk must be positive");
  STRAND_CHECK(static_cast<int64_t>(o.tasks.size()) == scorer.outputs(),
               "{} task names for a model of {} outputs", o.tasks.size(), scorer.outputs());
  data::IndexedFasta genome(o.genome);
  VcfReader vcf(o.vcf);
  // Naming schemes that do not meet ("chr1" against "1") fail here, not on the first record.
  const auto& declared = vcf.header_contigs();
  if (!declared.empty()) {
    const bool any = std::any_of(declared.begin(), declared.end(),
                                 [&](const std::string& c) { return genome.contains(c); });
    STRAND_CHECK(any,
                 "none of the {} contigs of '{}' (first: {}) is in the genome '{}' (first: {}): "
                 "are they named differently (chr1 / 1)?",
                 declared.size(), o.vcf, declared.front(), o.genome, genome.names().front());
  }
  const int64_t L = scorer.length(), centre = L / 2, T = scorer.outputs();
  std::vector<int64_t> columns = o.columns;
  for (const int64_t c : columns)
    STRAND_CHECK(c >= 0 && c < T, "output column {} of a model of {} outputs", c, T);
  if (columns.empty())
    for (int64_t t = 0; t < T; ++t) columns.push_back(t);
  const int64_t strands = o.rc_average ? 2 : 1;
  write_header(out, o, columns);
  VariantSummary summary;
  std::vector<Variant> chunk;
  bool more = true;
  while (more) {
    chunk.clear();
    more = vcf.next_chunk(o.chunk_lines, chunk);
    // Check every variant of the chunk before scoring any of it.
    std::vector<Variant> ok;
    for (auto& v : chunk) {
      STRAND_CHECK(genome.contains(v.chrom),
                   "'{}' line {}: contig '{}' is not in the genome '{}' ({} contigs, first: {})",
                   o.vcf, v.line, v.chrom, o.genome, genome.num_records(), genome.names().front());
      const int64_t len = genome.length(v.chrom);
      const int64_t ref_end = v.pos + static_cast<int64_t>(v.ref.size());
      STRAND_CHECK(ref_end <= len, "'{}' line {}: {}:{} REF '{}' reaches past the contig's end {}",
                   o.vcf, v.line, v.chrom, v.pos + 1, v.ref, len);
      const std::string have = upper(genome.fetch(v.chrom, v.pos, ref_end));
      if (have != v.ref) {
        const std::string what =
            format("'{}' line {}: REF '{}' does not match the genome's '{}' at {}:{}", o.vcf,
                   v.line, v.ref, have, v.chrom, v.pos + 1);
        using RefMismatch = VariantOptions::RefMismatch;
        STRAND_CHECK(o.ref_mismatch != RefMismatch::kFail,
                     "{} (--ref-mismatch skip scores the others; swap takes an ALT that matches "
                     "the genome as the reference allele)",
                     what);
        const int64_t alt_end = v.pos + static_cast<int64_t>(v.alt.size());
        if (o.ref_mismatch == RefMismatch::kSwap && alt_end <= len &&
            upper(genome.fetch(v.chrom, v.pos, alt_end)) == v.alt) {
          log << what << ", but ALT '" << v.alt << "' does: REF and ALT swapped\n";
          std::swap(v.ref, v.alt);
          ++summary.swapped;
          ok.push_back(std::move(v));
          continue;
        }
        log << what << " (skipped)\n";
        ++summary.ref_mismatches;
        continue;
      }
      ok.push_back(std::move(v));
    }
    for (size_t first = 0; first < ok.size(); first += o.batch_size) {
      const size_t last = std::min(ok.size(), first + static_cast<size_t>(o.batch_size));
      const int64_t n = static_cast<int64_t>(last - first);
      // References: each variant's window (and its reverse complement in rows n..2n-1).
      std::vector<uint8_t> refs(strands * n * L), alts;
      std::vector<Mutation> snvs;
      std::vector<int64_t> alt_row(n, -1);  // row in `alts`, or -1: an SNV
      std::vector<int64_t> snv_row(n, -1);  // an SNV's first row in `snvs` (strands adjacent)
      for (int64_t i = 0; i < n; ++i) {
        const Variant& v = ok[first + i];
        uint8_t* ref = refs.data() + i * L;
        genome.fetch_window(v.chrom, v.pos - centre, v.pos - centre + L, ref);
        const uint8_t alt_base = data::base_code(v.alt[0]);
        if (v.ref.size() == 1 && v.alt.size() == 1 && alt_base < 4 && scorer.fast()) {
          snv_row[i] = static_cast<int64_t>(snvs.size());
          snvs.push_back({i, centre, alt_base});
          if (strands == 2) snvs.push_back({n + i, L - 1 - centre, uint8_t(3 - alt_base)});
          continue;
        }
        std::vector<uint8_t> alt(ref, ref + centre);
        for (char c : v.alt) alt.push_back(data::base_code(c));
        const int64_t rest = L - static_cast<int64_t>(alt.size());
        const int64_t after = v.pos + static_cast<int64_t>(v.ref.size());
        if (rest > 0) {
          alt.resize(L);
          genome.fetch_window(v.chrom, after, after + rest, alt.data() + L - rest);
        }
        alt.resize(L);
        alt_row[i] = static_cast<int64_t>(alts.size() / L);
        alts.insert(alts.end(), alt.begin(), alt.end());
      }
      if (strands == 2)
        for (int64_t i = 0; i < n; ++i)
          data::reverse_complement_codes(refs.data() + i * L, L, refs.data() + (n + i) * L);
      const int64_t n_alt = static_cast<int64_t>(alts.size()) / L;
      if (strands == 2) {
        alts.resize(2 * n_alt * L);
        for (int64_t i = 0; i < n_alt; ++i)
          data::reverse_complement_codes(alts.data() + i * L, L, alts.data() + (n_alt + i) * L);
      }
      const std::vector<float> ref_out = scorer.set_references(refs.data(), strands * n);
      const std::vector<float> snv_out = scorer.score(snvs);
      const std::vector<float> alt_out = scorer.outputs_of(alts.data(), strands * n_alt);
      // Logits averaged over strands, then the scores of ref and alt, one row each per variant.
      std::vector<float> logits(2 * n * T, 0.0f);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t s = 0; s < strands; ++s)
          for (int64_t t = 0; t < T; ++t) {
            logits[(2 * i) * T + t] += ref_out[(s * n + i) * T + t] / strands;
            const float a = alt_row[i] < 0 ? snv_out[(snv_row[i] + s) * T + t]
                                           : alt_out[(s * n_alt + alt_row[i]) * T + t];
            logits[(2 * i + 1) * T + t] += a / strands;
          }
      const std::vector<double> sc = o.scores(runtime::from_vector(logits, {2 * n, T}));
      std::ostringstream rows;
      rows.precision(9);
      for (int64_t i = 0; i < n; ++i) {
        const Variant& v = ok[first + i];
        rows << v.chrom << '\t' << v.pos + 1 << '\t' << v.id << '\t' << v.ref << '\t' << v.alt;
        for (const int64_t t : columns) {
          const double r = sc[(2 * i) * T + t], a = sc[(2 * i + 1) * T + t];
          rows << '\t' << r << '\t' << a << '\t' << a - r;
          if (o.log_fold_change) rows << '\t' << std::log2(a / r);
        }
        rows << '\n';
        if (alt_row[i] < 0) ++summary.snvs_fast;
      }
      out << rows.str();
      STRAND_CHECK(out.good(), "cannot write the variant scores (disk full?)");
      summary.rows += n;
    }
  }
  summary.without_alt = vcf.records_without_alt();
  return summary;
}

VariantSummary score_variants_to_file(MutationScorer& scorer, const VariantOptions& options,
                                      const std::string& out_path, std::ostream& log) {
  runtime::AtomicOstream file(out_path);  // a failure leaves no partial file and any old one
  const VariantSummary summary = score_variants(scorer, options, file, log);
  file.commit();
  return summary;
}

}  // namespace strand::interpret
