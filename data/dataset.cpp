// Dataset construction (FASTA + labels, BED + reference, in-memory) and the per-thread Reader.
#include "data/dataset.h"

#include <algorithm>
#include <map>

#include "data/encoding.h"
#include "core/error.h"
#include "data/random.h"

namespace strand::data {
namespace {

// "200 bp: 998 records (e.g. 's1'), 150 bp: 2 records (e.g. 's7')"
std::string describe_lengths(const std::vector<std::string>& names,
                             const std::vector<int64_t>& lengths) {
  std::map<int64_t, std::pair<int64_t, std::string>> by_length;
  for (size_t i = 0; i < lengths.size(); ++i) {
    auto& [count, example] = by_length[lengths[i]];
    if (count++ == 0) example = names[i];
  }
  std::string out;
  int shown = 0;
  for (auto it = by_length.rbegin(); it != by_length.rend() && shown < 4; ++it, ++shown) {
    if (shown) out += ", ";
    out +=
        format("{} bp: {} record(s) (e.g. '{}')", it->first, it->second.first, it->second.second);
  }
  if (by_length.size() > 4) out += format(" and {} more lengths", by_length.size() - 4);
  return out;
}

}  // namespace

void Dataset::set_labels_from(const LabelTable& labels,
                              const std::vector<std::string>& record_names,
                              const std::vector<int64_t>& record_lengths, LengthPolicy lengths) {
  check_label_coverage(labels, record_names, source_);
  const int64_t longest = *std::max_element(record_lengths.begin(), record_lengths.end());
  const int64_t shortest = *std::min_element(record_lengths.begin(), record_lengths.end());
  STRAND_CHECK(lengths == LengthPolicy::kPadToMax || longest == shortest,
               "'{}': sequences have different lengths ({}); the model needs one fixed length: "
               "trim them, or pad with LengthPolicy::kPadToMax",
               source_, describe_lengths(record_names, record_lengths));
  length_ = longest;
  std::unordered_map<std::string, int32_t> record_of;
  for (size_t r = 0; r < record_names.size(); ++r) record_of.emplace(record_names[r], r);
  items_.resize(labels.num_rows());
  names_ = labels.names;
  for (int64_t i = 0; i < labels.num_rows(); ++i) {
    items_[i].record = record_of.at(labels.names[i]);
    items_[i].begin = 0;
    items_[i].end = longest;  // right padding for shorter records under kPadToMax
  }
  labels_ = labels.values;
  splits_ = labels.splits;
  outputs_ = labels.columns;
  classes_ = labels.classes;
  kind_ = labels.kind;
}

Dataset Dataset::from_fasta(const std::string& fasta_path, const std::string& labels_path,
                            const FastaDatasetOptions& options) {
  Dataset d;
  d.source_ = fasta_path;
  const LabelTable labels = read_labels(labels_path, options.kind);
  Compression compression;
  {
    TextReader probe(fasta_path);
    compression = probe.compression();
  }
  if (compression == Compression::kGzip) {
    // Plain gzip has no random access: decode once into 1-byte codes (4x smaller than floats).
    std::vector<FastaRecord> records = read_fasta(fasta_path);
    Dataset m = from_records(records, labels, options.lengths);
    m.source_ = fasta_path;
    return m;
  }
  auto fasta = std::make_shared<IndexedFasta>(fasta_path);
  d.record_names_ = fasta->names();
  d.record_lengths_ = fasta->lengths();
  d.fasta_ = std::move(fasta);
  d.set_labels_from(labels, d.record_names_, d.record_lengths_, options.lengths);
  return d;
}

Dataset Dataset::from_records(const std::vector<FastaRecord>& records, LabelTable labels,
                              LengthPolicy lengths) {
  Dataset d;
  d.source_ = labels.path.empty() ? "in-memory records" : labels.path;
  STRAND_CHECK(!records.empty(), "from_records: no records");
  std::unordered_map<std::string, int64_t> seen;
  int64_t total = 0;
  for (const auto& r : records) {
    STRAND_CHECK(seen.emplace(r.name, 0).second, "duplicate record name '{}'", r.name);
    STRAND_CHECK(!r.sequence.empty(), "record '{}' has an empty sequence", r.name);
    total += static_cast<int64_t>(r.sequence.size());
  }
  d.memory_codes_.resize(total);
  int64_t at = 0;
  for (const auto& r : records) {
    d.record_names_.push_back(r.name);
    d.record_lengths_.push_back(static_cast<int64_t>(r.sequence.size()));
    d.memory_offsets_.push_back(at);
    encode_bases(r.sequence, d.memory_codes_.data() + at, r.name);
    at += static_cast<int64_t>(r.sequence.size());
  }
  d.set_labels_from(labels, d.record_names_, d.record_lengths_, lengths);
  return d;
}

Dataset Dataset::from_bed(const std::string& bed_path, const std::string& reference_path,
                          int64_t window) {
  STRAND_CHECK(window > 0, "window width must be positive, got {}", window);
  Dataset d;
  d.source_ = bed_path;
  const BedFile bed = read_bed(bed_path);
  auto fasta = std::make_shared<IndexedFasta>(reference_path);
  check_against_reference(bed, *fasta);
  d.record_names_ = fasta->names();
  d.record_lengths_ = fasta->lengths();
  d.chrom_from_record_name_ = false;
  d.length_ = window;
  d.items_.reserve(bed.size());
  d.names_.reserve(bed.size());
  for (const auto& iv : bed.intervals) {
    const Window w = centred_window(iv, window);
    d.items_.push_back({static_cast<int32_t>(fasta->index_of(iv.chrom)), w.begin, w.end});
    d.names_.push_back(iv.name.empty() ? format("{}:{}-{}", iv.chrom, iv.start, iv.end) : iv.name);
  }
  d.fasta_ = std::move(fasta);
  d.labels_ = bed.targets;
  d.outputs_ = bed.target_names;
  const bool zero_one = std::all_of(d.labels_.begin(), d.labels_.end(),
                                    [](float v) { return v == 0.0f || v == 1.0f; });
  d.kind_ = d.outputs_.empty()       ? LabelKind::kRegression
            : !zero_one              ? LabelKind::kRegression
            : d.outputs_.size() == 1 ? LabelKind::kBinary
                                     : LabelKind::kMultiLabel;
  return d;
}

std::string Dataset::chromosome(int64_t i) const {
  const std::string& rec = record_names_[items_[i].record];
  if (!chrom_from_record_name_) return rec;
  const size_t colon = rec.rfind(':');
  return colon == std::string::npos ? rec : rec.substr(0, colon);
}

Dataset::Reader Dataset::reader() const {
  Reader r;
  r.dataset_ = this;
  if (fasta_) r.fasta_ = std::make_unique<IndexedFasta>(fasta_->reopen());
  return r;
}

void Dataset::Reader::read(int64_t i, uint8_t* codes, float* labels) const {
  const Dataset& d = *dataset_;
  STRAND_CHECK(i >= 0 && i < d.size(), "example {} is outside the dataset [0, {})", i, d.size());
  const Item& it = d.items_[i];
  if (codes) {
    if (fasta_) {
      fasta_->fetch_window(d.record_names_[it.record], it.begin, it.end, codes);
    } else {
      const int64_t len = d.record_lengths_[it.record];
      const uint8_t* src = d.memory_codes_.data() + d.memory_offsets_[it.record];
      for (int64_t p = it.begin, k = 0; p < it.end; ++p, ++k) {
        codes[k] = (p >= 0 && p < len) ? src[p] : kBaseUnknown;
      }
    }
  }
  if (labels) std::copy(d.labels(i), d.labels(i) + d.num_outputs(), labels);
}

Dataset Dataset::with_permuted_labels(const std::vector<int64_t>& rows, uint64_t seed) const {
  Dataset out = *this;
  const int64_t width = num_outputs();
  SplitMix64 rng(mix64(seed ^ 0x9e4a7a11ULL));
  for (int64_t k = static_cast<int64_t>(rows.size()) - 1; k > 0; --k) {
    const int64_t j = rng.below(k + 1);
    STRAND_CHECK(rows[k] >= 0 && rows[k] < size() && rows[j] >= 0 && rows[j] < size(),
                 "with_permuted_labels: row out of range (size {})", size());
    std::swap_ranges(out.labels_.begin() + rows[k] * width,
                     out.labels_.begin() + (rows[k] + 1) * width,
                     out.labels_.begin() + rows[j] * width);
  }
  return out;
}

}  // namespace strand::data
