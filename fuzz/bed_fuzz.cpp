// BED reader, checked against a small reference, and the windows centred on each interval.
#include <vector>

#include "data/bed.h"
#include "fuzz/fuzz_support.h"

using namespace strand;

namespace {
const data::IndexedFasta& reference() {
  static const data::IndexedFasta ref = [] {
    const std::string path = fuzz::write_file(">chr1\nACGTACGTAC\nGT\n>chr2\nTTTTGGGG\n", "ref.fa");
    return data::IndexedFasta(path);
  }();
  return ref;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_file({reinterpret_cast<const char*>(data), size}, "in.bed");
  return fuzz::run([&] {
    const data::BedFile bed = data::read_bed(path);
    data::check_against_reference(bed, reference());
    std::vector<uint8_t> codes(16);
    for (const data::BedInterval& interval : bed.intervals) {
      const data::Window w = data::centred_window(interval, 16);
      reference().fetch_window(interval.chrom, w.begin, w.end, codes.data());
    }
  });
}
