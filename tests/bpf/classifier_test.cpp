#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/common/unique_fd.h"
#include "tests/bpf/classifier_fixture.h"

namespace wb::test {
namespace {

TEST_F(ClassifierTest, ProbeSteer) {
  UniqueFd s(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(s.get(), 4), 0);
  auto st = dp_->set_listener(s.get());
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_TRUE(dp_->has_listener());
  configure([](wb_config& c) { c.flags = WB_CONFIG_DRY_RUN; });
  auto d = run(tcp_syn());
  printf("reason %s action %d\n", datapath::reason_name(d.reason), d.tc_action);
}

}  // namespace
}  // namespace wb::test
