// safetensors: round trips of every dtype, files written by other tools, and rejection of
// truncated, corrupted and malformed files with clear messages.
#include "runtime/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "runtime/ops.h"
#include "tests/support/tensor_support.h"

namespace strand::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("strand_st_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST_F(SafetensorsTest, RoundTripsEveryDtypeAndMetadata) {
  const std::vector<std::pair<std::string, Tensor>> tensors = {
      {"conv.weight", randn({4, 3, 2}, 1)},
      {"f64", randn({3}, 2, {.dtype = DType::kF64})},
      {"bf16", randn({5}, 3).to(DType::kBF16)},
      {"steps", from_vector<int64_t>({7, -3}, {2})},
      {"i32", from_vector<int32_t>({1, 2, 3}, {3})},
      {"codes", from_vector<uint8_t>({0, 1, 2, 3, 4}, {5})},
      {"empty", zeros({0, 3})},
      {"scalar", full({}, 2.5)},
      {"strided", arange(0, 6).reshape({2, 3}).transpose(0, 1)},
  };
  save_safetensors(path("m.safetensors"), tensors, {{"seed", "42"}});
  const SafetensorsFile file = load_safetensors(path("m.safetensors"));
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(file.tensors[i].first, tensors[i].first);
    EXPECT_EQ(file.tensors[i].second.dtype(), tensors[i].second.dtype());
    EXPECT_EQ(file.tensors[i].second.shape(), tensors[i].second.shape());
    EXPECT_EQ(file.tensors[i].second.to_vector<double>(), tensors[i].second.to_vector<double>());
  }
  EXPECT_EQ(file.metadata.at("seed"), "42");
  // The checksum is reported, not left among the writer's strings: what was read writes back.
  EXPECT_EQ(file.checksum, Checksum::kFull);
  EXPECT_EQ(file.metadata.size(), 1u);
  save_safetensors(path("m.safetensors"), file.tensors, file.metadata);
  EXPECT_EQ(load_safetensors(path("m.safetensors")).metadata, file.metadata);
  EXPECT_THAT([&] { file.at("missing"); },
              ThrowsMessage<Error>(HasSubstr("no tensor named 'missing'")));
  // Nothing but the file itself is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);
}

TEST_F(SafetensorsTest, ReadsAFileWrittenByAnotherTool) {
  // As the reference implementation writes it: no CRC, no padding, tensors in name order.
  const std::string header = R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
                             R"("a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  bytes += header;
  const int64_t a = 5;
  const float b[2] = {1.5f, -2.0f};
  bytes.append(reinterpret_cast<const char*>(&a), 8);
  bytes.append(reinterpret_cast<const char*>(b), 8);
  write_bytes(path("other.safetensors"), bytes);
  const SafetensorsFile file = load_safetensors(path("other.safetensors"));
  EXPECT_EQ(file.at("a").to_vector<int64_t>(), (std::vector<int64_t>{5}));
  EXPECT_EQ(file.at("b").to_vector<float>(), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(file.tensors[0].first, "a");  // file order
  EXPECT_EQ(file.checksum, Checksum::kNone);
}

TEST_F(SafetensorsTest, RejectsTruncatedCorruptedAndMalformedFiles) {
  save_safetensors(path("ok.safetensors"), {{"w", randn({64}, 1)}});
  const std::string good = read_bytes(path("ok.safetensors"));

  write_bytes(path("truncated"), good.substr(0, good.size() - 10));
  EXPECT_THAT([&] { load_safetensors(path("truncated")); },
              ThrowsMessage<Error>(HasSubstr("truncated or corrupt")));

  std::string flipped = good;
  flipped[flipped.size() - 5] ^= 0x10;
  write_bytes(path("flipped"), flipped);
  EXPECT_THAT([&] { load_safetensors(path("flipped")); },
              ThrowsMessage<Error>(HasSubstr("corrupted file: the CRC-32 of its header and data")));

  write_bytes(path("tiny"), "abc");
  EXPECT_THAT([&] { load_safetensors(path("tiny")); },
              ThrowsMessage<Error>(HasSubstr("too short for a header")));

  std::string junk(8, '\0');
  junk[0] = 5;
  write_bytes(path("junk"), junk + "{oops");
  EXPECT_THAT([&] { load_safetensors(path("junk")); },
              ThrowsMessage<Error>(HasSubstr("corrupt safetensors header: not valid JSON")));

  std::string huge(8, '\xff');
  write_bytes(path("huge"), huge + "{}");
  EXPECT_THAT([&] { load_safetensors(path("huge")); },
              ThrowsMessage<Error>(HasSubstr("truncated")));

  EXPECT_THAT([&] { load_safetensors(path("absent")); },
              ThrowsMessage<Error>(HasSubstr("cannot open for reading")));
}

TEST_F(SafetensorsTest, TheChecksumCoversTheMetadata) {
  save_safetensors(path("m.safetensors"), {{"w", ones({2})}}, {{"kind", "binary"}});
  EXPECT_EQ(load_safetensors(path("m.safetensors")).checksum, Checksum::kFull);
  std::string bytes = read_bytes(path("m.safetensors"));
  bytes.replace(bytes.find("binary"), 6, "bimary");  // one bit, same length
  write_bytes(path("edited"), bytes);
  EXPECT_THAT([&] { load_safetensors(path("edited")); },
              ThrowsMessage<Error>(HasSubstr("corrupted file: the CRC-32 of its header")));
  EXPECT_THROW(save_safetensors(path("x"), {}, {{"strand.checksum", "1"}}), Error);
}

TEST_F(SafetensorsTest, HostileHeadersFailWithOneLine) {
  auto with_header = [&](const std::string& name, const std::string& header) {
    std::string prefix(8, '\0');
    for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
    write_bytes(path(name), prefix + header);
    return path(name);
  };
  const std::string deep =
      "{\"__metadata__\": {\"a\": " + std::string(50000, '[') + std::string(50000, ']') + "}}";
  EXPECT_THAT([&] { load_safetensors(with_header("deep", deep)); },
              ThrowsMessage<Error>(HasSubstr("nested deeper than 64 levels")));
  const std::string huge =
      R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})";
  EXPECT_THAT([&] { load_safetensors(with_header("huge", huge)); },
              ThrowsMessage<Error>(HasSubstr("huge: tensor 'w' shape: 4294967296 x 4294967296")));
  const std::string meta = R"({"__metadata__": [1, 2]})";
  EXPECT_THAT([&] { load_safetensors(with_header("meta", meta)); },
              ThrowsMessage<Error>(HasSubstr("metadata is not a JSON object")));
}

TEST_F(SafetensorsTest, AFailedSaveLeavesTheOldFileIntact) {
  save_safetensors(path("m.safetensors"), {{"w", ones({2})}});
  EXPECT_THROW(save_safetensors(path("m.safetensors"), {{"w", ones({2})}, {"w", zeros({2})}}),
               Error);
  EXPECT_EQ(load_safetensors(path("m.safetensors")).at("w").to_vector<float>(),
            (std::vector<float>{1, 1}));
  EXPECT_THROW(save_safetensors(path("no/such/dir/m.safetensors"), {{"w", ones({2})}}), Error);
}

}  // namespace
}  // namespace strand::runtime
