// safetensors I/O with atomic writes and verification (see safetensors.h).
#include "runtime/safetensors.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace strand::runtime {
namespace {

constexpr const char* kCrcKey = "strand.crc32";
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

uint32_t crc_of(const std::vector<char>& bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t at = 0;
  while (at < bytes.size()) {  // zlib takes 32-bit lengths
    const uInt chunk = static_cast<uInt>(std::min<size_t>(bytes.size() - at, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + at), chunk);
    at += chunk;
  }
  return static_cast<uint32_t>(crc);
}

void write_all(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    STRAND_CHECK(n > 0, "{}: write failed: {}", path, std::strerror(errno));
    data += n;
    size -= static_cast<size_t>(n);
  }
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
  for (const auto& [key, value] : metadata) meta[key] = value;
  meta[kCrcKey] = std::to_string(crc_of(data));
  header["__metadata__"] = meta;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data 8-byte aligned, as the spec allows
  const uint64_t length = text.size();
  char prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>((length >> (8 * i)) & 0xFF);

  // Write a temp file beside the target, flush it to disk, then rename over the target: a reader
  // sees the old file or the new one, never a partial one.
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  const std::string temp = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> temp_name(temp.begin(), temp.end());
  temp_name.push_back('\0');
  const int fd = ::mkstemp(temp_name.data());
  STRAND_CHECK(fd >= 0, "{}: cannot create a temporary file in {}: {}", path, dir.string(),
               std::strerror(errno));
  try {
    write_all(fd, prefix, 8, path);
    write_all(fd, text.data(), text.size(), path);
    write_all(fd, data.data(), data.size(), path);
    STRAND_CHECK(::fsync(fd) == 0, "{}: fsync failed: {}", path, std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(temp_name.data());
    throw;
  }
  ::close(fd);
  if (::rename(temp_name.data(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(temp_name.data());
    STRAND_FAIL("{}: cannot move the written file into place: {}", path, reason);
  }
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {  // make the rename itself durable
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
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
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    STRAND_FAIL("{}: corrupt safetensors header (not JSON: {})", path, e.what());
  }
  STRAND_CHECK(header.is_object(), "{}: corrupt safetensors header (not a JSON object)", path);
  const uint64_t data_size = file_size - 8 - length;
  std::vector<char> data(data_size);
  in.read(data.data(), static_cast<std::streamsize>(data_size));
  STRAND_CHECK(in.good() || data_size == 0, "{}: read failed", path);

  SafetensorsFile file;
  if (header.contains("__metadata__")) {
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
      const uint64_t expected = static_cast<uint64_t>(shape_numel(shape)) * dtype_size(dtype);
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
  if (const auto it = file.metadata.find(kCrcKey); it != file.metadata.end()) {
    const std::string actual = std::to_string(crc_of(data));
    STRAND_CHECK(actual == it->second,
                 "{}: corrupted file: the data's CRC-32 is {} but the header records {}", path,
                 actual, it->second);
  }
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [offset, entry] : ordered) file.tensors.push_back(std::move(entry));
  return file;
}

}  // namespace strand::runtime
