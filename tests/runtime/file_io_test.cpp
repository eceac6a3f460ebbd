// The checked reader and writer: JSON depth limits, atomic writes that leave no debris, stale
// temporaries removed, and a directory lock that a second holder cannot take.
#include "runtime/file_io.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "tests/data/temp_files.h"

namespace strand::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(ParseJson, RefusesDeepNestingBeforeParsing) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_THAT([&] { parse_json(deep, "config file 'x.json'"); },
              ThrowsMessage<Error>(HasSubstr(
                  "config file 'x.json': JSON nested deeper than 64 levels (at byte 64)")));
  // Brackets inside strings are text, not nesting.
  const std::string text = "{\"a\": \"" + std::string(1000, '[') + "\\\"\"}";
  EXPECT_EQ(parse_json(text, "s")["a"].get<std::string>().size(), 1001u);
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_NO_THROW(parse_json(ok, "s"));
}

TEST(ParseJson, ErrorsNameTheSourceWithoutNlohmannsPrefix) {
  try {
    parse_json("{\"a\": tru}", "metadata 'strand.model'");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("metadata 'strand.model': not valid JSON: parse error at"));
    EXPECT_THAT(e.message(), ::testing::Not(HasSubstr("[json.exception")));
  }
}

TEST(WriteFileAtomic, ReplacesTheFileAndLeavesNoTemporary) {
  data::testing::TempDir dir;
  const std::string path = dir.file("metrics.json");
  write_json_file(path, {{"auroc", 0.5}});
  write_json_file(path, {{"auroc", 0.75}});
  EXPECT_EQ(read_json_file(path)["auroc"].get<double>(), 0.75);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
  EXPECT_THAT([&] { write_json_file(dir.file("no/such/dir/m.json"), {}); },
              ThrowsMessage<Error>(HasSubstr("cannot create a temporary file")));
}

TEST(WriteFileAtomic, AFileSizeLimitFailsAndKeepsTheOldFile) {
  data::testing::TempDir dir;
  const std::string path = dir.file("m.json");
  write_json_file(path, {{"v", 1}});
  // As on a full disk, write() fails part-way: the error is reported, the old file survives and
  // the temporary is removed.
  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* const previous = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const nlohmann::json big = {{"v", std::string(10000, 'x')}};
  EXPECT_THAT([&] { write_json_file(path, big); },
              ThrowsMessage<Error>(HasSubstr("m.json: write failed: File too large")));
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, previous);
  EXPECT_EQ(read_json_file(path)["v"].get<int>(), 1);
  EXPECT_EQ(remove_stale_temporaries(dir.path(), {"m.json"}), 0);
}

TEST(RemoveStaleTemporaries, RemovesOnlyWhatAKilledWriterLeaves) {
  data::testing::TempDir dir;
  for (const std::string name :
       {".checkpoint.safetensors.tmp-AbC123", ".metrics.json.tmp-x1y2z3", "model.safetensors",
        ".lock", "notes.tmp-AbC123", ".a.tmp-short", ".bashrc.tmp-AbC123"})
    data::testing::write_text(dir.file(name), "x");
  EXPECT_EQ(remove_stale_temporaries(dir.path(), {"checkpoint.safetensors", "metrics.json", "a"}),
            2);
  EXPECT_FALSE(std::filesystem::exists(dir.file(".checkpoint.safetensors.tmp-AbC123")));
  EXPECT_TRUE(std::filesystem::exists(dir.file(".bashrc.tmp-AbC123")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("model.safetensors")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("notes.tmp-AbC123")));
  EXPECT_TRUE(std::filesystem::exists(dir.file(".a.tmp-short")));
}

TEST(DirectoryLock, ASecondHolderIsRefusedUntilTheFirstLetsGo) {
  data::testing::TempDir dir;
  {
    const DirectoryLock first(dir.path(), "strand train");
    EXPECT_THAT([&] { DirectoryLock second(dir.path(), "strand train"); },
                ThrowsMessage<Error>(HasSubstr("is in use by another strand train (process " +
                                               std::to_string(::getpid()))));
  }
  EXPECT_NO_THROW(DirectoryLock again(dir.path(), "strand train"));
}

}  // namespace
}  // namespace strand::runtime
