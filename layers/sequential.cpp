// Sequential container (see sequential.h).
#include "layers/sequential.h"

#include "kernels/error.h"

namespace strand::layers {

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) : Module("Sequential") {
  for (auto& m : modules) add(std::move(m));
}

Sequential& Sequential::add(std::shared_ptr<Module> module) {
  STRAND_CHECK(module != nullptr, "Sequential: module {} is null", modules_.size());
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor out = x;
  for (size_t i = 0; i < modules_.size(); ++i) {
    try {
      out = modules_[i]->forward(out);
    } catch (const Error& e) {
      // Say which layer failed: shape errors deep in a model are otherwise hard to place.
      throw Error(format("layer {} ({}): {}", i, modules_[i]->type_name(), e.message()), e.where());
    }
  }
  return out;
}

}  // namespace strand::layers
