// The three splits a dataset row can belong to, and their one spelling in files: train, valid,
// test.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace strand::data {

enum class Split : uint8_t { kTrain = 0, kValid = 1, kTest = 2 };

std::string_view split_name(Split s);

// "train", "valid" or "test" (exactly, lower case); anything else raises an error quoting the
// value and `where` (e.g. "'labels.tsv' line 7, column 'split'").
Split parse_split(std::string_view text, std::string_view where);

}  // namespace strand::data
