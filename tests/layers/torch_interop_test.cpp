// PyTorch interop: state_dicts in PyTorch's names and layouts, written with outputs computed by an
// independent numpy implementation of PyTorch's semantics (tests/layers/data/
// make_torch_interop.py, which also checks them against real torch modules when PyTorch is
// installed), load into strand's equivalent models and give the same predictions within fp32
// tolerance; and the state_dicts strand writes carry exactly the names, shapes and dtypes the
// script's strict loader (and torch's load_state_dict) expects (STRAND_INTEROP_OUT=FILE writes them
// for `make_torch_interop.py --check FILE`).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "layers/reshape.h"
#include "layers/rnn.h"
#include "layers/sequential.h"
#include "runtime/safetensors.h"
#include "tests/data/temp_files.h"

namespace strand::layers {
namespace {

const std::string kFixture =
    (std::filesystem::path(__FILE__).parent_path() / "data" / "torch_interop.safetensors").string();

std::shared_ptr<Module> cnn() {
  auto m = std::make_shared<Sequential>();
  m->add(std::make_shared<Conv1d>(
      Conv1dConfig{.in_channels = 4, .out_channels = 6, .kernel_size = 5, .padding = 2}));
  m->add(std::make_shared<Activation>("ReLU"));
  m->add(MaxPool1d(2));
  m->add(std::make_shared<Conv1d>(
      Conv1dConfig{.in_channels = 6, .out_channels = 4, .kernel_size = 3}));
  m->add(std::make_shared<Activation>("ReLU"));
  m->add(std::make_shared<Flatten>());
  m->add(std::make_shared<Linear>(24, 3));
  return m;
}

std::shared_ptr<Module> norm() {
  auto m = std::make_shared<Sequential>();
  m->add(std::make_shared<Conv1d>(
      Conv1dConfig{.in_channels = 4, .out_channels = 6, .kernel_size = 3}));
  m->add(std::make_shared<BatchNorm1d>(6));
  m->add(std::make_shared<Activation>("ReLU"));
  m->add(std::make_shared<GroupNorm>(3, 6));
  m->add(std::make_shared<Flatten>());
  m->add(std::make_shared<Linear>(48, 8));
  m->add(std::make_shared<LayerNorm>(runtime::Shape{8}));
  m->add(std::make_shared<Activation>("Tanh"));
  m->add(std::make_shared<Linear>(8, 2));
  return m;
}

std::shared_ptr<Module> model(const std::string& name) {
  if (name == "cnn") return cnn();
  if (name == "norm") return norm();
  if (name == "lstm")
    return LSTM({.input_size = 5,
                 .hidden_size = 4,
                 .num_layers = 2,
                 .bidirectional = true,
                 .batch_first = true});
  return GRU({.input_size = 5, .hidden_size = 3, .bidirectional = true, .batch_first = true});
}

// The fixture's tensors of one model, prefix removed: its state_dict, input(s) and expected output.
struct Part {
  std::vector<std::pair<std::string, Tensor>> state;
  std::map<std::string, Tensor> data;  // input, expected, input_codes
};

Part part(const runtime::SafetensorsFile& file, const std::string& name) {
  Part p;
  const std::string prefix = name + ".";
  for (const auto& [key, t] : file.tensors) {
    if (key.rfind(prefix, 0) != 0) continue;
    const std::string rest = key.substr(prefix.size());
    if (rest == "input" || rest == "expected" || rest == "input_codes")
      p.data[rest] = t;
    else
      p.state.emplace_back(rest, t);
  }
  return p;
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const auto g = got.to_vector<float>(), w = want.to_vector<float>();
  for (size_t i = 0; i < g.size(); ++i)
    EXPECT_NEAR(g[i], w[i], 1e-5 + 1e-5 * std::abs(w[i])) << what << " element " << i;
}

// The JSON header of a safetensors file, as any reader (the script, torch) sees it.
nlohmann::json header_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  auto j = nlohmann::json::parse(text);
  j.erase("__metadata__");
  return j;
}

TEST(TorchInterop, PyTorchStateDictsLoadAndPredictTheSame) {
  const auto file = runtime::load_safetensors(kFixture);
  for (const std::string name : {"cnn", "lstm", "gru", "norm"}) {
    Part p = part(file, name);
    ASSERT_FALSE(p.state.empty()) << name;
    auto m = model(name);
    m->load_state_dict(p.state, true);  // strict: every name and shape as PyTorch's
    m->eval();
    expect_close((*m)(p.data.at("input")), p.data.at("expected"), name);
    if (p.data.count("input_codes"))  // the one-hot fast path on u8 codes: the same model
      expect_close((*m)(p.data.at("input_codes")), p.data.at("expected"), name + " (codes)");
  }
}

TEST(TorchInterop, StrandStateDictsHaveTheNamesShapesAndDtypesPyTorchExpects) {
  data::testing::TempDir dir;
  const auto fixture = header_of(kFixture);
  for (const std::string name : {"cnn", "lstm", "gru", "norm"}) {
    auto m = model(name);  // freshly initialised: its own weights, not the fixture's
    const std::string path = dir.file(name + ".safetensors");
    runtime::save_safetensors(path, m->state_dict());
    const auto written = header_of(path);
    size_t expected_count = 0;
    for (const auto& [key, entry] : fixture.items()) {
      if (key.rfind(name + ".", 0) != 0) continue;
      const std::string rest = key.substr(name.size() + 1);
      if (rest == "input" || rest == "expected" || rest == "input_codes") continue;
      ++expected_count;
      ASSERT_TRUE(written.contains(rest)) << name << ": strand did not write " << rest;
      EXPECT_EQ(written[rest]["dtype"], entry["dtype"]) << name << "." << rest;
      EXPECT_EQ(written[rest]["shape"], entry["shape"]) << name << "." << rest;
    }
    EXPECT_EQ(written.size(), expected_count) << name << ": extra tensors " << written.dump();
  }
}

// With STRAND_INTEROP_OUT=FILE, writes strand's four models under their prefixes for
// `make_torch_interop.py --check FILE` (the script's strict loader, and torch's when installed).
TEST(TorchInterop, WritesAFileForTheScriptWhenAsked) {
  const char* out = std::getenv("STRAND_INTEROP_OUT");
  if (out == nullptr) GTEST_SKIP() << "set STRAND_INTEROP_OUT=FILE to write strand's models";
  std::vector<std::pair<std::string, Tensor>> all;
  for (const std::string name : {"cnn", "lstm", "gru", "norm"})
    for (auto& [key, t] : model(name)->state_dict()) all.emplace_back(name + "." + key, t);
  runtime::save_safetensors(out, all);
  EXPECT_TRUE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace strand::layers
