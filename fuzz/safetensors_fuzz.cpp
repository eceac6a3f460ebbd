// A safetensors file as strand loads a shared model: the header (shapes, dtypes, offsets), then,
// unverified (STRAND_SKIP_CHECKSUM=1, so edited metadata reaches the parsers), the model, training
// config and privacy metadata, the model rebuilt from it and its weights loaded.
#include "fuzz/fuzz_support.h"
#include "rules/privacy_record.h"
#include "runtime/file_io.h"
#include "runtime/safetensors.h"
#include "train/checkpoint.h"
#include "train/config.h"

using namespace strand;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init();
  setenv("STRAND_SKIP_CHECKSUM", "1", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      fuzz::write_file({reinterpret_cast<const char*>(data), size}, "in.safetensors");
  return fuzz::run([&] {
    const runtime::SafetensorsFile file = runtime::load_safetensors(path);
    if (const auto it = file.metadata.find("strand.training"); it != file.metadata.end()) {
      fuzz::run([&] { train::config_from_json(runtime::parse_json(it->second, "training")); });
    }
    fuzz::run([&] { rules::read_privacy_record(file.metadata); });
    train::load_model(path);
  });
}
