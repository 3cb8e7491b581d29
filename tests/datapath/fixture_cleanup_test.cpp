// The e2e fixtures clean up after a FAILED assertion too: a child run of this binary executes
// a test that builds the whole lab (namespaces, a background process inside, BPF pins, tc
// filters) and then fails a fatal assertion; the parent checks that nothing of it is left.
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <regex>

#include "tests/datapath/datapath_fixture.h"

namespace wb::test {
namespace {

// Disabled: only the child run below selects it (--gtest_also_run_disabled_tests).
TEST_F(DatapathE2E, DISABLED_FailsAfterBuildingTheLab) {
  topo_->spawn(topo_->server(), "sleep 617", "sleeper");
  std::printf("lab prefix=%s pins=%s\n", topo_->prefix().c_str(), pin_dir_.c_str());
  std::fflush(stdout);
  ASSERT_TRUE(std::filesystem::exists(pin_dir_ + "/" WB_MAP_FLOWS));
  ASSERT_EQ(1, 2) << "deliberate failure";
}

TEST(FixtureCleanup, AFailedAssertionLeavesNoNamespaceProcessPinOrFilter) {
  skip_unless_root("the namespace topology with BPF programs attached");
  char self[PATH_MAX] = {};
  ASSERT_GT(readlink("/proc/self/exe", self, sizeof(self) - 1), 0);
  CommandResult child = run(std::string(self) +
                                " --gtest_also_run_disabled_tests"
                                " --gtest_filter=DatapathE2E.DISABLED_FailsAfterBuildingTheLab",
                            std::chrono::seconds(60));
  EXPECT_EQ(child.exit_code, 1) << child.out << child.err;
  EXPECT_NE(child.out.find("deliberate failure"), std::string::npos) << child.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(child.out, m, std::regex("lab prefix=(\\S+) pins=(\\S+)")))
      << child.out;
  const std::string prefix = m[1], pins = m[2];
  for (const char* role : {"-c", "-b", "-s"})
    EXPECT_FALSE(std::filesystem::exists("/run/netns/" + prefix + role)) << prefix << role;
  EXPECT_FALSE(std::filesystem::exists(pins)) << "pins left behind";
  EXPECT_FALSE(std::filesystem::exists("/tmp/" + prefix)) << "scratch directory left behind";
  EXPECT_EQ(run("pgrep -f '^sleep 617$'").exit_code, 1) << "background process survived";
}

}  // namespace
}  // namespace wb::test
