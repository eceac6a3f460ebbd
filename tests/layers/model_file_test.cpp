// YAML model files: the shipped examples/models/*.yaml build the same parameter names and shapes
// as the builders, every layer kind with shape inference, and errors that name the line and
// suggest the closest layer or key.
#include "layers/model_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "layers/models.h"
#include "runtime/ops.h"
#include "runtime/rng.h"

namespace strand::layers {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

const std::filesystem::path kRoot =
    std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();

std::string example(const std::string& name) {
  return (kRoot / "examples" / "models" / (name + ".yaml")).string();
}

Tensor random_codes(int64_t n, int64_t length, uint64_t seed) {
  return (runtime::rand({n, length}, seed) * 4.0).to(DType::kU8);
}

std::vector<std::pair<std::string, runtime::Shape>> shapes(const Module& m) {
  std::vector<std::pair<std::string, runtime::Shape>> out;
  for (const auto& [name, t] : m.state_dict()) out.emplace_back(name, t.shape());
  return out;
}

TEST(ModelFile, ExamplesMatchTheBuildersNameForNameAndShapeForShape) {
  struct Case {
    const char* name;
    int64_t length, outputs;
  };
  for (const Case& c : std::vector<Case>{{"deepsea", 1000, 919},
                                         {"deepsea", 500, 3},
                                         {"danq", 1000, 919},
                                         {"basset-groupnorm", 600, 164}}) {
    const auto from_yaml = build_model(example(c.name), c.length, c.outputs);
    const auto built = build_model(c.name, c.length, c.outputs);
    EXPECT_EQ(shapes(*from_yaml), shapes(*built)) << c.name << " at length " << c.length;
    EXPECT_EQ(from_yaml->size(), built->size()) << c.name;
    for (size_t i = 0; i < built->size(); ++i)
      EXPECT_EQ((*from_yaml)[i].type_name(), (*built)[i].type_name()) << c.name << " layer " << i;
    EXPECT_EQ(from_yaml->to_string(), built->to_string()) << c.name;
  }
}

TEST(ModelFile, SameWeightsGiveTheSameOutputsAsTheBuilder) {
  runtime::manual_seed(3);
  auto built = build_model("danq", 120, 2);
  auto from_yaml = build_model(example("danq"), 120, 2);
  from_yaml->load_state_dict(built->state_dict());
  built->eval();
  from_yaml->eval();
  const Tensor x = random_codes(3, 120, 5);
  EXPECT_EQ((*built)(x).to_vector<float>(), (*from_yaml)(x).to_vector<float>());
}

TEST(ModelFile, EveryLayerKindWithShapeInference) {
  const std::string text = R"(
name: all
layers:
  - conv1d: {out: 8, kernel: 5, padding: 2, bias: false}
  - batchnorm1d: {eps: 0.001, momentum: 0.2}
  - sigmoid
  - conv1d: {out: 6, kernel: 3, stride: 2, dilation: 1, groups: 2}
  - groupnorm: {groups: 3}
  - tanh
  - avgpool1d: {kernel: 2, stride: 2, padding: 1}
  - layernorm
  - maxpool1d: {kernel: 3, stride: 1}
  - gru: {hidden: 5, layers: 2, dropout: 0.1}
  - lstm: {hidden: 4, bidirectional: true}
  - softplus
  - flatten
  - linear: {out: 7}
  - gelu
  - dropout
  - linear: {out: outputs, bias: true}
)";
  const int64_t length = 40, outputs = 3;
  auto m = build_model_from_yaml(text, length, outputs, "all.yaml");
  // conv 40 -> 40 (pad 2), conv stride 2: (40 - 3) / 2 + 1 = 19, avgpool (19 + 2 - 2) / 2 + 1 = 10,
  // maxpool 3 stride 1: 8; the GRU adds a transpose; BiLSTM: 8 features per step; 8 x 8 = 64.
  const auto s = shapes(*m);
  std::map<std::string, runtime::Shape> by_name(s.begin(), s.end());
  EXPECT_EQ(by_name.count("0.bias"), 0u);
  EXPECT_EQ(by_name["0.weight"], (runtime::Shape{8, 4, 5}));
  EXPECT_EQ(by_name["3.weight"], (runtime::Shape{6, 4, 3}));
  EXPECT_EQ(by_name["4.weight"], (runtime::Shape{6}));
  EXPECT_EQ(by_name["7.weight"], (runtime::Shape{10}));  // layernorm over the length
  EXPECT_EQ(by_name["10.weight_ih_l1"], (runtime::Shape{15, 5}));
  EXPECT_EQ(by_name["11.weight_ih_l0_reverse"], (runtime::Shape{16, 5}));
  EXPECT_EQ(by_name["14.weight"], (runtime::Shape{7, 64}));
  EXPECT_EQ(by_name["17.weight"], (runtime::Shape{3, 7}));
  m->eval();
  EXPECT_EQ((*m)(random_codes(2, length, 1)).shape(), (runtime::Shape{2, outputs}));
  m->train();
  EXPECT_EQ((*m)(random_codes(4, length, 2)).shape(), (runtime::Shape{4, outputs}));
}

void expect_error(const std::string& text, const std::string& message, int64_t length = 100) {
  EXPECT_THAT([&] { build_model_from_yaml(text, length, 2, "m.yaml"); },
              ThrowsMessage<Error>(HasSubstr(message)))
      << text;
}

TEST(ModelFile, ErrorsNameTheLineAndSuggestTheClosestName) {
  expect_error("layers:\n  - conv1d: {out: 8, kernel: 3}\n  - rleu\n  - flatten\n",
               "m.yaml line 3: unknown layer 'rleu' (did you mean 'relu'?)");
  expect_error("layers:\n  - conv1d: {out: 8, kernal: 3}\n",
               "m.yaml line 2: conv1d: unknown key 'kernal' (did you mean 'kernel'?)");
  expect_error("layres:\n  - relu\n",
               "m.yaml line 1: unknown key 'layres' (did you mean 'layers'?)");
  expect_error("layers:\n  - flatten: {start: 1}\n",
               "line 2: flatten: unknown key 'start': flatten takes no keys");
  expect_error("layers:\n  - conv1d: {kernel: 3}\n", "line 2: conv1d: needs 'out'");
  expect_error("layers:\n  - conv1d: {out: many, kernel: 3}\n",
               "line 2: conv1d: 'out' must be an integer or 'outputs', got 'many'");
  expect_error("layers:\n  - conv1d: {out: 0, kernel: 3}\n", "'out' must be at least 1, got 0");
  expect_error("layers:\n  - dropout: {p: 1.5}\n", "line 2: dropout: 'p' must be in [0, 1)");
  expect_error("layers:\n  - dropout: {p: half}\n", "'p' must be a number, got 'half'");
  expect_error("layers:\n  - conv1d: {out: 8, kernel: 3, bias: maybe}\n",
               "'bias' must be true or false, got 'maybe'");
  expect_error("layers:\n  - conv1d: {out: 8, kernel: 30}\n",
               "line 2: conv1d: the input length is too short: a kernel of 30 meets length 10", 10);
  expect_error("layers:\n  - maxpool1d: {kernel: 20}\n",
               "maxpool1d: the input length is too short: a window of 20 meets length 10", 10);
  expect_error("layers:\n  - conv1d: {out: 9, kernel: 3}\n  - groupnorm: {groups: 2}\n",
               "line 3: groupnorm: 9 channels do not divide into 2 groups");
  expect_error("layers:\n  - flatten\n  - conv1d: {out: 8, kernel: 3}\n",
               "line 3: conv1d: needs a [N, channels, length] input, but its input is [N, 400] "
               "(after flatten)");
  expect_error("layers:\n  - flatten\n  - lstm: {hidden: 3}\n", "lstm: needs a sequence");
  expect_error("layers:\n  - conv1d: {out: 8, kernel: 3, stride: 2, padding: same}\n",
               "padding 'same' needs stride 1");
  expect_error("layers:\n  - conv1d: {out: 8, kernel: 3}\n",
               "m.yaml: the last layer gives [N, 8, 98] (N, channels, length), but the model must "
               "give [N, outputs] = [N, 2]");
  expect_error("layers:\n  - flatten\n  - linear: {out: 5}\n", "the last layer gives [N, 5]");
  expect_error("layers: [relu\n", "m.yaml line 2: not valid YAML");
  expect_error("- relu\n", "a model file is a map with a 'layers' list");
  expect_error("name: x\n", "m.yaml: no 'layers' list");
  expect_error("layers: []\n", "'layers' must be a non-empty list");
  expect_error("layers:\n  - {relu: {}, flatten: {}}\n", "line 2: a layer is a name");
  EXPECT_THAT([] { build_model("missing.yaml", 100, 2); },
              ThrowsMessage<Error>(HasSubstr("cannot read model file 'missing.yaml'")));
  EXPECT_THAT([] { build_model("deepsee", 100, 2); },
              ThrowsMessage<Error>(HasSubstr("or a model file ending in .yaml (did you mean "
                                             "'deepsea'?)")));
}

// Hostile sizes and nesting end in one line before yaml-cpp (recursive) parses anything.
TEST(ModelFile, DeepNestingAndHugeFilesAreRefusedBeforeParsing) {
  expect_error("layers: " + std::string(100000, '[') + "\n",
               "m.yaml line 1: nested more than 64 levels deep: not a model file");
  std::string dashes = "layers:\n";
  for (int i = 0; i < 200; ++i) dashes += "- ";
  expect_error(dashes + "relu\n", "m.yaml line 2: nested more than 64 levels deep");
  expect_error("layers:\n" + std::string(200, ' ') + "- relu\n", "nested more than 64 levels");
  expect_error("layers:\n  - {[a]: 1}\n", "m.yaml line 2: a key must be a name, not a list or map");
  expect_error("layers:\n  - conv1d: {out: 8, kernel: 3, {x: 1}: 2}\n",
               "m.yaml line 2: a key must be a name, not a list or map");
  expect_error("? [layers]\n: 1\n", "m.yaml line 1: a key must be a name, not a list or map");
  expect_error(std::string("layers:\n  - relu\0\n", 18),
               "m.yaml line 2: byte 0 (a control character) is not text: not a model file");
  const auto dir = std::filesystem::temp_directory_path() / "strand-model-file-size-test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "big.yaml").string();
  std::ofstream(path) << "layers:\n  - relu\n" << std::string(kMaxModelFileBytes, '#') << "\n";
  EXPECT_THAT([&] { read_model_file(path); },
              ThrowsMessage<Error>(HasSubstr("is larger than 1048576 bytes: not a model file")));
  std::filesystem::remove_all(dir);
  // (The shipped examples pass the bound: the first test builds each of them.)
}

TEST(ModelFile, RecognisesModelFileNames) {
  EXPECT_TRUE(is_model_file("a/model.yaml"));
  EXPECT_TRUE(is_model_file("m.yml"));
  EXPECT_FALSE(is_model_file("deepsea"));
  EXPECT_FALSE(is_model_file(".yaml"));
  const auto names = model_file_layers();
  EXPECT_NE(std::find(names.begin(), names.end(), "groupnorm"), names.end());
  EXPECT_EQ(names.size(), 16u);
}

}  // namespace
}  // namespace strand::layers
