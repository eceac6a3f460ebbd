// safetensors I/O with atomic writes and verification (see safetensors.h).
#include "runtime/safetensors.h"

#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/checked.h"
#include "core/error.h"
#include "runtime/file_io.h"

namespace strand::runtime {
namespace {

// CRC-32 of the header (canonical JSON without this key: tensor entries and all metadata) and
// then the data. Files before it carried "strand.crc32", which covered the data only.
constexpr const char* kChecksumKey = "strand.checksum";
constexpr const char* kDataCrcKey = "strand.crc32";
constexpr uint64_t kMaxHeader = 100u << 20;  // the format's own limit is 100 MB

const char* dtype_code(DType t) {
  switch (t) {
    case DType::kF32:
      return "F32";
    case DType::kF64:
      return "F64";
    case DType::kBF16:
      return "BF16";
    case DType::kI32:
      return "I32";
    case DType::kI64:
      return "I64";
    case DType::kU8:
      return "U8";
    case DType::kBool:
      return "BOOL";
  }
  return "?";
}

DType dtype_from_code(const std::string& code, const std::string& path, const std::string& name) {
  for (DType t : {DType::kF32, DType::kF64, DType::kBF16, DType::kI32, DType::kI64, DType::kU8,
                  DType::kBool}) {
    if (code == dtype_code(t)) return t;
  }
  STRAND_FAIL("{}: tensor '{}' has dtype '{}', which strand does not read", path, name, code);
}

uint32_t crc_of(const char* bytes, size_t size, uLong crc = crc32(0L, Z_NULL, 0)) {
  size_t at = 0;
  while (at < size) {  // zlib takes 32-bit lengths
    const uInt chunk = static_cast<uInt>(std::min<size_t>(size - at, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes + at), chunk);
    at += chunk;
  }
  return static_cast<uint32_t>(crc);
}

// The checksum of a header (its checksum key left out) and the data it describes.
std::string header_and_data_crc(nlohmann::json header, const std::vector<char>& data) {
  if (header.contains("__metadata__")) header["__metadata__"].erase(kChecksumKey);
  const std::string canonical = header.dump();  // sorted keys: the same bytes on both sides
  return std::to_string(
      crc_of(data.data(), data.size(), crc_of(canonical.data(), canonical.size())));
}

}  // namespace

const Tensor& SafetensorsFile::at(const std::string& name) const {
  for (const auto& [key, t] : tensors) {
    if (key == name) return t;
  }
  STRAND_FAIL("safetensors file has no tensor named '{}'", name);
}

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  std::vector<char> data;
  for (const auto& [name, t] : tensors) {
    STRAND_CHECK(!name.empty() && name != "__metadata__", "{}: invalid tensor name '{}'", path,
                 name);
    STRAND_CHECK(!header.contains(name), "{}: tensor name '{}' appears twice", path, name);
    const Tensor host = t.detach().cpu().contiguous();
    const size_t bytes = static_cast<size_t>(host.numel()) * host.element_size();
    const size_t begin = data.size();
    data.resize(begin + bytes);
    if (bytes) std::memcpy(data.data() + begin, host.raw_data(), bytes);
    header[name] = {{"dtype", dtype_code(host.dtype())},
                    {"shape", host.shape()},
                    {"data_offsets", {begin, begin + bytes}}};
  }
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (const auto& [key, value] : metadata) {
    STRAND_CHECK(key != kChecksumKey && key != kDataCrcKey, "{}: metadata key '{}' is reserved",
                 path, key);
    meta[key] = value;
  }
  header["__metadata__"] = meta;
  header["__metadata__"][kChecksumKey] = header_and_data_crc(nlohmann::json(header), data);
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data 8-byte aligned, as the spec allows
  const uint64_t length = text.size();
  char prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>((length >> (8 * i)) & 0xFF);

  write_file_atomic(
      path, {std::string_view(prefix, 8), text, std::string_view(data.data(), data.size())});
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  STRAND_CHECK(in.good(), "{}: cannot open for reading", path);
  in.seekg(0, std::ios::end);
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  STRAND_CHECK(file_size >= 8, "{}: not a safetensors file ({} bytes, too short for a header)",
               path, file_size);
  unsigned char prefix[8];
  in.read(reinterpret_cast<char*>(prefix), 8);
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i) length |= static_cast<uint64_t>(prefix[i]) << (8 * i);
  STRAND_CHECK(length <= kMaxHeader && 8 + length <= file_size,
               "{}: corrupt or truncated safetensors file (header of {} bytes in a file of {})",
               path, length, file_size);
  std::string text(length, '\0');
  in.read(text.data(), static_cast<std::streamsize>(length));
  const nlohmann::json header = parse_json(text, path + ": corrupt safetensors header");
  STRAND_CHECK(header.is_object(), "{}: corrupt safetensors header (not a JSON object)", path);
  const uint64_t data_size = file_size - 8 - length;
  check_memory(data_size, path + ": reading the tensor data");
  std::vector<char> data(data_size);
  in.read(data.data(), static_cast<std::streamsize>(data_size));
  STRAND_CHECK(in.good() || data_size == 0, "{}: read failed", path);

  SafetensorsFile file;
  if (header.contains("__metadata__")) {
    STRAND_CHECK(header["__metadata__"].is_object(), "{}: metadata is not a JSON object", path);
    for (const auto& [key, value] : header["__metadata__"].items()) {
      STRAND_CHECK(value.is_string(), "{}: metadata '{}' is not a string", path, key);
      file.metadata[key] = value.get<std::string>();
    }
  }
  std::vector<std::pair<uint64_t, std::pair<std::string, Tensor>>> ordered;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    try {
      const DType dtype = dtype_from_code(entry.at("dtype").get<std::string>(), path, name);
      const Shape shape = entry.at("shape").get<Shape>();
      const auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
      STRAND_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1] && offsets[1] <= data_size,
                   "{}: tensor '{}' lies outside the file's data (offsets {} of {} bytes); the "
                   "file is truncated or corrupt",
                   path, name, offsets, data_size);
      for (int64_t s : shape)
        STRAND_CHECK(s >= 0, "{}: tensor '{}' has a negative size", path, name);
      const std::string what = path + ": tensor '" + name + "' shape";
      int64_t numel = 1;
      for (int64_t s : shape) numel = checked_mul(numel, s, what);
      const auto expected =
          static_cast<uint64_t>(checked_mul(numel, static_cast<int64_t>(dtype_size(dtype)), what));
      STRAND_CHECK(offsets[1] - offsets[0] == expected,
                   "{}: tensor '{}' of shape {} and dtype {} needs {} bytes but has {}", path, name,
                   shape, dtype, expected, offsets[1] - offsets[0]);
      Tensor t = empty(shape, {.dtype = dtype});
      if (expected) std::memcpy(t.raw_data(), data.data() + offsets[0], expected);
      ordered.push_back({offsets[0], {name, t}});
    } catch (const nlohmann::json::exception& e) {
      STRAND_FAIL("{}: corrupt header entry for tensor '{}': {}", path, name, e.what());
    }
  }
  // Checked after the byte ranges, so a truncated file is reported as truncated.
  if (const auto it = file.metadata.find(kChecksumKey); it != file.metadata.end()) {
    const std::string actual = header_and_data_crc(header, data);
    STRAND_CHECK(actual == it->second,
                 "{}: corrupted file: the CRC-32 of its header and data is {} but the header "
                 "records {}",
                 path, actual, it->second);
    file.checksum = Checksum::kFull;
  } else if (const auto old = file.metadata.find(kDataCrcKey); old != file.metadata.end()) {
    const std::string actual = std::to_string(crc_of(data.data(), data.size()));
    STRAND_CHECK(actual == old->second,
                 "{}: corrupted file: the data's CRC-32 is {} but the header records {}", path,
                 actual, old->second);
    file.checksum = Checksum::kDataOnly;
  }
  // Verified (or absent), the checksums are `checksum`'s business: `metadata` keeps the writer's
  // own strings, so a file read and written back gets a checksum of its new contents.
  file.metadata.erase(kChecksumKey);
  file.metadata.erase(kDataCrcKey);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [offset, entry] : ordered) file.tensors.push_back(std::move(entry));
  return file;
}

}  // namespace strand::runtime
