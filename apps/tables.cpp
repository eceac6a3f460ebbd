// The metrics tables of train, eval and tune; see tables.h.
#include "apps/tables.h"

#include <cstdio>

namespace strand::apps {
namespace {

nlohmann::json metric(const nlohmann::json& obj, const std::string& name) {
  return obj.contains(name) ? obj[name] : nlohmann::json();
}

std::string fixed4(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

}  // namespace

std::string fmt(const nlohmann::json& v) {
  return v.is_number() ? fixed4(v.get<double>()) : std::string("  -   ");
}

void print_table(const nlohmann::json& valid, const nlohmann::json& test, const std::string& first,
                 const std::string& second) {
  const std::string kind = valid.value("kind", "");
  if (kind == "multiclass") {
    std::printf("  %-12s %10s %12s\n", "", first.empty() ? "" : "valid",
                test.is_object() ? "test" : "");
    for (const char* m : {"accuracy", "macro_auroc"})
      std::printf("  %-12s %10s %12s\n", m, fmt(metric(valid, m)).c_str(),
                  test.is_object() ? fmt(metric(test, m)).c_str() : "");
    return;
  }
  const bool regression = kind == "regression";
  const char* m1 = regression ? "pearson" : "auroc";
  const char* m2 = regression ? "mse" : "auprc";
  const bool both = test.is_object();
  std::printf("  %-20s %8s %8s   %8s %8s\n", "task", (first + m1).c_str(), (first + m2).c_str(),
              both ? (second + m1).c_str() : "", both ? (second + m2).c_str() : "");
  auto row = [&](const std::string& name, const nlohmann::json& v, const nlohmann::json& t) {
    std::printf("  %-20s %8s %8s   %8s %8s\n", name.c_str(), fmt(metric(v, m1)).c_str(),
                fmt(metric(v, m2)).c_str(), both ? fmt(metric(t, m1)).c_str() : "",
                both ? fmt(metric(t, m2)).c_str() : "");
  };
  for (const auto& [task, obj] : valid["tasks"].items())
    row(task, obj, test.is_object() ? test["tasks"][task] : nlohmann::json());
  row("mean", valid["macro"], test.is_object() ? test["macro"] : nlohmann::json());
}

}  // namespace strand::apps
