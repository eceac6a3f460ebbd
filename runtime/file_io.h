// The one place for reading JSON from untrusted files and for writing files so that nothing is
// lost silently: depth-limited JSON parsing, atomic replacement (temp file, fsync, rename), a
// checked flush of standard output, removal of temporaries a killed writer left behind, and an
// exclusive lock on a directory.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace strand::runtime {

// Deeper nesting is refused before parsing: nlohmann's dump() and strand's readers recurse, so a
// hostile file of 100k '[' would overflow the stack.
constexpr int kMaxJsonDepth = 64;

// Parses `text` as JSON; `source` names it in errors ("config file 'x.json'"). Errors give the
// line/column or byte offset, without nlohmann's exception prefix.
nlohmann::json parse_json(std::string_view text, const std::string& source);
// nlohmann's exception text without its "[json.exception.type_error.302] " prefix.
std::string json_error_reason(const nlohmann::json::exception& e);
// Reads the file at `path` (at most max_bytes) and parses it; errors say "<what> '<path>': ...".
nlohmann::json read_json_file(const std::string& path, const std::string& what = "",
                              uint64_t max_bytes = 256u << 20);

// Writes the parts, in order, to a temporary file beside `path`, fsyncs it, renames it over `path`
// and fsyncs the directory: readers see the old file or the new one, never a partial one, and a
// full disk leaves the old file untouched. The temporary is named ".<name>.tmp-XXXXXX".
void write_file_atomic(const std::string& path, std::initializer_list<std::string_view> parts);
// A file written in pieces and moved into place at commit(), as write_file_atomic does, for
// outputs too large to hold in memory (ISM and attribution arrays). Destroyed without commit() (an
// error on the way), it removes its temporary and leaves any earlier file at `path` untouched.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(std::string_view bytes);
  void commit();  // fsync, rename over `path`, fsync the directory
  const std::string& path() const { return path_; }

 private:
  std::string path_, temp_;
  int fd_ = -1;
};
// The same file as an std::ostream, for writers that take one (variant scores, FASTA records):
// buffered, and a failed write throws the AtomicFile's error (the file and the OS reason) out of
// the `<<` that hit it. commit() flushes and moves the file into place; destroyed without it,
// the temporary is removed.
class AtomicOstream : public std::ostream {
 public:
  explicit AtomicOstream(std::string path);
  void commit();
  const std::string& path() const { return file_.path(); }

 private:
  class Buffer : public std::streambuf {
   public:
    explicit Buffer(AtomicFile& file);

   protected:
    int_type overflow(int_type c) override;
    int sync() override;

   private:
    AtomicFile& file_;
    std::vector<char> bytes_;
  };
  AtomicFile file_;
  Buffer buffer_;
};
// JSON results (metrics.json, run.json, ...): dump(2) and a newline, written atomically.
void write_json_file(const std::string& path, const nlohmann::json& json);

// Flushes std::cout and stdout and fails (naming the OS error) if any write to standard output
// failed: `strand predict > /dev/full` must not exit 0 with lost output.
void flush_stdout();

// Removes the ".<name>.tmp-XXXXXX" files write_file_atomic leaves when killed mid-write, for the
// given file names, in `dir` only (an --out of $HOME must not lose other programs' files);
// returns how many. Call it only while holding the directory's lock.
int remove_stale_temporaries(const std::string& dir, const std::vector<std::string>& names);

// An exclusive advisory lock (flock) on a file, held for the object's lifetime and released by the
// kernel when the process dies, so a killed process never leaves a stale lock. The holder's
// process id is written into the file. kFailIfHeld: a second holder fails at once, with a message
// naming `what` is locked, the `purpose` of the holder and its process (a run directory); kWait:
// it waits its turn (the ranks of a tuning search at their shared job board).
class FileLock {
 public:
  enum class Mode { kFailIfHeld, kWait };
  FileLock(const std::string& path, Mode mode, const std::string& what = "",
           const std::string& purpose = "");
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// DIR/.lock, failing at once when another run holds it.
class DirectoryLock {
 public:
  DirectoryLock(const std::string& dir, const std::string& purpose)
      : lock_(dir + "/.lock", FileLock::Mode::kFailIfHeld, dir, purpose) {}

 private:
  FileLock lock_;
};

}  // namespace strand::runtime
