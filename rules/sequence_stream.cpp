// FASTA records read again per pass instead of held; see sequence_stream.h.
#include "rules/sequence_stream.h"

#include <algorithm>

#include "core/checked.h"
#include "core/error.h"
#include "data/fasta.h"

namespace strand::rules {

void MemorySequences::for_each(const Visit& visit) const {
  for (size_t i = 0; i < seqs_.size(); ++i) visit(static_cast<int64_t>(i), seqs_[i]);
}

FastaFiles::FastaFiles(std::vector<std::string> paths) : paths_(std::move(paths)) {
  // Only the names are kept; checked as they grow, like every per-record statistic.
  const uint64_t available = available_memory_bytes();
  uint64_t held = 0;
  data::FastaRecord r;
  for (size_t f = 0; f < paths_.size(); ++f) {
    data::FastaReader reader(paths_[f]);
    while (reader.next(r)) {
      held += r.name.size() + sizeof(std::string) + sizeof(int);
      if (held + r.sequence.size() > available)
        check_memory(held + r.sequence.size(),
                     format("reading '{}' ({} records so far)", paths_[f], names_.size() + 1));
      names_.push_back(std::move(r.name));
      file_of_.push_back(static_cast<int>(f));
    }
  }
}

void FastaFiles::for_each(const Visit& visit) const {
  data::FastaRecord r;
  int64_t row = 0;
  for (const auto& path : paths_) {
    data::FastaReader reader(path);
    while (reader.next(r)) {
      STRAND_CHECK(row < size() && r.name == names_[row],
                   "'{}' changed while it was being checked (record {} is now '{}')", path, row + 1,
                   r.name);
      visit(row++, r.sequence);
    }
  }
  STRAND_CHECK(row == size(),
               "the FASTA files changed while they were being checked ({} of {} "
               "records found)",
               row, size());
}

LabelledFasta::LabelledFasta(std::string path, const data::LabelTable& labels)
    : path_(std::move(path)), labels_path_(labels.path), names_(labels.names) {
  for (size_t i = 0; i < names_.size(); ++i) row_of_[names_[i]] = static_cast<int64_t>(i);
}

void LabelledFasta::for_each(const Visit& visit) const {
  data::FastaReader reader(path_);  // checks that names are unique
  data::FastaRecord r;
  std::vector<char> seen(names_.size(), 0);
  std::vector<std::string> unlabeled;
  int64_t unlabeled_count = 0;
  while (reader.next(r)) {
    const auto it = row_of_.find(r.name);
    if (it == row_of_.end()) {
      if (unlabeled.size() < 5) unlabeled.push_back(r.name);
      ++unlabeled_count;
      continue;
    }
    seen[it->second] = 1;
    visit(it->second, r.sequence);
  }
  std::vector<std::string> unknown;
  for (size_t i = 0; i < names_.size(); ++i)
    if (!seen[i]) unknown.push_back(names_[i]);
  STRAND_CHECK(unknown.empty(), "'{}' has labels for {} name(s) not in '{}': {}", labels_path_,
               unknown.size(), path_, data::first_few(unknown));
  STRAND_CHECK(unlabeled.empty(), "{} sequence(s) in '{}' have no label in '{}': {}",
               unlabeled_count, path_, labels_path_, data::first_few(unlabeled));
}

}  // namespace strand::rules
