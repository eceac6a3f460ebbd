// TCP rendezvous over POSIX sockets (rendezvous.h). Every wait is a poll() against one deadline,
// so a missing or silent rank ends in an error, never a hang.
#include "runtime/rendezvous.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "core/error.h"

namespace strand::runtime {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kMagic = 0x53545244;       // "STRD": bootstrap
constexpr uint32_t kProbeMagic = 0x53545250;  // "STRP": who is still alive, after a timeout
constexpr uint32_t kVersion = 1;
constexpr uint32_t kMaxPayload = 1 << 20;

// Closes a socket when it goes out of scope.
class Socket {
 public:
  explicit Socket(int fd = -1) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Socket& operator=(Socket&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

std::string where(const LaunchInfo& launch) {
  return format("{}:{}", launch.master_addr, launch.master_port);
}

// Waits until fd is ready for events; false at the deadline.
bool wait_ready(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Sends or receives exactly n bytes before the deadline; false when the peer closes or time is up.
bool send_all(int fd, const void* data, size_t n, Clock::time_point deadline) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    if (!wait_ready(fd, POLLOUT, deadline)) return false;
    const ssize_t sent = ::send(fd, p, n, MSG_NOSIGNAL);
    if (sent < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (sent <= 0) return false;
    p += sent;
    n -= static_cast<size_t>(sent);
  }
  return true;
}

bool recv_all(int fd, void* data, size_t n, Clock::time_point deadline) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    if (!wait_ready(fd, POLLIN, deadline)) return false;
    const ssize_t got = ::recv(fd, p, n, 0);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

void put_u32(std::string& out, uint32_t v) {
  const uint32_t be = htonl(v);
  out.append(reinterpret_cast<const char*>(&be), 4);
}

bool get_u32(int fd, uint32_t& v, Clock::time_point deadline) {
  uint32_t be = 0;
  if (!recv_all(fd, &be, 4, deadline)) return false;
  v = ntohl(be);
  return true;
}

addrinfo* resolve(const LaunchInfo& launch, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (passive) hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  const std::string port = std::to_string(launch.master_port);
  const int rc = ::getaddrinfo(launch.master_addr.c_str(), port.c_str(), &hints, &result);
  STRAND_CHECK(rc == 0, "rendezvous: cannot resolve MASTER_ADDR '{}': {}", launch.master_addr,
               gai_strerror(rc));
  return result;
}

// Rank 0's side. With partial, the deadline ends the waiting instead of failing: whoever came gets
// the answer, and the missing ranks' payloads are empty.
std::vector<std::string> serve(const LaunchInfo& launch, const std::string& payload,
                               Clock::time_point deadline, std::chrono::milliseconds timeout,
                               uint32_t protocol, bool partial) {
  addrinfo* addresses = resolve(launch, true);
  // Listen on every interface of the address family MASTER_ADDR names.
  const int family = addresses->ai_family;
  ::freeaddrinfo(addresses);
  Socket listener(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  STRAND_CHECK(listener.fd() >= 0, "rendezvous: rank 0 cannot create a socket: {}",
               std::strerror(errno));
  const int one = 1;
  ::setsockopt(listener.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_storage any{};
  socklen_t length = 0;
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&any);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_any;
    a->sin6_port = htons(static_cast<uint16_t>(launch.master_port));
    length = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&any);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_ANY);
    a->sin_port = htons(static_cast<uint16_t>(launch.master_port));
    length = sizeof(sockaddr_in);
  }
  STRAND_CHECK(::bind(listener.fd(), reinterpret_cast<sockaddr*>(&any), length) == 0,
               "rendezvous: rank 0 cannot listen on port {} (MASTER_PORT): {}", launch.master_port,
               std::strerror(errno));
  STRAND_CHECK(::listen(listener.fd(), launch.world_size) == 0,
               "rendezvous: rank 0 cannot listen on port {}: {}", launch.master_port,
               std::strerror(errno));

  std::vector<std::string> payloads(launch.world_size);
  std::vector<bool> heard(launch.world_size, false);
  std::vector<Socket> peers(launch.world_size);
  payloads[0] = payload;
  heard[0] = true;
  for (int arrived = 1; arrived < launch.world_size;) {
    if (!wait_ready(listener.fd(), POLLIN, deadline)) {
      if (partial) break;
      std::vector<int> missing;
      for (int r = 0; r < launch.world_size; ++r) {
        if (!heard[r]) missing.push_back(r);
      }
      STRAND_FAIL("rendezvous on {} timed out after {} s: rank 0 never heard from rank{} {}",
                  where(launch), timeout.count() / 1000.0, missing.size() > 1 ? "s" : "",
                  missing.size() == 1 ? std::to_string(missing[0]) : format("{}", missing));
    }
    Socket peer(::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC));
    if (peer.fd() < 0) continue;
    uint32_t magic = 0, version = 0, rank = 0, world = 0, size = 0;
    const bool ok = get_u32(peer.fd(), magic, deadline) && get_u32(peer.fd(), version, deadline) &&
                    get_u32(peer.fd(), rank, deadline) && get_u32(peer.fd(), world, deadline) &&
                    get_u32(peer.fd(), size, deadline);
    if (!ok || magic != protocol) continue;  // not one of ours (a port scan, a dead peer): ignore
    STRAND_CHECK(version == kVersion,
                 "rendezvous on {}: rank {} speaks protocol version {}, rank 0 version {}: mixed "
                 "strand builds in one job",
                 where(launch), rank, version, kVersion);
    STRAND_CHECK(static_cast<int>(world) == launch.world_size,
                 "rendezvous on {}: rank {} belongs to a job of {} ranks, rank 0 to one of {}: two "
                 "jobs share MASTER_PORT, or WORLD_SIZE differs between ranks",
                 where(launch), rank, world, launch.world_size);
    STRAND_CHECK(rank >= 1 && static_cast<int>(rank) < launch.world_size && !heard[rank],
                 "rendezvous on {}: rank {} arrived twice (or is out of range): two jobs share "
                 "MASTER_PORT, or RANK is wrong on some rank",
                 where(launch), rank);
    STRAND_CHECK(size <= kMaxPayload, "rendezvous on {}: rank {} sent a {} byte payload",
                 where(launch), rank, size);
    std::string bytes(size, '\0');
    if (!recv_all(peer.fd(), bytes.data(), size, deadline)) continue;
    payloads[rank] = std::move(bytes);
    heard[rank] = true;
    peers[rank] = std::move(peer);
    ++arrived;
  }
  std::string reply;
  put_u32(reply, protocol);
  put_u32(reply, static_cast<uint32_t>(launch.world_size));
  for (const auto& p : payloads) {
    put_u32(reply, static_cast<uint32_t>(p.size()));
    reply += p;
  }
  // Answers may take a little past the deadline when partial: it has just been reached.
  const auto answer_by = std::max(deadline, Clock::now() + std::chrono::seconds(2));
  for (int r = 1; r < launch.world_size; ++r) {
    if (peers[r].fd() < 0) continue;
    STRAND_CHECK(send_all(peers[r].fd(), reply.data(), reply.size(), answer_by),
                 "rendezvous on {}: rank 0 could not answer rank {}: {}", where(launch), r,
                 std::strerror(errno));
  }
  return payloads;
}

// One connection attempt to rank 0 (bounded by the deadline); -1 with last_error set on failure.
Socket try_connect(const LaunchInfo& launch, Clock::time_point deadline, std::string& last_error) {
  addrinfo* addresses = resolve(launch, false);
  Socket result;
  for (addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    Socket s(::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (s.fd() < 0) continue;
    int rc = ::connect(s.fd(), a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      const auto attempt_end = std::min(deadline, Clock::now() + std::chrono::seconds(2));
      if (wait_ready(s.fd(), POLLOUT, attempt_end)) {
        int error = 0;
        socklen_t len = sizeof(error);
        ::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &error, &len);
        rc = error == 0 ? 0 : -1;
        errno = error;
      } else {
        errno = ETIMEDOUT;
      }
    }
    if (rc == 0) {
      result = std::move(s);
      break;
    }
    last_error = std::strerror(errno);
  }
  ::freeaddrinfo(addresses);
  return result;
}

// The other ranks' side: connect (retrying until the deadline), send, and wait for the answer
// until answer_by.
std::vector<std::string> join(const LaunchInfo& launch, const std::string& payload,
                              Clock::time_point deadline, std::chrono::milliseconds timeout,
                              uint32_t protocol, Clock::time_point answer_by) {
  std::string last_error = "no attempt finished";
  Socket s;
  for (;;) {
    s = try_connect(launch, deadline, last_error);
    if (s.fd() >= 0) break;
    STRAND_CHECK(Clock::now() < deadline,
                 "rendezvous: rank {} could not reach rank 0 at {} within {} s (last error: {})",
                 launch.rank, where(launch), timeout.count() / 1000.0, last_error);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const int one = 1;
  ::setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::string hello;
  put_u32(hello, protocol);
  put_u32(hello, kVersion);
  put_u32(hello, static_cast<uint32_t>(launch.rank));
  put_u32(hello, static_cast<uint32_t>(launch.world_size));
  put_u32(hello, static_cast<uint32_t>(payload.size()));
  hello += payload;
  STRAND_CHECK(send_all(s.fd(), hello.data(), hello.size(), answer_by),
               "rendezvous: rank {} lost its connection to rank 0 at {} while sending", launch.rank,
               where(launch));
  uint32_t magic = 0, world = 0;
  const bool header = get_u32(s.fd(), magic, answer_by) && get_u32(s.fd(), world, answer_by);
  STRAND_CHECK(header,
               "rendezvous: rank {} got no answer from rank 0 at {} within {} s: some rank never "
               "arrived (rank 0's error names it)",
               launch.rank, where(launch), timeout.count() / 1000.0);
  STRAND_CHECK(magic == protocol && static_cast<int>(world) == launch.world_size,
               "rendezvous: rank {} got a malformed answer from {}", launch.rank, where(launch));
  std::vector<std::string> payloads(launch.world_size);
  for (auto& p : payloads) {
    uint32_t size = 0;
    const bool ok = get_u32(s.fd(), size, answer_by) && size <= kMaxPayload;
    p.resize(ok ? size : 0);
    STRAND_CHECK(ok && recv_all(s.fd(), p.data(), size, answer_by),
                 "rendezvous: rank {} lost its connection to rank 0 at {} while receiving",
                 launch.rank, where(launch));
  }
  return payloads;
}

}  // namespace

std::vector<std::string> rendezvous_all_gather(const LaunchInfo& launch, const std::string& payload,
                                               std::chrono::milliseconds timeout) {
  if (!launch.distributed()) return {payload};
  STRAND_CHECK(!launch.master_addr.empty() && launch.master_port > 0,
               "rendezvous: {} needs MASTER_ADDR and MASTER_PORT (rank 0's host and a free port)",
               launch.str());
  STRAND_CHECK(payload.size() <= kMaxPayload, "rendezvous: a {} byte payload is too large",
               payload.size());
  const auto deadline = Clock::now() + timeout;
  return launch.rank == 0 ? serve(launch, payload, deadline, timeout, kMagic, false)
                          : join(launch, payload, deadline, timeout, kMagic, deadline);
}

std::vector<int> rendezvous_missing_ranks(const LaunchInfo& launch,
                                          std::chrono::milliseconds window) {
  if (!launch.distributed()) return {};
  const auto deadline = Clock::now() + window;
  std::vector<std::string> alive;
  try {
    // Rank 0 answers when the window closes (or everyone came); the others wait a little longer
    // for that answer, since rank 0's window may have opened slightly later than theirs.
    alive = launch.rank == 0 ? serve(launch, "1", deadline, window, kProbeMagic, true)
                             : join(launch, "1", deadline, window, kProbeMagic,
                                    deadline + window + std::chrono::seconds(2));
  } catch (const Error&) {
    // Rank 0 cannot be reached (or cannot listen): rank 0 is the one this rank knows is lost.
    return {0};
  }
  std::vector<int> missing;
  for (int r = 0; r < launch.world_size; ++r) {
    if (alive[r].empty()) missing.push_back(r);
  }
  return missing;
}

}  // namespace strand::runtime
