#include "agent/netsetup/bridge_nf.h"

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

namespace wb::netsetup {
namespace {

struct Reply {
  NfCall value;
  bool found = false;
};

int parse_link(nl_msg* msg, void* arg) {
  auto* reply = static_cast<Reply*>(arg);
  nlattr* tb[IFLA_MAX + 1] = {};
  if (nlmsg_parse(nlmsg_hdr(msg), sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) < 0) return NL_SKIP;
  if (tb[IFLA_LINKINFO] == nullptr) return NL_SKIP;
  nlattr* info[IFLA_INFO_MAX + 1] = {};
  if (nla_parse_nested(info, IFLA_INFO_MAX, tb[IFLA_LINKINFO], nullptr) < 0) return NL_SKIP;
  if (info[IFLA_INFO_DATA] == nullptr) return NL_SKIP;
  nlattr* br[IFLA_BR_MAX + 1] = {};
  if (nla_parse_nested(br, IFLA_BR_MAX, info[IFLA_INFO_DATA], nullptr) < 0) return NL_SKIP;
  auto u8 = [&](int attr) -> std::uint8_t {
    return br[attr] != nullptr && nla_len(br[attr]) >= 1 ? nla_get_u8(br[attr]) : 0;
  };
  reply->value.iptables = u8(IFLA_BR_NF_CALL_IPTABLES);
  reply->value.ip6tables = u8(IFLA_BR_NF_CALL_IP6TABLES);
  reply->value.arptables = u8(IFLA_BR_NF_CALL_ARPTABLES);
  reply->found = true;
  return NL_OK;
}

Result<NlMsg> link_message(int type, int flags, int ifindex, const std::string& what) {
  NlMsg msg(nlmsg_alloc_simple(type, flags));
  if (!msg) return make_error(std::errc::not_enough_memory, what);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  if (nlmsg_append(msg.get(), &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0) {
    return make_error(std::errc::no_buffer_space, what);
  }
  return msg;
}

}  // namespace

Result<NfCall> get_nf_call(nl_sock* sock, const LinkInfo& bridge) {
  const std::string what = "read netfilter switches of " + bridge.name;
  WB_TRY_ASSIGN(NlMsg msg, link_message(RTM_GETLINK, 0, bridge.ifindex, what));
  int err = nl_send_auto(sock, msg.get());
  if (err < 0) return nl_error(err, what);
  Reply reply;
  std::unique_ptr<nl_cb, NlFree<nl_cb, nl_cb_put>> cb(nl_cb_alloc(NL_CB_DEFAULT));
  if (!cb) return make_error(std::errc::not_enough_memory, what);
  nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, parse_link, &reply);
  err = nl_recvmsgs(sock, cb.get());
  if (err < 0) return nl_error(err, what);
  // libnl asked for an ACK (auto-ack); it follows the reply in its own datagram.
  err = nl_wait_for_ack(sock);
  if (err < 0) return nl_error(err, what);
  if (!reply.found) return make_error(std::errc::not_supported, what + " (not a bridge?)");
  return reply.value;
}

Status set_nf_call(nl_sock* sock, const LinkInfo& bridge, const NfCall& value) {
  const std::string what = "set netfilter switches of " + bridge.name;
  WB_TRY_ASSIGN(NlMsg msg, link_message(RTM_NEWLINK, 0, bridge.ifindex, what));
  nlattr* linkinfo = nla_nest_start(msg.get(), IFLA_LINKINFO);
  if (linkinfo == nullptr || nla_put_string(msg.get(), IFLA_INFO_KIND, "bridge") < 0) {
    return make_error(std::errc::no_buffer_space, what);
  }
  nlattr* data = nla_nest_start(msg.get(), IFLA_INFO_DATA);
  if (data == nullptr || nla_put_u8(msg.get(), IFLA_BR_NF_CALL_IPTABLES, value.iptables) < 0 ||
      nla_put_u8(msg.get(), IFLA_BR_NF_CALL_IP6TABLES, value.ip6tables) < 0 ||
      nla_put_u8(msg.get(), IFLA_BR_NF_CALL_ARPTABLES, value.arptables) < 0) {
    return make_error(std::errc::no_buffer_space, what);
  }
  nla_nest_end(msg.get(), data);
  nla_nest_end(msg.get(), linkinfo);
  // nl_send_sync consumes the message and waits for the kernel's ACK.
  int err = nl_send_sync(sock, msg.release());
  if (err < 0) return nl_error(err, what);
  return {};
}

}  // namespace wb::netsetup
