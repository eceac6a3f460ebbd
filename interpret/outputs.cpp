#include "interpret/outputs.h"

#include <algorithm>

#include "core/error.h"
#include "core/suggest.h"

namespace strand::interpret {

std::vector<int64_t> output_columns(const std::vector<std::string>& wanted,
                                    const std::vector<std::string>& names) {
  std::vector<int64_t> columns;
  for (const auto& t : wanted) {
    const auto it = std::find(names.begin(), names.end(), t);
    STRAND_CHECK(it != names.end(), "task '{}' is not an output of the model{} (its tasks: {})", t,
                 did_you_mean(t, names), names);
    columns.push_back(it - names.begin());
  }
  if (columns.empty())
    for (size_t t = 0; t < names.size(); ++t) columns.push_back(static_cast<int64_t>(t));
  return columns;
}

}  // namespace strand::interpret
