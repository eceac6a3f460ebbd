// A YAML model file: read with its size limit, then the model built for an input of 64 bases and
// 3 outputs, and one forward pass on a batch of 2 (base codes, as the data loader gives).
#include "fuzz/fuzz_support.h"
#include "layers/model_file.h"
#include "runtime/tensor.h"

using namespace strand;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_file({reinterpret_cast<const char*>(data), size}, "in.yaml");
  return fuzz::run([&] {
    const std::string text = layers::read_model_file(path);
    auto model = layers::build_model_from_yaml(text, 64, 3, path);
    model->eval();
    model->forward(runtime::zeros({2, 64}, runtime::TensorOptions{.dtype = DType::kU8}));
  });
}
