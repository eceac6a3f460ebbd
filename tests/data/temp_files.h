// Test helpers for the data tests: a temporary directory removed at the end of the test, and
// writers for plain, gzip and bgzip text files (bgzip through htslib itself).
#pragma once

#include <gtest/gtest.h>
#include <htslib/bgzf.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace strand::data::testing {

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "strand_data_XXXXXX").string();
    char* made = mkdtemp(templ.data());
    if (!made) throw std::runtime_error("mkdtemp failed");
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return path;
}

// BGZF-compressed copy of text (what `bgzip` writes), via htslib.
inline std::string write_bgzip(const std::string& path, const std::string& text) {
  BGZF* fp = bgzf_open(path.c_str(), "w");
  if (!fp) throw std::runtime_error("bgzf_open failed for " + path);
  if (bgzf_write(fp, text.data(), text.size()) < 0) throw std::runtime_error("bgzf_write failed");
  if (bgzf_close(fp) != 0) throw std::runtime_error("bgzf_close failed");
  return path;
}

// Plain (single-member, non-BGZF) gzip copy of text, via the gzip program.
inline std::string write_gzip(const std::string& path, const std::string& text) {
  const std::string plain = path + ".plain";
  write_text(plain, text);
  const std::string cmd = "gzip -c '" + plain + "' > '" + path + "'";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("gzip failed: " + cmd);
  std::filesystem::remove(plain);
  return path;
}

}  // namespace strand::data::testing
