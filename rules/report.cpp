// Formatting and file helpers for the rules' reports; see report.h.
#include "rules/report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "core/error.h"
#include "runtime/file_io.h"

namespace strand::rules {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string format_metric(const nlohmann::json& obj, const std::string& name, int digits) {
  if (!obj.contains(name) || !obj[name].is_number()) return "undefined";
  std::string s = fixed(obj[name].get<double>(), digits);
  if (obj.contains("ci") && obj["ci"].contains(name) && obj["ci"][name].is_array())
    s += " [" + fixed(obj["ci"][name][0].get<double>(), 2) + ", " +
         fixed(obj["ci"][name][1].get<double>(), 2) + "]";
  return s;
}

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], row[c].size());
    }
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      out << row[c];
      if (c + 1 < row.size()) out << std::string(width[c] - row[c].size() + 2, ' ');
    }
    out << '\n';
  }
}

void write_json(const std::string& path, const nlohmann::json& json) {
  runtime::write_json_file(path, json);
}

nlohmann::json read_json(const std::string& path) { return runtime::read_json_file(path); }

}  // namespace strand::rules
