// The VCF reader (htslib's parser under strand's checks), in chunks of 3 records.
#include <vector>

#include "fuzz/fuzz_support.h"
#include "interpret/variants.h"

using namespace strand;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_file({reinterpret_cast<const char*>(data), size}, "in.vcf");
  return fuzz::run([&] {
    interpret::VcfReader reader(path);
    std::vector<interpret::Variant> variants;
    while (reader.next_chunk(3, variants)) {
    }
  });
}
