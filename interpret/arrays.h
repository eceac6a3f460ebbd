// NumPy's array files, the format every Python tool reads with np.load: .npy (one array) and .npz
// (a zip of .npy files, stored uncompressed). Interpretation results (ISM effects, attributions,
// hypothetical contributions) leave strand this way; attributions come back in for motif discovery.
// Only little-endian float32 in C order: what strand writes, and all it accepts back.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "runtime/file_io.h"

namespace strand::interpret {

struct Array {
  std::vector<int64_t> shape;
  std::vector<float> values;  // C order; size == product of shape
};

// The bytes of a version 1.0 .npy file holding `array` (shape and size checked).
std::string npy_bytes(const Array& array);
// Writes one array to PATH atomically.
void save_npy(const std::string& path, const Array& array);
// Writes named arrays (np.load(path)["name"]) to PATH atomically.
void save_npz(const std::string& path, const std::vector<std::pair<std::string, Array>>& arrays);

// A .npy file of a known shape written piece by piece (values in C order) and moved into place by
// finish() once every value is there: interpretation outputs larger than memory stream to disk.
// Destroyed unfinished (an error on the way), it leaves no partial file.
class NpyWriter {
 public:
  NpyWriter(const std::string& path, std::vector<int64_t> shape);
  void append(std::span<const float> values);
  void finish();  // fails unless exactly the shape's count of values was appended

 private:
  runtime::AtomicFile file_;
  std::vector<int64_t> shape_;
  int64_t expected_ = 0, written_ = 0;
};

// Reads a .npy file written by strand or NumPy ('<f4', C order). Anything else, a truncated file,
// or a header that lies about the size is a one-line error naming the file and what is wrong.
Array load_npy(const std::string& path);

}  // namespace strand::interpret
