// `strand train --config FILE`: the JSON file read with its limits, then the training config.
#include "fuzz/fuzz_support.h"
#include "runtime/file_io.h"
#include "train/config.h"

using namespace strand;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_file({reinterpret_cast<const char*>(data), size}, "in.json");
  return fuzz::run([&] {
    const train::TrainConfig c =
        train::config_from_json(runtime::read_json_file(path, "config file"));
    train::validate(c);
    train::to_json(c).dump();
  });
}
