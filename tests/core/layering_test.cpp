// The layering of docs/ARCHITECTURE.md, checked on the sources: an include that points up the
// stack, or that skips from above runtime/ straight into kernels/, fails this test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Bottom to top; a folder may include its own headers and those of folders below it.
const std::map<std::string, int> kRank = {
    {"core", 0},      {"kernels", 1}, {"runtime", 2}, {"layers", 3}, {"data", 4},  {"rules", 5},
    {"interpret", 6}, {"train", 7},   {"report", 8},  {"apps", 9},   {"python", 9}};

fs::path source_root() { return fs::path(__FILE__).parent_path().parent_path().parent_path(); }

struct Violation {
  std::string file;
  int line;
  std::string include;
};

std::vector<Violation> violations() {
  const std::regex include_re(R"(^\s*#\s*include\s+"([a-z_]+)/)");
  std::vector<Violation> found;
  for (const auto& [folder, rank] : kRank) {
    const fs::path dir = source_root() / folder;
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      const std::string ext = entry.path().extension().string();
      if (ext != ".h" && ext != ".cpp" && ext != ".cu" && ext != ".cuh") continue;
      std::ifstream in(entry.path());
      std::string text;
      for (int line = 1; std::getline(in, text); ++line) {
        std::smatch m;
        if (!std::regex_search(text, m, include_re)) continue;
        const auto target = kRank.find(m[1].str());
        if (target == kRank.end()) continue;  // a third-party folder such as nlohmann/
        const bool upward = target->second > rank;
        const bool skips_runtime = target->first == "kernels" && rank > kRank.at("runtime");
        if (upward || skips_runtime) {
          found.push_back({fs::relative(entry.path(), source_root()).string(), line, text});
        }
      }
    }
  }
  return found;
}

TEST(Layering, IncludesPointDownTheStack) {
  const std::vector<Violation> found = violations();
  for (const Violation& v : found) {
    ADD_FAILURE() << v.file << ":" << v.line << ": " << v.include
                  << " (see the layering in docs/ARCHITECTURE.md)";
  }
  EXPECT_TRUE(found.empty());
}

TEST(Layering, SeesTheSources) {
  // Guards the test above against passing because it looked in the wrong place.
  EXPECT_TRUE(fs::exists(source_root() / "core" / "error.h")) << source_root();
  EXPECT_TRUE(fs::exists(source_root() / "docs" / "ARCHITECTURE.md")) << source_root();
}

}  // namespace
