// Report formatting: numbers with intervals, "undefined", aligned tables, JSON files.
#include "rules/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "core/error.h"
#include "tests/data/temp_files.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;

TEST(Report, FormatsValuesIntervalsAndUndefined) {
  const nlohmann::json j = {
      {"auroc", 0.81234}, {"ci", {{"auroc", {0.79, 0.84}}}}, {"mcc", nullptr}, {"f1", 0.5}};
  EXPECT_EQ(format_metric(j, "auroc"), "0.8123 [0.79, 0.84]");
  EXPECT_EQ(format_metric(j, "f1", 2), "0.50");
  EXPECT_EQ(format_metric(j, "mcc"), "undefined");
  EXPECT_EQ(format_metric(j, "absent"), "undefined");
}

TEST(Report, TablesAlignColumns) {
  std::ostringstream out;
  print_table(out, {{"a", "bb"}, {"ccc", "d"}});
  EXPECT_EQ(out.str(), "a    bb\nccc  d\n");
}

TEST(Report, JsonFilesRoundTripAndBadJsonRaises) {
  data::testing::TempDir dir;
  const nlohmann::json j = {{"x", 1.5}};
  write_json(dir.file("a.json"), j);
  EXPECT_EQ(read_json(dir.file("a.json")), j);
  data::testing::write_text(dir.file("b.json"), "{not json");
  try {
    read_json(dir.file("b.json"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr(": not valid JSON"));
  }
}

}  // namespace
}  // namespace strand::rules
