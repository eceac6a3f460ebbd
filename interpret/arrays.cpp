#include "interpret/arrays.h"

#include <zlib.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <regex>

#include "core/checked.h"
#include "core/error.h"
#include "runtime/file_io.h"

namespace strand::interpret {
namespace {

static_assert(std::endian::native == std::endian::little, "the .npy writer assumes little-endian");

constexpr char kMagic[] = "\x93NUMPY";
constexpr uint64_t kMaxHeader = 1u << 16;  // NumPy's own limit for version 1.0 headers

int64_t element_count(const std::vector<int64_t>& shape, const std::string& where) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) STRAND_FAIL("{}: negative dimension {}", where, d);
    n = checked_mul(n, d, where);
  }
  return n;
}

// Python's tuple syntax: "(3,)" for one dimension, "(3, 4)" for more, "()" for a scalar.
std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

void put_u16(std::string& s, uint16_t v) { s.append(reinterpret_cast<const char*>(&v), 2); }
void put_u32(std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }

// The .npy header of a float32 C-order array of `shape`.
std::string npy_header(const std::vector<int64_t>& shape) {
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
  // Magic (6) + version (2) + length (2) + header + '\n', padded to a multiple of 64.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  put_u16(out, static_cast<uint16_t>(header.size()));
  return out + header;
}

}  // namespace

std::string npy_bytes(const Array& array) {
  const int64_t n = element_count(array.shape, "npy array shape");
  if (static_cast<size_t>(n) != array.values.size())
    STRAND_FAIL("npy array: shape {} holds {} values, the array has {}", shape_text(array.shape), n,
                array.values.size());
  std::string out = npy_header(array.shape);
  out.append(reinterpret_cast<const char*>(array.values.data()), array.values.size() * 4);
  return out;
}

NpyWriter::NpyWriter(const std::string& path, std::vector<int64_t> shape)
    : file_(path), shape_(std::move(shape)), expected_(element_count(shape_, path + " shape")) {
  file_.write(npy_header(shape_));
}

void NpyWriter::append(std::span<const float> values) {
  STRAND_CHECK(written_ + static_cast<int64_t>(values.size()) <= expected_,
               "{}: more than the {} values of shape {}", file_.path(), expected_,
               shape_text(shape_));
  file_.write({reinterpret_cast<const char*>(values.data()), values.size() * 4});
  written_ += static_cast<int64_t>(values.size());
}

void NpyWriter::finish() {
  STRAND_CHECK(written_ == expected_, "{}: {} of the {} values of shape {} written", file_.path(),
               written_, expected_, shape_text(shape_));
  file_.commit();
}

void save_npy(const std::string& path, const Array& array) {
  runtime::write_file_atomic(path, {npy_bytes(array)});
}

void save_npz(const std::string& path, const std::vector<std::pair<std::string, Array>>& arrays) {
  // A zip archive of stored (uncompressed) members, with ZIP64 left out: each member and the whole
  // archive must stay under 4 GiB, which is checked.
  std::string zip, directory;
  for (const auto& [name, array] : arrays) {
    if (name.empty() || name.find('/') != std::string::npos)
      STRAND_FAIL("npz '{}': array name '{}' must be non-empty without '/'", path, name);
    const std::string member = name + ".npy";
    const std::string data = npy_bytes(array);
    if (data.size() >= 0xffffffffu || zip.size() + data.size() >= 0xffffffffu)
      STRAND_FAIL(
          "npz '{}': array '{}' makes the archive 4 GiB or larger; write .npy files "
          "instead",
          path, name);
    const uint32_t crc = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0),
                                                     reinterpret_cast<const Bytef*>(data.data()),
                                                     static_cast<uInt>(data.size())));
    const auto offset = static_cast<uint32_t>(zip.size());
    auto common = [&](std::string& s) {  // version needed .. name length, shared by both headers
      put_u16(s, 20);                    // version needed to extract: 2.0
      put_u16(s, 0);                     // flags
      put_u16(s, 0);                     // method: stored
      put_u16(s, 0);                     // time
      put_u16(s, 0x21);                  // date: 1980-01-01
      put_u32(s, crc);
      put_u32(s, static_cast<uint32_t>(data.size()));
      put_u32(s, static_cast<uint32_t>(data.size()));
      put_u16(s, static_cast<uint16_t>(member.size()));
      put_u16(s, 0);  // extra length
    };
    put_u32(zip, 0x04034b50);
    common(zip);
    zip += member;
    zip += data;
    put_u32(directory, 0x02014b50);
    put_u16(directory, 20);  // version made by
    common(directory);
    put_u16(directory, 0);  // comment length
    put_u16(directory, 0);  // disk number
    put_u16(directory, 0);  // internal attributes
    put_u32(directory, 0);  // external attributes
    put_u32(directory, offset);
    directory += member;
  }
  std::string end;
  put_u32(end, 0x06054b50);
  put_u16(end, 0);
  put_u16(end, 0);
  put_u16(end, static_cast<uint16_t>(arrays.size()));
  put_u16(end, static_cast<uint16_t>(arrays.size()));
  put_u32(end, static_cast<uint32_t>(directory.size()));
  put_u32(end, static_cast<uint32_t>(zip.size()));
  put_u16(end, 0);
  runtime::write_file_atomic(path, {zip, directory, end});
}

Array load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) STRAND_FAIL("npy '{}': cannot open: {}", path, std::strerror(errno));
  char prefix[10];
  if (!in.read(prefix, 10) || std::memcmp(prefix, kMagic, 6) != 0)
    STRAND_FAIL("npy '{}': not a .npy file (no \\x93NUMPY magic)", path);
  const int major = static_cast<unsigned char>(prefix[6]);
  uint64_t header_len = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(prefix[8]) |
                 (static_cast<unsigned>(static_cast<unsigned char>(prefix[9])) << 8);
  } else if (major == 2 || major == 3) {
    char more[2];
    if (!in.read(more, 2)) STRAND_FAIL("npy '{}': truncated header", path);
    uint32_t len;
    std::memcpy(&len, prefix + 8, 2);
    std::memcpy(reinterpret_cast<char*>(&len) + 2, more, 2);
    header_len = len;
  } else {
    STRAND_FAIL("npy '{}': unsupported .npy version {}", path, major);
  }
  if (header_len > kMaxHeader)
    STRAND_FAIL("npy '{}': header of {} bytes is too long", path, header_len);
  std::string header(header_len, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_len)))
    STRAND_FAIL("npy '{}': truncated header", path);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')")))
    STRAND_FAIL("npy '{}': header has no 'descr'", path);
  if (m[1] != "<f4")
    STRAND_FAIL("npy '{}': dtype '{}' is not float32 ('<f4'); convert with a.astype('<f4')", path,
                m[1].str());
  if (!std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*(True|False))")) ||
      m[1] != "False")
    STRAND_FAIL("npy '{}': Fortran-order arrays are not read; save with np.ascontiguousarray",
                path);
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    STRAND_FAIL("npy '{}': header has no 'shape'", path);
  Array array;
  const std::string dims = m[1];
  if (!std::regex_match(dims, std::regex(R"(\s*(\d{1,18}\s*,\s*)*(\d{1,18}\s*,?\s*)?)")))
    STRAND_FAIL("npy '{}': shape '({})' is not a tuple of sizes", path, dims);
  const std::regex dim_re(R"(\s*(\d{1,18})\s*,?)");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), dim_re);
       it != std::sregex_iterator(); ++it)
    array.shape.push_back(std::stoll((*it)[1]));
  const int64_t n = element_count(array.shape, format("npy '{}' shape", path));
  const auto data_start = in.tellg();
  in.seekg(0, std::ios::end);
  const auto available = static_cast<int64_t>(in.tellg() - data_start);
  if (available != checked_mul(n, 4, "npy data size"))
    STRAND_FAIL("npy '{}': shape {} needs {} data bytes, the file has {}", path,
                shape_text(array.shape), n * 4, available);
  in.seekg(data_start);
  array.values.resize(static_cast<size_t>(n));
  if (!in.read(reinterpret_cast<char*>(array.values.data()), static_cast<std::streamsize>(n * 4)))
    STRAND_FAIL("npy '{}': truncated data", path);
  return array;
}

}  // namespace strand::interpret
