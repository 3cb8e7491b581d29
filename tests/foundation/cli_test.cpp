// The binary's entry points: --version, --help, usage errors, and the kernel probe (for real).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/topology.h"

namespace wb::test {
namespace {

TEST(Cli, VersionAndHelp) {
  auto v = run(wirebump_binary() + " --version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("wirebump 0."), std::string::npos) << v.out;
  auto h = run(wirebump_binary() + " --help");
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("run"), std::string::npos) << h.out;
  auto rh = run(wirebump_binary() + " run --help");
  EXPECT_EQ(rh.exit_code, 0);
  EXPECT_NE(rh.out.find("--check-kernel"), std::string::npos) << rh.out;
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run(wirebump_binary()).exit_code, 2);
  auto bad = run(wirebump_binary() + " no-such-command");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_FALSE(bad.err.empty());
  EXPECT_EQ(run(wirebump_binary() + " run --no-such-flag").exit_code, 2);
}

TEST(CheckKernel, EveryCapabilityPresentHere) {
  auto r = run(wirebump_binary() + " run --check-kernel --json");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto caps = nlohmann::json::parse(r.out);
  std::set<std::string> names;
  for (const auto& cap : caps) {
    EXPECT_TRUE(cap["ok"].get<bool>()) << cap.dump();
    names.insert(cap["name"].get<std::string>());
  }
  for (const char* needed : {"bpf", "xdp", "sk_assign", "bpffs", "btf", "clsact", "io_uring",
                             "transparent"}) {
    EXPECT_TRUE(names.count(needed)) << needed;
  }
  auto text = run(wirebump_binary() + " run --check-kernel");
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("ok   clsact"), std::string::npos) << text.out;
}

// In a private mount namespace without bpffs, the probe names what is missing and fails.
TEST(CheckKernel, MissingBpffsIsNamed) {
  auto r = run("unshare --mount sh -c 'umount -l /sys/fs/bpf 2>/dev/null; mount -t tmpfs none "
               "/sys/fs/bpf && exec " +
               wirebump_binary() + " run --check-kernel'");
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL bpffs"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("bpffs"), std::string::npos) << r.err;
}

// Without CAP_NET_ADMIN the transparent-socket and BPF probes fail with a reason.
TEST(CheckKernel, UnprivilegedIsRefused) {
  auto r = run("setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all " +
               wirebump_binary() + " run --check-kernel");
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL transparent"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace wb::test
