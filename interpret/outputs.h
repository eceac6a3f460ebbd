// The model outputs an interpretation reads: names given by the user (--task, tasks=) as output
// columns, shared by the commands and the Python package.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace strand::interpret {

// The columns of `wanted` among the model's output `names`, in the order given (every output when
// wanted is empty); an unknown name is an error naming the closest one.
std::vector<int64_t> output_columns(const std::vector<std::string>& wanted,
                                    const std::vector<std::string>& names);

}  // namespace strand::interpret
