// The autograd tape and engine (see autograd.h).
#include "runtime/autograd.h"

#include <atomic>
#include <queue>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "runtime/ops.h"

namespace strand::runtime {
namespace {

std::atomic<uint64_t> next_sequence_nr{0};
thread_local bool grad_mode = true;
thread_local std::vector<DeepLiftRecorder*> recorders;

// The node at a leaf that adds incoming gradients into its .grad and runs its grad hooks.
std::shared_ptr<Node> make_accumulator(const std::shared_ptr<TensorImpl>& leaf) {
  auto node =
      std::make_shared<Node>("accumulate_grad", 1, [leaf](Node&, const Grads& grads) -> Grads {
        const Tensor& g = grads[0];
        if (!g.defined()) return {};
        if (!leaf->grad) {
          leaf->grad = g.clone().impl_ptr();  // never alias a gradient another node may reuse
        } else {
          Tensor accumulated(leaf->grad);
          add_(accumulated, g);
        }
        const Tensor grad(leaf->grad);
        for (const auto& hook : leaf->grad_hooks) hook(grad);
        return {};
      });
  return node;
}

}  // namespace

Node::Node(std::string name, size_t num_outputs, BackwardFn backward)
    : name_(std::move(name)),
      sequence_nr_(next_sequence_nr++),
      num_outputs_(num_outputs),
      backward_(std::move(backward)),
      outputs_(num_outputs) {}

void Node::save(const std::string& name, const Tensor& t) {
  saved_.emplace_back(name, t.defined() ? t.detach() : Tensor());
}

const Tensor& Node::saved(const std::string& name) const {
  STRAND_CHECK(!released_,
               "backward through the graph a second time: node '{}' has freed its saved tensors; "
               "pass retain_graph=true to the first backward",
               name_);
  for (const auto& [key, value] : saved_) {
    if (key == name) return value;
  }
  STRAND_FAIL("node '{}' saved no tensor named '{}'", name_, name);
}

bool Node::has_saved(const std::string& name) const {
  for (const auto& [key, value] : saved_) {
    if (key == name) return true;
  }
  return false;
}

void Node::set_attr(const std::string& name, std::vector<int64_t> values) {
  attrs_[name] = std::move(values);
}

const std::vector<int64_t>& Node::attr(const std::string& name) const {
  const auto it = attrs_.find(name);
  STRAND_CHECK(it != attrs_.end(), "node '{}' has no attribute '{}'", name_, name);
  return it->second;
}

void Node::skip_input_grad(size_t i) {
  STRAND_CHECK(i < next_edges_.size(), "node '{}' has {} inputs, cannot skip input {}", name_,
               next_edges_.size(), i);
  if (skipped_.size() < next_edges_.size()) skipped_.resize(next_edges_.size(), false);
  skipped_[i] = true;
}

int Node::add_pre_hook(PreHook hook) {
  pre_hooks_.emplace_back(next_hook_id_, std::move(hook));
  return next_hook_id_++;
}

int Node::add_post_hook(PostHook hook) {
  post_hooks_.emplace_back(next_hook_id_, std::move(hook));
  return next_hook_id_++;
}

void Node::remove_hook(int id) {
  std::erase_if(pre_hooks_, [id](const auto& h) { return h.first == id; });
  std::erase_if(post_hooks_, [id](const auto& h) { return h.first == id; });
}

Grads Node::run_backward(Grads grad_outputs) {
  STRAND_CHECK(!released_,
               "backward through the graph a second time: node '{}' has freed its saved tensors; "
               "pass retain_graph=true to the first backward",
               name_);
  for (auto& [id, hook] : pre_hooks_) hook(*this, grad_outputs);
  Grads grad_inputs = backward_(*this, grad_outputs);
  for (auto& [id, hook] : post_hooks_) hook(*this, grad_inputs, grad_outputs);
  return grad_inputs;
}

Grads Node::run_deeplift(Node* reference, Grads grad_outputs) {
  if (deeplift_linear_) return run_backward(std::move(grad_outputs));
  STRAND_CHECK(deeplift_ != nullptr,
               "DeepLIFT: op '{}' has no DeepLIFT rule (attributions need a model in evaluation "
               "mode built from ops with rules: see runtime/ops)",
               name_);
  STRAND_CHECK(reference != nullptr && reference->name_ == name_,
               "DeepLIFT: op '{}' has no twin in the reference's forward pass (the reference built "
               "a different graph)",
               name_);
  STRAND_CHECK(!released_ && !reference->released_,
               "DeepLIFT through op '{}' a second time: its saved tensors are freed", name_);
  return deeplift_(*this, *reference, grad_outputs);
}

void Node::release() {
  saved_.clear();
  released_ = true;
}

bool grad_enabled() { return grad_mode; }

NoGradGuard::NoGradGuard() : previous_(grad_mode) { grad_mode = false; }
NoGradGuard::~NoGradGuard() { grad_mode = previous_; }

GradModeGuard::GradModeGuard(bool enabled) : previous_(grad_mode) { grad_mode = enabled; }
GradModeGuard::~GradModeGuard() { grad_mode = previous_; }

bool any_requires_grad(const std::vector<const Tensor*>& inputs) {
  if (!grad_mode) return false;
  for (const Tensor* t : inputs) {
    if (t && t->requires_grad()) return true;
  }
  return false;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  TensorImpl& impl = t.impl();
  if (impl.grad_fn) return {impl.grad_fn, impl.output_nr};
  std::shared_ptr<Node> acc = impl.accumulator.lock();
  if (!acc) {
    acc = make_accumulator(t.impl_ptr());
    acc->outputs_[0] = {t.shape(), t.dtype(), t.device()};
    impl.accumulator = acc;
  }
  return {acc, 0};
}

std::shared_ptr<Node> record_node(std::string name, const std::vector<const Tensor*>& inputs,
                                  size_t num_outputs, BackwardFn backward) {
  if (!any_requires_grad(inputs)) return nullptr;
  auto node = std::make_shared<Node>(std::move(name), num_outputs, std::move(backward));
  node->next_edges_.reserve(inputs.size());
  for (const Tensor* t : inputs) node->next_edges_.push_back(t ? gradient_edge(*t) : Edge{});
  if (!recorders.empty()) recorders.back()->nodes_.push_back(node);
  return node;
}

void set_outputs(const std::shared_ptr<Node>& node, const std::vector<Tensor*>& outputs) {
  if (!node) return;
  STRAND_CHECK(outputs.size() == node->num_outputs_, "node '{}' declared {} outputs, got {}",
               node->name_, node->num_outputs_, outputs.size());
  for (size_t k = 0; k < outputs.size(); ++k) {
    TensorImpl& impl = outputs[k]->impl();
    impl.grad_fn = node;
    impl.output_nr = static_cast<uint32_t>(k);
    impl.requires_grad = true;
    node->outputs_[k] = {impl.shape, impl.dtype, outputs[k]->device()};
  }
}

namespace {

struct Capture {
  Node* node;
  uint32_t input_nr;
};

// Runs the graph behind roots in reverse creation order. With captures, the gradients arriving at
// those (node, input) slots are returned instead of accumulated into leaves.
// With twins (DeepLIFT), each node runs its DeepLIFT rule with its twin instead of its backward.
std::vector<Tensor> run_engine(const std::vector<Tensor>& roots,
                               const std::vector<Tensor>& root_grads, bool retain_graph,
                               const std::vector<Capture>& captures,
                               const std::unordered_map<Node*, Node*>* twins = nullptr) {
  STRAND_CHECK(root_grads.empty() || root_grads.size() == roots.size(),
               "backward: {} roots but {} gradients", roots.size(), root_grads.size());
  std::unordered_map<Node*, Grads> buffers;
  std::vector<std::shared_ptr<Node>> start;

  auto accumulate = [&](Node* node, uint32_t input_nr, const Tensor& g) {
    Grads& slots = buffers[node];
    if (slots.empty()) slots.resize(node->num_outputs());
    const Node::OutputMeta& meta = node->outputs()[input_nr];
    STRAND_CHECK(g.shape() == meta.shape,
                 "backward: gradient of shape {} flowing into '{}' (output {}) of shape {}",
                 g.shape(), node->name(), input_nr, meta.shape);
    Tensor& slot = slots[input_nr];
    slot = slot.defined() ? add(slot, g) : g;
  };

  for (size_t r = 0; r < roots.size(); ++r) {
    const Tensor& root = roots[r];
    STRAND_CHECK(root.defined(), "backward: root {} is an undefined tensor", r);
    STRAND_CHECK(root.requires_grad(),
                 "backward: tensor of shape {} does not require grad and has no grad_fn (was it "
                 "computed under NoGradGuard, or from inputs that do not require grad?)",
                 root.shape());
    Tensor g = root_grads.empty() ? Tensor() : root_grads[r];
    if (!g.defined()) {
      STRAND_CHECK(root.numel() == 1,
                   "backward of a non-scalar tensor (shape {}) needs an explicit output gradient "
                   "of the same shape",
                   root.shape());
      g = ones_like(root);
    }
    STRAND_CHECK(g.shape() == root.shape() && g.device() == root.device(),
                 "backward: output gradient of shape {} on {} does not match the tensor's shape {} "
                 "on {}",
                 g.shape(), g.device().str(), root.shape(), root.device().str());
    const Edge edge = gradient_edge(root);
    accumulate(edge.node.get(), edge.input_nr, g);
    start.push_back(edge.node);
  }

  // Count, for each reachable node, the edges pointing at it.
  std::unordered_map<Node*, int> dependencies;
  std::unordered_map<Node*, std::shared_ptr<Node>> keep_alive;
  {
    std::vector<Node*> stack;
    std::unordered_set<Node*> seen;
    for (const auto& n : start) {
      if (seen.insert(n.get()).second) stack.push_back(n.get()), keep_alive[n.get()] = n;
    }
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      STRAND_CHECK(!n->released(),
                   "backward through the graph a second time: node '{}' has freed its saved "
                   "tensors; pass retain_graph=true to the first backward",
                   n->name());
      for (const Edge& e : n->next_edges()) {
        if (!e.node) continue;
        ++dependencies[e.node.get()];
        if (seen.insert(e.node.get()).second) {
          stack.push_back(e.node.get());
          keep_alive[e.node.get()] = e.node;
        }
      }
    }
  }

  std::vector<Tensor> captured(captures.size());
  const bool capture_mode = !captures.empty();
  auto later_first = [](Node* a, Node* b) { return a->sequence_nr() < b->sequence_nr(); };
  std::priority_queue<Node*, std::vector<Node*>, decltype(later_first)> ready(later_first);
  for (const auto& n : start) {
    if (dependencies[n.get()] == 0) {
      dependencies[n.get()] = -1;  // queued
      ready.push(n.get());
    }
  }

  NoGradGuard no_grad;  // backward formulas are not themselves recorded
  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    Grads grads = std::move(buffers[node]);
    buffers.erase(node);
    grads.resize(node->num_outputs());

    for (size_t c = 0; c < captures.size(); ++c) {
      if (captures[c].node == node && grads[captures[c].input_nr].defined()) {
        captured[c] = grads[captures[c].input_nr];
      }
    }
    const bool is_accumulator = node->next_edges().empty() && node->name() == "accumulate_grad";
    bool any_defined = false;
    for (const Tensor& g : grads) any_defined = any_defined || g.defined();

    Grads grad_inputs;
    if (any_defined && !(capture_mode && is_accumulator)) {
      for (size_t k = 0; k < grads.size(); ++k) {
        if (!grads[k].defined()) {
          const auto& meta = node->outputs()[k];
          grads[k] = zeros(meta.shape, {.dtype = meta.dtype, .device = meta.device});
        }
      }
      if (twins) {
        const auto twin = twins->find(node);
        grad_inputs =
            node->run_deeplift(twin == twins->end() ? nullptr : twin->second, std::move(grads));
      } else {
        grad_inputs = node->run_backward(std::move(grads));
      }
      STRAND_CHECK(grad_inputs.size() == node->next_edges().size() || grad_inputs.empty(),
                   "node '{}' returned {} gradients for {} inputs", node->name(),
                   grad_inputs.size(), node->next_edges().size());
    }
    for (size_t i = 0; i < node->next_edges().size(); ++i) {
      const Edge& e = node->next_edges()[i];
      if (!e.node) continue;
      if (i < grad_inputs.size() && grad_inputs[i].defined() && node->needs_input_grad(i)) {
        accumulate(e.node.get(), e.input_nr, grad_inputs[i]);
      }
      if (--dependencies[e.node.get()] == 0) ready.push(e.node.get());
    }
    if (!retain_graph) node->release();
  }
  return captured;
}

}  // namespace

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_grads,
              bool retain_graph) {
  run_engine(roots, root_grads, retain_graph, {});
}

namespace {

std::vector<Tensor> grad_impl(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                              const std::vector<Tensor>& output_grads, bool retain_graph,
                              const std::unordered_map<Node*, Node*>* twins) {
  std::vector<Capture> captures;
  for (size_t i = 0; i < inputs.size(); ++i) {
    STRAND_CHECK(inputs[i].requires_grad(), "grad: input {} does not require grad", i);
    const Edge e = gradient_edge(inputs[i]);
    captures.push_back({e.node.get(), e.input_nr});
  }
  std::vector<Tensor> result = run_engine(outputs, output_grads, retain_graph, captures, twins);
  for (size_t i = 0; i < result.size(); ++i) {
    if (!result[i].defined()) result[i] = zeros_like(inputs[i]);  // input does not affect outputs
  }
  return result;
}

}  // namespace

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& output_grads, bool retain_graph) {
  return grad_impl(outputs, inputs, output_grads, retain_graph, nullptr);
}

DeepLiftRecorder::DeepLiftRecorder() { recorders.push_back(this); }

DeepLiftRecorder::~DeepLiftRecorder() { stop(); }

void DeepLiftRecorder::stop() {
  if (!active_) return;
  active_ = false;
  std::erase(recorders, this);
}

bool deeplift_saving() { return !recorders.empty(); }

std::vector<Tensor> deeplift_grad(const std::vector<Tensor>& outputs,
                                  const std::vector<Tensor>& inputs,
                                  const std::vector<Tensor>& output_grads,
                                  const DeepLiftRecorder& actual, const DeepLiftRecorder& reference,
                                  bool retain_graph) {
  const auto& a = actual.nodes();
  const auto& r = reference.nodes();
  STRAND_CHECK(a.size() == r.size(),
               "DeepLIFT: the input's forward pass recorded {} ops, the reference's {} (the model "
               "must run the same ops on both)",
               a.size(), r.size());
  std::unordered_map<Node*, Node*> twins;
  for (size_t k = 0; k < a.size(); ++k) {
    STRAND_CHECK(a[k]->name() == r[k]->name(),
                 "DeepLIFT: op {} of the input's forward pass is '{}', of the reference's '{}'", k,
                 a[k]->name(), r[k]->name());
    twins[a[k].get()] = r[k].get();
  }
  return grad_impl(outputs, inputs, output_grads, retain_graph, &twins);
}

std::string graph_to_string(const Tensor& root) {
  std::ostringstream os;
  if (!root.grad_fn()) {
    os << (root.requires_grad() ? "leaf (requires grad)\n" : "no graph\n");
    return os.str();
  }
  std::unordered_set<Node*> seen;
  std::vector<std::pair<Node*, int>> stack{{root.grad_fn().get(), 0}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    os << std::string(2 * depth, ' ') << node->name() << " #" << node->sequence_nr();
    for (const auto& [name, t] : node->saved_tensors()) {
      os << " " << name << "=" << (t.defined() ? shape_str(t.shape()) : "-");
    }
    for (const auto& [name, values] : node->attrs())
      os << " " << name << "=" << format("{}", values);
    if (!seen.insert(node).second) {
      os << " (shared)\n";
      continue;
    }
    os << "\n";
    const auto& edges = node->next_edges();
    for (auto it = edges.rbegin(); it != edges.rend(); ++it) {
      if (it->node) stack.push_back({it->node.get(), depth + 1});
    }
  }
  return os.str();
}

}  // namespace strand::runtime
