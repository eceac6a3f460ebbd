// Helpers for communicator tests that start real processes: a scratch directory, running a shell
// command with a time limit, finding mpirun, and reading what the children wrote.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace strand::runtime::testing {

class ScratchDir {
 public:
  ScratchDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "strand_comm_XXXXXX").string();
    const char* made = mkdtemp(templ.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = made;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;  // the command's exit status; 124 when the time limit killed it
  double seconds = 0;
};

// Runs `sh -c command` under coreutils' timeout, so a hang in the code under test fails the test
// instead of hanging it.
inline CommandResult run_command(const std::string& command, int limit_s) {
  const std::string wrapped =
      "timeout -k 5 " + std::to_string(limit_s) + " sh -c '" + command + "'";
  const auto start = std::chrono::steady_clock::now();
  const int status = std::system(wrapped.c_str());
  CommandResult result;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

inline bool exists(const std::string& path) { return std::filesystem::exists(path); }

// This test program's own path, so a test can start copies of itself as the ranks of a job.
inline std::string self_path() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

// mpirun's path, or empty when it is not installed.
inline std::string find_mpirun() {
  for (const char* candidate : {"/usr/bin/mpirun", "/usr/local/bin/mpirun"}) {
    if (access(candidate, X_OK) == 0) return candidate;
  }
  return "";
}

// mpirun on loopback with TCP only, as CTest runs the *_mpi_test programs.
inline std::string mpirun_command(const std::string& mpirun, int np) {
  return "OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo " +
         mpirun + " --allow-run-as-root --oversubscribe --bind-to none -np " + std::to_string(np);
}

// A TCP port nobody listens on right now (the kernel's pick), for rendezvous tests.
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace strand::runtime::testing
