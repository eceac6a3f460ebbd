// Module bookkeeping: names, state_dict, modes, devices (see module.h).
#include "layers/module.h"

#include <functional>
#include <set>
#include <sstream>

#include "core/error.h"
#include "runtime/autograd.h"

namespace strand::layers {

void Module::register_parameter(const std::string& name, Tensor* tensor) {
  STRAND_CHECK(tensor && tensor->defined(), "{}: parameter '{}' is undefined", type_name_, name);
  if (!tensor->requires_grad()) tensor->set_requires_grad(true);
  parameters_.emplace_back(name, tensor);
}

void Module::register_buffer(const std::string& name, Tensor* tensor) {
  STRAND_CHECK(tensor && tensor->defined(), "{}: buffer '{}' is undefined", type_name_, name);
  buffers_.emplace_back(name, tensor);
}

void Module::collect(const std::string& prefix, bool parameters,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, t] : parameters ? parameters_ : buffers_)
    out.emplace_back(prefix + name, *t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", parameters, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", false, out);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (auto& [name, child] : children_) {
    for (auto& [sub, m] : child->named_modules())
      out.emplace_back(sub.empty() ? name : name + "." + sub, m);
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::state_dict() const {
  // PyTorch orders each module's own parameters, then its buffers, then its children.
  std::vector<std::pair<std::string, Tensor>> out;
  std::function<void(const Module*, const std::string&)> visit = [&](const Module* m,
                                                                     const std::string& prefix) {
    for (const auto& [name, t] : m->parameters_) out.emplace_back(prefix + name, *t);
    for (const auto& [name, t] : m->buffers_) out.emplace_back(prefix + name, *t);
    for (const auto& [name, child] : m->children_) visit(child.get(), prefix + name + ".");
  };
  visit(this, "");
  return out;
}

void Module::load_state_dict(const std::vector<std::pair<std::string, Tensor>>& state,
                             bool strict) {
  std::map<std::string, Tensor> given(state.begin(), state.end());
  std::vector<std::string> missing, mismatched;
  std::set<std::string> used;
  std::vector<std::pair<std::string, Tensor*>> targets;
  std::function<void(Module*, const std::string&)> visit = [&](Module* m,
                                                               const std::string& prefix) {
    for (auto& [name, t] : m->parameters_) targets.emplace_back(prefix + name, t);
    for (auto& [name, t] : m->buffers_) targets.emplace_back(prefix + name, t);
    for (auto& [name, child] : m->children_) visit(child.get(), prefix + name + ".");
  };
  visit(this, "");
  for (auto& [name, target] : targets) {
    const auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
      continue;
    }
    used.insert(name);
    if (it->second.shape() != target->shape()) {
      mismatched.push_back(
          format("{} (checkpoint {}, model {})", name, it->second.shape(), target->shape()));
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, t] : given) {
    if (!used.count(name)) unexpected.push_back(name);
  }
  STRAND_CHECK(mismatched.empty(), "load_state_dict into {}: shape mismatch for {}", type_name_,
               mismatched);
  STRAND_CHECK(!strict || (missing.empty() && unexpected.empty()),
               "load_state_dict into {}: missing keys {}, unexpected keys {}", type_name_, missing,
               unexpected);
  runtime::NoGradGuard no_grad;
  for (auto& [name, target] : targets) {
    const auto it = given.find(name);
    if (it != given.end()) target->copy_(it->second);
  }
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::to(const Device& device) {
  for (auto& [name, t] : parameters_) {
    if (t->device() == device) continue;
    *t = t->detach().to(device).set_requires_grad(true);
  }
  for (auto& [name, t] : buffers_) {
    if (!(t->device() == device)) *t = t->detach().to(device);
  }
  for (auto& [name, child] : children_) child->to(device);
}

void Module::to(DType dtype) {
  for (auto& [name, t] : parameters_) {
    if (t->dtype() != dtype) *t = t->detach().to(dtype).set_requires_grad(true);
  }
  for (auto& [name, t] : buffers_) {
    if (is_floating(t->dtype()) && t->dtype() != dtype) *t = t->detach().to(dtype);
  }
  for (auto& [name, child] : children_) child->to(dtype);
}

Device Module::device() const {
  const auto params = named_parameters();
  return params.empty() ? Device::cpu() : params.front().second.device();
}

std::string Module::to_string() const {
  std::ostringstream os;
  std::function<void(const Module*, const std::string&, int)> visit =
      [&](const Module* m, const std::string& name, int depth) {
        os << std::string(2 * depth, ' ') << (name.empty() ? "" : "(" + name + "): ")
           << m->type_name_ << "(" << m->extra_repr() << ")\n";
        for (const auto& [child_name, child] : m->children_)
          visit(child.get(), child_name, depth + 1);
      };
  visit(this, "", 0);
  return os.str();
}

}  // namespace strand::layers
