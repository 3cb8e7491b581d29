// What one TURN connection has done, built from framed events: allocations (relayed address,
// lifetime, refreshes), permissions and channels, media bytes per peer, MS-TURN specifics
// (pseudo-TLS, MS-VERSION, MS-SEQUENCE-NUMBER, active destination). All maps are capped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inspectors/turn/stun_message.h"
#include "inspectors/turn/turn_stream.h"

namespace wb::turn {

struct PeerStats {
  std::uint64_t bytes_to_peer = 0;
  std::uint64_t bytes_from_peer = 0;
  std::uint64_t packets_to_peer = 0;
  std::uint64_t packets_from_peer = 0;
};

struct Allocation {
  std::string relayed;  // relayed transport address
  // [MS-TURN] 2.2.2.23: with MS-VERSION >= 4 and both families allocated, the IPv6 relayed
  // address arrives in MS-ALTERNATE-MAPPED-ADDRESS (plain, like MAPPED-ADDRESS).
  std::string relayed_alternate;
  std::string reflexive;  // the client's address as the server sees it
  std::uint32_t lifetime = 0;
  std::uint64_t refreshes = 0;
  bool active = true;
};

class Session {
 public:
  static constexpr std::size_t kMaxPeers = 64;
  static constexpr std::size_t kMaxPending = 64;

  void on_pseudo_tls(Role role);
  void on_message(Role role, const Message& message);
  void on_data(Role role, std::size_t size);  // MS-TURN end-to-end data frame
  void on_channel_data(Role role, std::uint16_t channel, std::size_t size);
  void on_error() { ++errors_; }

  std::string brief() const;
  nlohmann::json detail() const;

  const std::optional<Allocation>& allocation() const { return allocation_; }
  const std::map<std::string, PeerStats>& peers() const { return peers_; }
  std::optional<std::uint32_t> ms_version() const { return ms_version_; }
  std::uint64_t messages() const { return messages_; }

 private:
  void on_request(const Message& message);
  void on_response(const Message& message);
  PeerStats& peer(const std::string& address);
  void count(Role role, const std::string& address, std::size_t size);
  std::optional<std::string> address(const Message& message, std::uint16_t type, bool xored) const;

  Dialect dialect_ = Dialect::kRfc5389;
  bool pseudo_tls_client_ = false;
  bool pseudo_tls_server_ = false;
  std::optional<std::uint32_t> ms_version_;
  std::optional<std::uint32_t> ms_sequence_;
  std::uint64_t messages_ = 0;
  std::uint64_t errors_ = 0;
  std::uint64_t missing_magic_cookie_ = 0;
  int last_error_code_ = 0;
  std::string username_;
  std::optional<Allocation> allocation_;
  std::uint64_t allocations_ = 0;
  // Outstanding requests by transaction id: method and the peer they name.
  struct Pending {
    std::uint16_t method = 0;
    std::string peer;
    std::uint16_t channel = 0;
  };
  std::map<std::array<std::uint8_t, 16>, Pending> pending_;
  std::vector<std::string> permissions_;
  std::map<std::uint16_t, std::string> channels_;
  std::string active_destination_;  // MS-TURN Set Active Destination
  std::map<std::string, PeerStats> peers_;
  std::map<std::string, std::uint64_t> message_counts_;  // by message name
};

}  // namespace wb::turn
