// Module: the base of every layer and model. It owns named parameters and buffers and child
// modules, with PyTorch's state_dict names ("features.0.weight") and layouts, so weights move
// between strand and PyTorch unchanged; train/eval mode; moves between devices.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/tensor.h"

namespace strand::layers {

using runtime::Device;
using runtime::Tensor;

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  const std::string& type_name() const { return type_name_; }
  // Recursive, in registration order, with dotted names.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  std::vector<std::pair<std::string, Module*>> named_modules();  // this one first, as ""
  // Parameters then buffers of each module, as PyTorch's state_dict orders them.
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  // Copies values in (converting dtype, keeping this module's device). strict: every key must
  // match; the error lists missing and unexpected keys and any shape mismatch.
  void load_state_dict(const std::vector<std::pair<std::string, Tensor>>& state,
                       bool strict = true);
  int64_t parameter_count() const;

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Moves every parameter and buffer (parameters stay leaves that require grad).
  void to(const Device& device);
  // Converts every floating parameter and buffer (f64 models serve gradient checks).
  void to(DType dtype);
  Device device() const;
  // One line per module with its parameter shapes: a readable summary.
  std::string to_string() const;

 protected:
  // Registers a member tensor (its address must stay valid: modules are not moved).
  void register_parameter(const std::string& name, Tensor* tensor);
  void register_buffer(const std::string& name, Tensor* tensor);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    children_.emplace_back(name, module);
    return module;
  }
  // Extra text for to_string ("in=4, out=3").
  virtual std::string extra_repr() const { return ""; }

 private:
  void collect(const std::string& prefix, bool parameters,
               std::vector<std::pair<std::string, Tensor>>& out) const;
  std::string type_name_;
  std::vector<std::pair<std::string, Tensor*>> parameters_;
  std::vector<std::pair<std::string, Tensor*>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace strand::layers
