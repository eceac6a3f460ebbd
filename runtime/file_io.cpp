// Safe JSON reading and checked, atomic file writing (see file_io.h).
#include "runtime/file_io.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

#include "core/error.h"

namespace strand::runtime {
namespace {

void write_all(int fd, std::string_view bytes, const std::string& path) {
  const char* data = bytes.data();
  size_t size = bytes.size();
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    STRAND_CHECK(n > 0, "{}: write failed: {}", path, std::strerror(errno));
    data += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace

std::string json_error_reason(const nlohmann::json::exception& e) {
  const std::string what = e.what();
  const size_t at = what.find("] ");
  return at == std::string::npos ? what : what.substr(at + 2);
}

nlohmann::json parse_json(std::string_view text, const std::string& source) {
  // Nesting depth outside strings, checked before the (recursive) parse and dump ever see it.
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      STRAND_CHECK(++depth <= kMaxJsonDepth, "{}: JSON nested deeper than {} levels (at byte {})",
                   source, kMaxJsonDepth, i);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    STRAND_FAIL("{}: not valid JSON: {}", source, json_error_reason(e));
  }
}

nlohmann::json read_json_file(const std::string& path, const std::string& what,
                              uint64_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  const std::string source = (what.empty() ? "" : what + " ") + "'" + path + "'";
  STRAND_CHECK(in.good(), "cannot read {} (no such file, or no permission)", source);
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  STRAND_CHECK(ec || size <= max_bytes, "{} is {} bytes, more than the {} a JSON file may have",
               source, size, max_bytes);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_json(text, source);
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  const std::filesystem::path target(path_);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  std::string name = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  fd_ = ::mkstemp(name.data());
  STRAND_CHECK(fd_ >= 0, "{}: cannot create a temporary file in {}: {}", path_, dir.string(),
               std::strerror(errno));
  temp_ = std::move(name);
}

AtomicFile::~AtomicFile() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(temp_.c_str());
}

void AtomicFile::write(std::string_view bytes) {
  STRAND_CHECK(fd_ >= 0, "{}: written after commit", path_);
  write_all(fd_, bytes, path_);
}

void AtomicFile::commit() {
  STRAND_CHECK(fd_ >= 0, "{}: committed twice", path_);
  STRAND_CHECK(::fsync(fd_) == 0, "{}: fsync failed: {}", path_, std::strerror(errno));
  // mkstemp makes the file 0600; give it the usual mode (0666 less the umask).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd_, 0666 & ~mask);
  const bool closed = ::close(fd_) == 0;
  fd_ = -1;
  if (!closed || ::rename(temp_.c_str(), path_.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(temp_.c_str());
    STRAND_FAIL("{}: cannot move the written file into place: {}", path_, reason);
  }
  const std::filesystem::path target(path_);
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {  // make the rename itself durable
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

AtomicOstream::Buffer::Buffer(AtomicFile& file) : file_(file), bytes_(1 << 16) {
  setp(bytes_.data(), bytes_.data() + bytes_.size());
}

AtomicOstream::Buffer::int_type AtomicOstream::Buffer::overflow(int_type c) {
  sync();
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
  }
  return traits_type::not_eof(c);
}

int AtomicOstream::Buffer::sync() {
  const auto n = static_cast<size_t>(pptr() - pbase());
  setp(bytes_.data(), bytes_.data() + bytes_.size());
  file_.write({bytes_.data(), n});  // throws the OS error; the stream rethrows it (badbit)
  return 0;
}

AtomicOstream::AtomicOstream(std::string path)
    : std::ostream(nullptr), file_(std::move(path)), buffer_(file_) {
  rdbuf(&buffer_);
  exceptions(std::ios::badbit);
}

void AtomicOstream::commit() {
  flush();
  file_.commit();
}

void write_file_atomic(const std::string& path, std::initializer_list<std::string_view> parts) {
  AtomicFile file(path);
  for (std::string_view part : parts) file.write(part);
  file.commit();
}

void write_json_file(const std::string& path, const nlohmann::json& json) {
  write_file_atomic(path, {json.dump(2), "\n"});
}

void flush_stdout() {
  errno = 0;
  std::cout.flush();
  const bool ok = std::cout.good() && std::fflush(stdout) == 0 && !std::ferror(stdout);
  const int err = errno;
  std::clearerr(stdout);
  STRAND_CHECK(ok, "cannot write to standard output: {}",
               err ? std::strerror(err) : "write error (output incomplete)");
}

int remove_stale_temporaries(const std::string& dir, const std::vector<std::string>& names) {
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const size_t at = name.rfind(".tmp-");
    if (name.empty() || name[0] != '.' || at == std::string::npos || name.size() != at + 11 ||
        std::find(names.begin(), names.end(), name.substr(1, at - 1)) == names.end())
      continue;
    if (entry.is_regular_file(ec) && std::filesystem::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

FileLock::FileLock(const std::string& path, Mode mode, const std::string& what,
                   const std::string& purpose) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  STRAND_CHECK(fd_ >= 0, "cannot create the lock file '{}': {}", path, std::strerror(errno));
  if (mode == Mode::kWait) {
    while (::flock(fd_, LOCK_EX) != 0) {
      const int err = errno;
      if (err == EINTR) continue;
      ::close(fd_);
      fd_ = -1;
      STRAND_FAIL("cannot lock '{}': {}", path, std::strerror(err));
    }
  } else if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {0};
    const ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
    ::close(fd_);
    fd_ = -1;
    STRAND_FAIL(
        "'{}' is in use by another {} (process {}, lock '{}'): wait for it to finish or "
        "choose another directory",
        what, purpose, n > 0 ? std::string(pid, static_cast<size_t>(n)) : "?", path);
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace strand::runtime
