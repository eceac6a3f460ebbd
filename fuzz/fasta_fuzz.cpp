// FASTA reader, faidx index building and windows; with a "\n#FAI\n" line in the input, the text
// after it is used as an existing .fai index of the text before it (stale, truncated or hostile).
#include <string_view>
#include <vector>

#include "data/fasta.h"
#include "fuzz/fuzz_support.h"

using namespace strand;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find("\n#FAI\n");
  const std::string fasta = fuzz::write_file(input.substr(0, split), "in.fa");
  std::filesystem::remove(fasta + ".fai");
  return fuzz::run([&] {
    if (split == std::string_view::npos) {
      data::FastaReader reader(fasta);
      data::FastaRecord record;
      while (reader.next(record)) {
      }
    } else {
      fuzz::write_file(input.substr(split + 6), "in.fa.fai");
    }
    const auto creation = split == std::string_view::npos ? data::IndexCreation::kCreateIfMissing
                                                          : data::IndexCreation::kRequireExisting;
    data::IndexedFasta indexed(fasta, creation);
    std::vector<uint8_t> codes(64);
    for (const std::string& name : indexed.names()) {
      const int64_t n = indexed.length(name);
      indexed.fetch(name, 0, std::min<int64_t>(n, 64));
      indexed.fetch_window(name, n - 32, n + 32, codes.data());
    }
  });
}
