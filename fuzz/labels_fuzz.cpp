// Labels TSV reader: the kind inferred (auto) and each forced kind.
#include "data/labels.h"
#include "fuzz/fuzz_support.h"

using namespace strand;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the kind, the rest is the file.
  const data::LabelKind kinds[] = {data::LabelKind::kAuto, data::LabelKind::kBinary,
                                   data::LabelKind::kMultiLabel, data::LabelKind::kMultiClass,
                                   data::LabelKind::kRegression};
  const data::LabelKind kind = kinds[data[0] % 5];
  const std::string path =
      fuzz::write_file({reinterpret_cast<const char*>(data) + 1, size - 1}, "labels.tsv");
  return fuzz::run([&] {
    const data::LabelTable t = data::read_labels(path, kind);
    for (int64_t i = 0; i < t.num_rows(); ++i) t.find(t.names[i]);
  });
}
