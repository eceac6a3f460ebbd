// CRC-32 of files (zlib's), recorded in checkpoints so a model names the exact data it was
// trained on.
#pragma once

#include <string>

namespace strand::train {

// The file's CRC-32 as 8 lower-case hex digits; an error naming the file when it cannot be read.
std::string file_crc32(const std::string& path);

}  // namespace strand::train
