// Reverse-mode automatic differentiation. Every differentiable op that sees an input requiring a
// gradient records a Node: its backward function, the edges to the nodes of its inputs, the
// tensors it saved (by name) and a few named integer attributes (stride, padding, ...). Hooks see
// all of that and the incoming output gradients, so per-sample gradient norms (DP-SGD), saliency
// and bucketed all-reduce attach to any layer without changing an op.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/tensor.h"

namespace strand::runtime {

class Node;
class PerExampleRule;  // runtime/per_example.h

// Where a gradient goes: input `input_nr` of `node` (null node: the input needs no gradient).
struct Edge {
  std::shared_ptr<Node> node;
  uint32_t input_nr = 0;
};

using Grads = std::vector<Tensor>;  // undefined entries mean zero
using BackwardFn = std::function<Grads(Node& node, const Grads& grad_outputs)>;
// Before backward: may inspect or replace the incoming output gradients.
using PreHook = std::function<void(Node& node, Grads& grad_outputs)>;
// After backward: sees the gradients the node computed for its inputs, and may replace them.
using PostHook = std::function<void(Node& node, Grads& grad_inputs, const Grads& grad_outputs)>;
// DeepLIFT (deeplift_grad below) backpropagates multipliers instead of gradients. An op's rule,
// written beside its backward, maps the output multipliers to input multipliers from its own saved
// state and its twin's: the same op in the reference's forward pass.
using DeepLiftFn = std::function<Grads(Node& node, Node& reference, const Grads& grad_outputs)>;

class Node {
 public:
  Node(std::string name, size_t num_outputs, BackwardFn backward);
  virtual ~Node() = default;

  const std::string& name() const { return name_; }
  uint64_t sequence_nr() const { return sequence_nr_; }  // creation order
  size_t num_outputs() const { return num_outputs_; }
  const std::vector<Edge>& next_edges() const { return next_edges_; }
  // Whether input i needs a gradient (ops may skip computing the others).
  bool needs_input_grad(size_t i) const {
    return i < next_edges_.size() && next_edges_[i].node && !(i < skipped_.size() && skipped_[i]);
  }
  // Makes needs_input_grad(i) false, so backward skips that gradient and nothing flows along the
  // edge (DP-SGD computes clipped parameter gradients itself, from the hooks). Results for the
  // other inputs are unchanged.
  void skip_input_grad(size_t i);

  // Saved tensors, kept detached (no reference back into the graph), released after backward.
  void save(const std::string& name, const Tensor& t);
  const Tensor& saved(const std::string& name) const;
  bool has_saved(const std::string& name) const;
  const std::vector<std::pair<std::string, Tensor>>& saved_tensors() const { return saved_; }
  void set_attr(const std::string& name, std::vector<int64_t> values);
  const std::vector<int64_t>& attr(const std::string& name) const;
  const std::map<std::string, std::vector<int64_t>>& attrs() const { return attrs_; }

  // How DeepLIFT treats this op: linear ops (the gradient is the multiplier) say so; nonlinear ops
  // give a rule; an op that states neither is refused by deeplift_grad.
  void set_deeplift_linear() { deeplift_linear_ = true; }
  void set_deeplift(DeepLiftFn rule) { deeplift_ = std::move(rule); }
  // The op's per-example rule for DP-SGD (runtime/per_example.h), set beside its backward; null
  // for an op that takes no parameters under DP-SGD.
  void set_per_example(std::shared_ptr<const PerExampleRule> rule) {
    per_example_ = std::move(rule);
  }
  const PerExampleRule* per_example() const { return per_example_.get(); }

  int add_pre_hook(PreHook hook);
  int add_post_hook(PostHook hook);
  void remove_hook(int id);

  // Shape, dtype and device of each output, recorded by set_outputs: the engine checks gradients
  // against them and stands in zeros for outputs that received none.
  struct OutputMeta {
    Shape shape;
    DType dtype = DType::kF32;
    Device device;
  };
  const std::vector<OutputMeta>& outputs() const { return outputs_; }

  // Runs hooks and the backward function (the engine calls this).
  Grads run_backward(Grads grad_outputs);
  // Runs the DeepLIFT rule (or the backward of a linear op); reference is the twin node, or null.
  Grads run_deeplift(Node* reference, Grads grad_outputs);
  void release();  // drops saved tensors; a second backward then raises an error
  bool released() const { return released_; }

 private:
  friend std::shared_ptr<Node> record_node(std::string, const std::vector<const Tensor*>&, size_t,
                                           BackwardFn);
  friend void set_outputs(const std::shared_ptr<Node>&, const std::vector<Tensor*>&);
  friend Edge gradient_edge(const Tensor& t);
  std::string name_;
  uint64_t sequence_nr_;
  size_t num_outputs_;
  BackwardFn backward_;
  DeepLiftFn deeplift_;
  bool deeplift_linear_ = false;
  std::shared_ptr<const PerExampleRule> per_example_;
  std::vector<Edge> next_edges_;
  std::vector<bool> skipped_;
  std::vector<OutputMeta> outputs_;
  std::vector<std::pair<std::string, Tensor>> saved_;
  std::map<std::string, std::vector<int64_t>> attrs_;
  std::vector<std::pair<int, PreHook>> pre_hooks_;
  std::vector<std::pair<int, PostHook>> post_hooks_;
  int next_hook_id_ = 0;
  bool released_ = false;
};

// Gradient recording is on unless a NoGradGuard is alive on this thread.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Sets gradient recording on or off for its lifetime (a DeepLIFT rule that records a sub-graph
// inside the engine, which runs under NoGradGuard).
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled);
  ~GradModeGuard();
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

// True when an op over these inputs must record a node.
bool any_requires_grad(const std::vector<const Tensor*>& inputs);

// Records a node for an op whose inputs are `inputs` (edges follow their order), or returns null
// when no gradient is needed. The op then saves what its backward needs and calls set_outputs.
std::shared_ptr<Node> record_node(std::string name, const std::vector<const Tensor*>& inputs,
                                  size_t num_outputs, BackwardFn backward);
// The edge a gradient for t follows: its producing node, or its leaf accumulator, or none.
Edge gradient_edge(const Tensor& t);

// Makes `outputs` the outputs of node (in order); they then require grad.
void set_outputs(const std::shared_ptr<Node>& node, const std::vector<Tensor*>& outputs);

// The engine: backpropagates from roots (with their gradients; undefined = ones for a scalar).
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_grads,
              bool retain_graph = false);

// Gradients of outputs with respect to inputs, returned rather than accumulated into .grad.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& output_grads = {}, bool retain_graph = false);

// Collects, while alive, the nodes recorded on this thread in creation order (the innermost live
// recorder gets them), and makes ops also save what their DeepLIFT rules read (deeplift_saving()).
class DeepLiftRecorder {
 public:
  DeepLiftRecorder();
  ~DeepLiftRecorder();
  DeepLiftRecorder(const DeepLiftRecorder&) = delete;
  DeepLiftRecorder& operator=(const DeepLiftRecorder&) = delete;
  void stop();  // stops collecting (the nodes stay)
  const std::vector<std::shared_ptr<Node>>& nodes() const { return nodes_; }

 private:
  friend std::shared_ptr<Node> record_node(std::string, const std::vector<const Tensor*>&, size_t,
                                           BackwardFn);
  std::vector<std::shared_ptr<Node>> nodes_;
  bool active_ = true;
};
// True while a DeepLiftRecorder collects on this thread.
bool deeplift_saving();

// DeepLIFT multipliers of outputs with respect to inputs (grad() with each node's DeepLIFT rule).
// `actual` recorded the forward pass that made outputs, `reference` the same computation on the
// references; node k of one is paired with node k of the other, so both must build the same graph.
std::vector<Tensor> deeplift_grad(const std::vector<Tensor>& outputs,
                                  const std::vector<Tensor>& inputs,
                                  const std::vector<Tensor>& output_grads,
                                  const DeepLiftRecorder& actual, const DeepLiftRecorder& reference,
                                  bool retain_graph = false);

// The graph behind a tensor, one node per line (name, saved tensors, attributes), for debugging.
std::string graph_to_string(const Tensor& root);

}  // namespace strand::runtime
