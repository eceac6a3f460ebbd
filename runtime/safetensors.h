// Reading and writing safetensors files (the format PyTorch and the Hugging Face tools share):
// an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and byte
// range, then the raw little-endian data. strand writes atomically (temp file, fsync, rename) and
// records a CRC-32 of the header and data in the metadata, so truncated or corrupted files are
// rejected.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/tensor.h"

namespace strand::runtime {

// What a file's checksum covered: nothing (written by another tool, or the key was removed), the
// data only (strand before the metadata was covered), or the whole header and the data.
enum class Checksum { kNone, kDataOnly, kFull };

struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order, on the CPU
  std::map<std::string, std::string> metadata;          // "__metadata__" less the checksums
  Checksum checksum = Checksum::kNone;                  // verified when not kNone
  const Tensor& at(const std::string& name) const;      // error naming the missing key
};

// Writes tensors (any device; copied to host) and string metadata to path atomically.
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads and verifies a file: header structure, byte ranges, sizes, and the CRC-32 when present.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace strand::runtime
