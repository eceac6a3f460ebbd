// Human-readable and file output of the rules' JSON reports: numbers with their intervals or the
// word "undefined", aligned text tables, and JSON files.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace strand::rules {

// v with `digits` decimals ("0.8123").
std::string fixed(double v, int digits = 4);

// obj[name] as "0.8123", "0.8123 [0.79, 0.84]" when obj["ci"][name] exists, or "undefined".
std::string format_metric(const nlohmann::json& obj, const std::string& name, int digits = 4);

// Prints rows as columns padded to their widest cell; the first row is the header.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

// Writes json (indented) to path.
void write_json(const std::string& path, const nlohmann::json& json);
nlohmann::json read_json(const std::string& path);

}  // namespace strand::rules
