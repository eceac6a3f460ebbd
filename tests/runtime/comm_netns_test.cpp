// Two "hosts" on one machine: two network namespaces joined by a veth pair, each with its own
// host name (UTS namespace), so nothing can pass through loopback or shared memory. mpirun
// reaches the second host through a stand-in for ssh (ip netns exec), and the env launcher's TCP
// rendezvous crosses the veth link. Needs root and iproute2; skips cleanly otherwise.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "runtime/comm.h"
#include "runtime/rendezvous.h"
#include "tests/runtime/comm_processes.h"

namespace strand::runtime {
namespace {

using namespace strand::runtime::testing;
using ::testing::HasSubstr;

// "strand-h1 10.213.7.2": this process's host name and IPv4 addresses other than loopback.
std::string where_am_i() {
  char name[256] = {0};
  gethostname(name, sizeof(name) - 1);
  std::string out = name;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
      char text[INET_ADDRSTRLEN];
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
      if (std::string(text) != "127.0.0.1") out += std::string(" ") + text;
    }
    freeifaddrs(list);
  }
  return out;
}

void write_report(const std::vector<std::string>& seen, const std::string& extra) {
  const std::string dir = std::getenv("STRAND_NETNS_OUT");
  const LaunchInfo launch = detect_launch();
  std::ofstream out(dir + "/rank" + std::to_string(launch.rank) + ".txt");
  for (const auto& s : seen) out << s << "|";
  out << extra;
}

// Each rank of the MPI job TwoHosts.MpiAcrossNamespaces starts.
TEST(NetnsChild, Mpi) {
  if (std::getenv("STRAND_NETNS_OUT") == nullptr) GTEST_SKIP() << "started by TwoHosts";
  CommOptions options;
  options.timeout = std::chrono::seconds(30);
  auto comm = make_communicator(detect_launch(), Device::cpu(), options);
  const std::vector<std::string> seen = all_gather_strings(*comm, where_am_i());
  Tensor t = full({1 << 16}, comm->rank() + 1.0);
  comm->all_reduce(t, ReduceOp::kSum)->wait();
  verify_same(*comm, "model", "deepsea");
  write_report(seen, format("sum={}", t.to_vector<float>()[12345]));
}

// TwoHosts.HungRankAcrossNamespaces: the rank on the second host stops answering at step 2.
TEST(NetnsChild, Hang) {
  if (std::getenv("STRAND_NETNS_OUT") == nullptr) GTEST_SKIP() << "started by TwoHosts";
  CommOptions options;
  options.timeout = std::chrono::seconds(2);
  options.probe_timeout = std::chrono::seconds(1);
  auto comm = make_communicator(detect_launch(), Device::cpu(), options);
  try {
    for (int step = 0; step < 4; ++step) {
      comm->set_context("step " + std::to_string(step));
      if (comm->rank() == 1 && step == 2) std::this_thread::sleep_for(std::chrono::seconds(90));
      Tensor t = ones({100});
      comm->all_reduce(t, ReduceOp::kSum)->wait();
    }
    write_report({}, "finished");
  } catch (const Error& e) {
    write_report({}, e.message());
    std::exit(3);
  }
}

// Each rank of the env-launched job TwoHosts.RendezvousAcrossNamespaces starts.
TEST(NetnsChild, Rendezvous) {
  if (std::getenv("STRAND_NETNS_OUT") == nullptr) GTEST_SKIP() << "started by TwoHosts";
  write_report(rendezvous_all_gather(detect_launch(), where_am_i(), std::chrono::seconds(30)),
               "done");
}

class TwoHosts : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for ip netns";
    if (run_command("command -v ip && unshare --uts true", 10).exit_code != 0) {
      GTEST_SKIP() << "needs ip (iproute2) and unshare --uts (util-linux, CAP_SYS_ADMIN)";
    }
    const std::string id = std::to_string(getpid());
    ns_[0] = "strand_h0_" + id;
    ns_[1] = "strand_h1_" + id;
    subnet_ = "10.213." + std::to_string(getpid() % 250);
    ip_[0] = subnet_ + ".1";
    ip_[1] = subnet_ + ".2";
    const std::string a = "sva" + id, b = "svb" + id;
    const std::string setup =
        "ip netns add " + ns_[0] + " && ip netns add " + ns_[1] + " && ip link add " + a +
        " type veth peer name " + b + " && ip link set " + a + " netns " + ns_[0] +
        " && ip link set " + b + " netns " + ns_[1] + " && ip -n " + ns_[0] + " addr add " +
        ip_[0] + "/24 dev " + a + " && ip -n " + ns_[1] + " addr add " + ip_[1] + "/24 dev " + b +
        " && ip -n " + ns_[0] + " link set " + a + " up && ip -n " + ns_[1] + " link set " + b +
        " up && ip -n " + ns_[0] + " link set lo up && ip -n " + ns_[1] + " link set lo up";
    created_ = true;
    if (run_command(setup + " 2>/dev/null", 30).exit_code != 0) {
      GTEST_SKIP() << "cannot create network namespaces here (ip netns add failed)";
    }
  }
  void TearDown() override {
    if (created_) run_command("ip netns del " + ns_[0] + "; ip netns del " + ns_[1], 30);
  }

  // Runs a shell command inside host h (its network namespace, host name strand-h<h>).
  std::string on_host(int h, const std::string& command) const {
    return "ip netns exec " + ns_[h] + " unshare --uts sh -c \"hostname strand-h" +
           std::to_string(h) + "; " + command + "\"";
  }

  CommandResult mpirun_across(const ScratchDir& dir, const std::string& child) const;

  std::string ns_[2], ip_[2], subnet_;
  bool created_ = false;
};

// An mpirun job with one rank on each host, running the NetnsChild test `child`.
CommandResult TwoHosts::mpirun_across(const ScratchDir& dir, const std::string& child) const {
  // The stand-in for ssh: the "host" mpirun names is an address; run the command in its
  // namespace under its own host name. Options ssh would take are skipped.
  std::ofstream(dir.file("agent.sh"))
      << "#!/bin/sh\nwhile [ \"${1#-}\" != \"$1\" ]; do shift; done\nhost=$1; shift\n"
      << "case $host in " << ip_[0] << ") ns=" << ns_[0] << "; name=strand-h0;; " << ip_[1]
      << ") ns=" << ns_[1] << "; name=strand-h1;; *) echo unknown host $host >&2; exit 1;; esac\n"
      << "exec ip netns exec $ns unshare --uts sh -c \"hostname $name; $*\"\n";
  std::ofstream(dir.file("hosts")) << ip_[0] << " slots=1\n" << ip_[1] << " slots=1\n";
  run_command("chmod +x " + dir.file("agent.sh"), 10);
  const std::string job =
      "STRAND_NETNS_OUT=" + dir.path() + " OMPI_MCA_plm_rsh_agent=" + dir.file("agent.sh") +
      " OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=" + subnet_ +
      ".0/24 OMPI_MCA_oob_tcp_if_include=" + subnet_ + ".0/24 " + find_mpirun() +
      " --allow-run-as-root --hostfile " + dir.file("hosts") + " -np 2 " + self_path() +
      " --gtest_filter=NetnsChild." + child + " > " + dir.file("log") + " 2>&1";
  return run_command(on_host(0, job), 120);
}

TEST_F(TwoHosts, MpiAcrossNamespaces) {
  if (!STRAND_WITH_MPI || find_mpirun().empty()) GTEST_SKIP() << "needs MPI and mpirun";
  ScratchDir dir;
  const CommandResult result = mpirun_across(dir, "Mpi");
  const std::string log = read_text(dir.file("log"));
  ASSERT_EQ(result.exit_code, 0) << log;
  const std::string expected =
      "strand-h0 " + ip_[0] + "|strand-h1 " + ip_[1] + "|sum=3";  // 1 + 2 from the two hosts
  EXPECT_EQ(read_text(dir.file("rank0.txt")), expected) << log;
  EXPECT_EQ(read_text(dir.file("rank1.txt")), expected) << log;
}

// The lost-rank probe crosses hosts too: the first host names the hung second one, and the job
// ends long before the hung rank would wake (90 s).
TEST_F(TwoHosts, HungRankAcrossNamespaces) {
  if (!STRAND_WITH_MPI || find_mpirun().empty()) GTEST_SKIP() << "needs MPI and mpirun";
  ScratchDir dir;
  const CommandResult result = mpirun_across(dir, "Hang");
  const std::string log = read_text(dir.file("log"));
  EXPECT_NE(result.exit_code, 0) << log;
  EXPECT_LT(result.seconds, 40.0) << log;
  EXPECT_EQ(read_text(dir.file("rank0.txt")),
            "mpi all_reduce on rank 0 of 2 (step 2) timed out after 2 s: lost rank 1 (no answer "
            "within 1 s)")
      << log;
}

TEST_F(TwoHosts, RendezvousAcrossNamespaces) {
  ScratchDir dir;
  const int port = 29000 + getpid() % 1000;
  std::string command;
  for (int h : {1, 0}) {
    command += on_host(h, "STRAND_NETNS_OUT=" + dir.path() + " RANK=" + std::to_string(h) +
                              " WORLD_SIZE=2 MASTER_ADDR=" + ip_[0] +
                              " MASTER_PORT=" + std::to_string(port) + " " + self_path() +
                              " --gtest_filter=NetnsChild.Rendezvous > " +
                              dir.file("log" + std::to_string(h)) + " 2>&1") +
               " & ";
  }
  const CommandResult result = run_command(command + "wait", 60);
  ASSERT_EQ(result.exit_code, 0);
  const std::string expected = "strand-h0 " + ip_[0] + "|strand-h1 " + ip_[1] + "|done";
  for (int h : {0, 1}) {
    EXPECT_EQ(read_text(dir.file("rank" + std::to_string(h) + ".txt")), expected)
        << read_text(dir.file("log" + std::to_string(h)));
  }
}

}  // namespace
}  // namespace strand::runtime
