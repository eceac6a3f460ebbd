// YAML model files (see model_file.h): parse with yaml-cpp, check every key against the layer's
// list, and track the activation shape layer by layer so each layer's input size is inferred.
#include "layers/model_file.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/suggest.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/linear.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "layers/reshape.h"
#include "layers/rnn.h"

namespace strand::layers {
namespace {

// The keys each layer accepts (see model_file.h).
const std::map<std::string, std::vector<std::string>>& layer_keys() {
  static const std::map<std::string, std::vector<std::string>> k = {
      {"conv1d", {"out", "kernel", "stride", "padding", "dilation", "groups", "bias"}},
      {"maxpool1d", {"kernel", "stride", "padding"}},
      {"avgpool1d", {"kernel", "stride", "padding"}},
      {"batchnorm1d", {"eps", "momentum"}},
      {"layernorm", {"eps"}},
      {"groupnorm", {"groups", "eps"}},
      {"dropout", {"p"}},
      {"relu", {}},
      {"sigmoid", {}},
      {"tanh", {}},
      {"gelu", {}},
      {"softplus", {}},
      {"flatten", {}},
      {"lstm", {"hidden", "layers", "bidirectional", "dropout"}},
      {"gru", {"hidden", "layers", "bidirectional", "dropout"}},
      {"linear", {"out", "bias"}}};
  return k;
}

const std::map<std::string, std::string>& activations() {
  static const std::map<std::string, std::string> a = {{"relu", "ReLU"},
                                                       {"sigmoid", "Sigmoid"},
                                                       {"tanh", "Tanh"},
                                                       {"gelu", "GELU"},
                                                       {"softplus", "Softplus"}};
  return a;
}

const std::vector<std::string> kTopKeys = {"name", "description", "layers"};

int line_of(const YAML::Node& n) { return n.Mark().line + 1; }

// A map key as text; a key that is itself a list or map (YAML allows it) is an error here, not a
// yaml-cpp conversion exception (a finding of the model file fuzz harness).
std::string key_name(const YAML::Node& key, const std::string& source) {
  STRAND_CHECK(key.IsScalar(), "{} line {}: a key must be a name, not a list or map", source,
               line_of(key));
  return key.Scalar();
}

// yaml-cpp parses nested collections recursively: a hostile file of 100k '[' (or "- - - ...")
// would overflow the stack. Nesting is bounded before parsing by an upper bound on the depth:
// open flow brackets, plus on each line the indentation and the block indicators ("- ", "? ",
// ": ") that can each open a level. Real model files stay far below the limit. Control bytes
// (binary junk) are refused here too: yaml-cpp would quote them into its messages.
void check_nesting(std::string_view text, const std::string& source) {
  constexpr int kMaxDepth = 64;
  int flow = 0, line = 1;
  size_t at = 0;
  while (at <= text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view l = text.substr(at, end - at);
    int block = 0;
    while (block < static_cast<int>(l.size()) && (l[block] == ' ' || l[block] == '\t')) ++block;
    bool quoted = false;
    char quote = 0;
    for (size_t i = 0; i < l.size(); ++i) {
      const char c = l[i];
      const auto byte = static_cast<unsigned char>(c);
      STRAND_CHECK((byte >= 0x20 && byte != 0x7f) || c == '\t' || c == '\r',
                   "{} line {}: byte {} (a control character) is not text: not a model file",
                   source, line, static_cast<int>(byte));
      if (quoted) {
        if (c == quote) quoted = false;
        continue;
      }
      if (c == '#' && (i == 0 || l[i - 1] == ' ')) break;  // a comment
      if (c == '"' || c == '\'') {
        quoted = true;
        quote = c;
      } else if (c == '[' || c == '{') {
        ++flow;
      } else if ((c == ']' || c == '}') && flow > 0) {
        --flow;
      } else if (flow == 0 && (c == '-' || c == '?' || c == ':') &&
                 (i + 1 == l.size() || l[i + 1] == ' ')) {
        ++block;
      }
      STRAND_CHECK(flow + block <= kMaxDepth,
                   "{} line {}: nested more than {} levels deep: not a model file", source, line,
                   kMaxDepth);
    }
    at = end + 1;
    ++line;
  }
}

// The activation between layers: [N, C, L] (convolutions), [N, L, C] (recurrent layers, batch
// first) or [N, F] (after flatten).
struct Activity {
  enum Layout { kNCL, kNLC, kNF } layout = kNCL;
  int64_t channels = 4, length = 0;  // kNF: channels = features
  int64_t last() const { return layout == kNCL ? length : channels; }
  std::string str() const {
    if (layout == kNCL) return format("[N, {}, {}] (N, channels, length)", channels, length);
    if (layout == kNLC) return format("[N, {}, {}] (N, length, features)", length, channels);
    return format("[N, {}]", channels);
  }
};

// One layer's keys: each is checked against the layer's list and read with its type.
class LayerArgs {
 public:
  LayerArgs(const std::string& source, const std::string& layer, const YAML::Node& node, int line,
            int64_t outputs)
      : source_(source), layer_(layer), node_(node), line_(line), outputs_(outputs) {
    const auto& valid = layer_keys().at(layer);
    if (!node_ || node_.IsNull()) return;
    if (!node_.IsMap()) fail(line_, "its keys must be a map, e.g. {key: value}");
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      const std::string key = key_name(it->first, source_);
      if (std::find(valid.begin(), valid.end(), key) != valid.end()) continue;
      if (valid.empty())
        fail(line_of(it->first), format("unknown key '{}': {} takes no keys", key, layer_));
      fail(line_of(it->first),
           format("unknown key '{}'{}; {} takes {}", key, did_you_mean(key, valid), layer_, valid));
    }
  }

  [[noreturn]] void fail(int line, const std::string& message) const {
    STRAND_FAIL("{} line {}: {}: {}", source_, line, layer_, message);
  }
  [[noreturn]] void fail(const std::string& message) const { fail(line_, message); }

  bool has(const char* key) const { return node_ && node_.IsMap() && node_[key]; }

  // A positive integer, or "outputs" (the task's number of outputs) where allowed.
  int64_t integer(const char* key, int64_t fallback, bool required = false,
                  int64_t minimum = 1) const {
    if (!has(key)) {
      if (required) fail(format("needs '{}'", key));
      return fallback;
    }
    const YAML::Node v = node_[key];
    const std::string text = v.IsScalar() ? v.Scalar() : std::string("(not a number)");
    int64_t value = 0;
    if (text == "outputs") {
      value = outputs_;
    } else {
      try {
        size_t used = 0;
        value = std::stoll(text, &used);
        if (used != text.size()) throw std::invalid_argument(text);
      } catch (const std::exception&) {
        fail(line_of(v), format("'{}' must be an integer or 'outputs', got '{}'", key, text));
      }
    }
    if (value < minimum)
      fail(line_of(v), format("'{}' must be at least {}, got {}", key, minimum, value));
    // Far beyond any real model, and small enough that no product of sizes can overflow.
    constexpr int64_t kMaximum = int64_t{1} << 24;
    if (value > kMaximum)
      fail(line_of(v), format("'{}' must be at most {}, got {}", key, kMaximum, value));
    return value;
  }

  // A YAML scalar read as T (number, boolean); `expected` says what in the error.
  template <typename T>
  T scalar(const char* key, T fallback, const char* expected) const {
    if (!has(key)) return fallback;
    const YAML::Node v = node_[key];
    try {
      return v.as<T>();
    } catch (const YAML::Exception&) {
      fail(line_of(v), format("'{}' must be {}, got '{}'", key, expected,
                              v.IsScalar() ? v.Scalar() : std::string("(not a value)")));
    }
  }
  double real(const char* key, double fallback) const {
    return scalar<double>(key, fallback, "a number");
  }
  double positive(const char* key, double fallback) const {
    const double v = real(key, fallback);
    if (!(v > 0 && std::isfinite(v)))
      fail(line_of(node_[key]), format("'{}' must be a positive number, got {}", key, v));
    return v;
  }
  bool boolean(const char* key, bool fallback) const {
    return scalar<bool>(key, fallback, "true or false");
  }

  // "same" or a non-negative integer.
  bool same_padding() const { return has("padding") && node_["padding"].Scalar() == "same"; }

 private:
  const std::string& source_;
  std::string layer_;
  YAML::Node node_;
  int line_;
  int64_t outputs_;
};

// Appends one layer to m, updating the activity; errors name the line.
void add_layer(Sequential& m, Activity& a, const LayerArgs& args, const std::string& layer) {
  auto need_ncl = [&] {
    if (a.layout != Activity::kNCL)
      args.fail(format("needs a [N, channels, length] input, but its input is {}{}", a.str(),
                       a.layout == Activity::kNF ? " (after flatten)" : " (after an lstm/gru)"));
  };
  if (layer == "conv1d") {
    need_ncl();
    Conv1dConfig c;
    c.in_channels = a.channels;
    c.out_channels = args.integer("out", 0, true);
    c.kernel_size = args.integer("kernel", 0, true);
    c.stride = args.integer("stride", 1);
    c.same_padding = args.same_padding();
    if (!c.same_padding) c.padding = args.integer("padding", 0, false, 0);
    c.dilation = args.integer("dilation", 1);
    c.groups = args.integer("groups", 1);
    c.bias = args.boolean("bias", true);
    if (c.same_padding && c.stride != 1) args.fail("padding 'same' needs stride 1");
    if (c.in_channels % c.groups != 0 || c.out_channels % c.groups != 0)
      args.fail(format("{} input and {} output channels do not divide into {} groups",
                       c.in_channels, c.out_channels, c.groups));
    auto conv = std::make_shared<Conv1d>(c);
    const int64_t next = conv->out_length(a.length);
    if (next <= 0)
      args.fail(format("the input length is too short: a kernel of {} meets length {}",
                       c.kernel_size, a.length));
    m.add(conv);
    a.channels = c.out_channels;
    a.length = next;
  } else if (layer == "maxpool1d" || layer == "avgpool1d") {
    need_ncl();
    const int64_t k = args.integer("kernel", 0, true);
    const int64_t s = args.integer("stride", k);
    const int64_t p = args.integer("padding", 0, false, 0);
    if (a.length + 2 * p < k)
      args.fail(
          format("the input length is too short: a window of {} meets length {}", k, a.length));
    m.add(layer == "maxpool1d" ? MaxPool1d(k, s, p) : AvgPool1d(k, s, p));
    a.length = (a.length + 2 * p - k) / s + 1;
  } else if (layer == "batchnorm1d") {
    if (a.layout == Activity::kNLC)
      args.fail(format("needs [N, C] or [N, C, L] input, but its input is {}", a.str()));
    m.add(std::make_shared<BatchNorm1d>(a.channels, args.positive("eps", 1e-5),
                                        args.real("momentum", 0.1)));
  } else if (layer == "layernorm") {
    m.add(std::make_shared<LayerNorm>(runtime::Shape{a.last()}, args.positive("eps", 1e-5)));
  } else if (layer == "groupnorm") {
    if (a.layout == Activity::kNLC)
      args.fail(format("needs [N, C] or [N, C, L] input, but its input is {}", a.str()));
    const int64_t groups = args.integer("groups", 0, true);
    if (a.channels % groups != 0)
      args.fail(format("{} channels do not divide into {} groups", a.channels, groups));
    m.add(std::make_shared<GroupNorm>(groups, a.channels, args.positive("eps", 1e-5)));
  } else if (layer == "dropout") {
    const double p = args.real("p", 0.5);
    if (!(p >= 0 && p < 1)) args.fail(format("'p' must be in [0, 1), got {}", p));
    m.add(std::make_shared<Dropout>(p));
  } else if (activations().count(layer)) {
    m.add(std::make_shared<Activation>(activations().at(layer)));
  } else if (layer == "flatten") {
    if (a.layout != Activity::kNF) m.add(std::make_shared<Flatten>());
    a.channels = a.layout == Activity::kNF ? a.channels : a.channels * a.length;
    a.layout = Activity::kNF;
    a.length = 0;
  } else if (layer == "lstm" || layer == "gru") {
    if (a.layout == Activity::kNF)
      args.fail(format("needs a sequence, but its input is {} (after flatten)", a.str()));
    if (a.layout == Activity::kNCL) {
      m.add(std::make_shared<Permute>(std::vector<int64_t>{0, 2, 1}));
      a.layout = Activity::kNLC;
    }
    RnnConfig c;
    c.input_size = a.channels;
    c.hidden_size = args.integer("hidden", 0, true);
    c.num_layers = args.integer("layers", 1);
    c.bidirectional = args.boolean("bidirectional", false);
    c.dropout = args.real("dropout", 0.0);
    c.batch_first = true;
    if (!(c.dropout >= 0 && c.dropout < 1))
      args.fail(format("'dropout' must be in [0, 1), got {}", c.dropout));
    m.add(layer == "lstm" ? LSTM(c) : GRU(c));
    a.channels = c.hidden_size * (c.bidirectional ? 2 : 1);
  } else if (layer == "linear") {
    const int64_t out = args.integer("out", 0, true);
    m.add(std::make_shared<Linear>(a.last(), out, args.boolean("bias", true)));
    if (a.layout == Activity::kNCL)
      a.length = out;
    else
      a.channels = out;
  } else {
    args.fail("is not a layer");  // layer_keys() and this chain list the same names
  }
}

}  // namespace

bool is_model_file(const std::string& name) {
  auto ends = [&](const std::string& s) {
    return name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".yaml") || ends(".yml");
}

std::string read_model_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  STRAND_CHECK(in.good(), "cannot read model file '{}' (no such file, or no permission)", path);
  // A model file is a short layer list; anything larger is not one (and is not parsed).
  std::string text(kMaxModelFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  STRAND_CHECK(!in.bad(), "cannot read model file '{}'", path);
  text.resize(static_cast<size_t>(in.gcount()));
  STRAND_CHECK(text.size() <= kMaxModelFileBytes,
               "model file '{}' is larger than {} bytes: not a model file", path,
               kMaxModelFileBytes);
  return text;
}

std::vector<std::string> model_file_layers() {
  std::vector<std::string> names;
  for (const auto& [name, keys] : layer_keys()) names.push_back(name);
  return names;
}

std::shared_ptr<Sequential> build_model_from_yaml(const std::string& yaml_text,
                                                  int64_t input_length, int64_t outputs,
                                                  const std::string& source) {
  STRAND_CHECK(input_length > 0 && outputs > 0,
               "model '{}': input length ({}) and outputs ({}) must be positive", source,
               input_length, outputs);
  STRAND_CHECK(yaml_text.size() <= kMaxModelFileBytes,
               "{}: a model file is at most {} bytes, got {}", source, kMaxModelFileBytes,
               yaml_text.size());
  check_nesting(yaml_text, source);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    std::string why = e.msg;  // may quote the offending character: keep the message one line
    for (char& c : why)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    STRAND_FAIL("{} line {}: not valid YAML: {}", source, e.mark.line + 1, why);
  }
  STRAND_CHECK(root.IsMap(), "{}: a model file is a map with a 'layers' list (see {})", source,
               "examples/models/deepsea.yaml");
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string key = key_name(it->first, source);
    STRAND_CHECK(std::find(kTopKeys.begin(), kTopKeys.end(), key) != kTopKeys.end(),
                 "{} line {}: unknown key '{}'{}; a model file has {}", source, line_of(it->first),
                 key, did_you_mean(key, kTopKeys), kTopKeys);
  }
  const YAML::Node layers = root["layers"];
  STRAND_CHECK(layers, "{}: no 'layers' list", source);
  STRAND_CHECK(layers.IsSequence() && layers.size() > 0,
               "{} line {}: 'layers' must be a non-empty list of layers", source, line_of(layers));

  auto m = std::make_shared<Sequential>();
  Activity a;
  a.length = input_length;
  const auto names = model_file_layers();
  for (const YAML::Node& item : layers) {
    std::string layer;
    YAML::Node keys;
    int line = line_of(item);
    if (item.IsScalar()) {
      layer = item.Scalar();
    } else if (item.IsMap() && item.size() == 1) {
      layer = key_name(item.begin()->first, source);
      keys = item.begin()->second;
      line = line_of(item.begin()->first);
    } else {
      STRAND_FAIL(
          "{} line {}: a layer is a name ('relu') or a name with keys "
          "('conv1d: {out: 64, kernel: 9}')",
          source, line);
    }
    STRAND_CHECK(layer_keys().count(layer), "{} line {}: unknown layer '{}'{}; layers: {}", source,
                 line, layer, did_you_mean(layer, names), names);
    const LayerArgs args(source, layer, keys, line, outputs);
    add_layer(*m, a, args, layer);
  }
  STRAND_CHECK(a.layout == Activity::kNF && a.channels == outputs,
               "{}: the last layer gives {}, but the model must give [N, outputs] = [N, {}]: end "
               "with flatten and linear: {out: outputs}",
               source, a.str(), outputs);
  return m;
}

}  // namespace strand::layers
