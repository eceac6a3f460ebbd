// NumPy's array files, the format every Python tool reads with np.load: .npy (one array) and .npz
// (a zip of .npy files, stored uncompressed). Interpretation results (ISM effects, attributions,
// hypothetical contributions) leave strand this way; attributions come back in for motif discovery.
// Only little-endian float32 in C order: what strand writes, and all it accepts back.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

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

// Reads a .npy file written by strand or NumPy ('<f4', C order). Anything else, a truncated file,
// or a header that lies about the size is a one-line error naming the file and what is wrong.
Array load_npy(const std::string& path);

}  // namespace strand::interpret
