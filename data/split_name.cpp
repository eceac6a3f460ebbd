// Split names and their strict parser.
#include "data/split_name.h"

#include "core/error.h"

namespace strand::data {

std::string_view split_name(Split s) {
  switch (s) {
    case Split::kTrain:
      return "train";
    case Split::kValid:
      return "valid";
    case Split::kTest:
      return "test";
  }
  return "?";
}

Split parse_split(std::string_view text, std::string_view where) {
  if (text == "train") return Split::kTrain;
  if (text == "valid") return Split::kValid;
  if (text == "test") return Split::kTest;
  STRAND_FAIL("{}: split '{}' is not one of train, valid, test", where, text);
}

}  // namespace strand::data
