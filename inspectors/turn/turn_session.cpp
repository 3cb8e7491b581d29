#include "inspectors/turn/turn_session.h"

#include <algorithm>

#include "inspectors/parse.h"

namespace wb::turn {
namespace {

// RFC 5766 methods.
constexpr std::uint16_t kAllocate = 0x003;
constexpr std::uint16_t kRefresh = 0x004;
constexpr std::uint16_t kSend = 0x006;
constexpr std::uint16_t kData = 0x007;
constexpr std::uint16_t kCreatePermission = 0x008;
constexpr std::uint16_t kChannelBind = 0x009;
// [MS-TURN] message types (draft-02 numbering).
constexpr std::uint16_t kMsAllocate = 0x0003;
constexpr std::uint16_t kMsAllocateResponse = 0x0103;
constexpr std::uint16_t kMsAllocateError = 0x0113;
constexpr std::uint16_t kMsSendRequest = 0x0004;
constexpr std::uint16_t kMsDataIndication = 0x0115;
constexpr std::uint16_t kMsSetActiveDestination = 0x0006;
constexpr std::uint16_t kMsSetActiveDestinationResponse = 0x0106;
constexpr std::size_t kMaxPermissions = 64;
constexpr std::size_t kMaxChannels = 64;

std::size_t data_size(const Message& message) {
  const Attribute* data = message.find(attr::kData);
  return data ? data->value.size() : 0;
}

}  // namespace

void Session::on_pseudo_tls(Role role) {
  dialect_ = Dialect::kMsTurn;
  (role == Role::kClient ? pseudo_tls_client_ : pseudo_tls_server_) = true;
}

std::optional<std::string> Session::address(const Message& message, std::uint16_t type,
                                            bool xored) const {
  const Attribute* attribute = message.find(type);
  if (!attribute) return std::nullopt;
  XorKey key = xor_key(message);
  auto endpoint = decode_address(attribute->value, xored ? &key : nullptr);
  if (!endpoint) return std::nullopt;
  return endpoint->to_string();
}

PeerStats& Session::peer(const std::string& address) {
  auto it = peers_.find(address);
  if (it != peers_.end()) return it->second;
  // Past the cap, traffic of new peers is summed under one entry instead of growing the map.
  if (peers_.size() >= kMaxPeers) return peers_["other"];
  return peers_[address];
}

void Session::count(Role role, const std::string& address, std::size_t size) {
  PeerStats& stats = peer(address.empty() ? "unknown" : address);
  if (role == Role::kClient) {
    stats.bytes_to_peer += size;
    ++stats.packets_to_peer;
  } else {
    stats.bytes_from_peer += size;
    ++stats.packets_from_peer;
  }
}

void Session::on_message(Role role, const Message& message) {
  ++messages_;
  dialect_ = message.dialect;
  std::string name(message_name(message.type, message.dialect));
  if (message_counts_.size() < 32 || message_counts_.count(name)) ++message_counts_[name];
  if (message.dialect == Dialect::kMsTurn && !message.ms_magic_cookie) ++missing_magic_cookie_;
  if (auto version = u32_value(message.find(attr::kMsVersion))) ms_version_ = version;
  if (const Attribute* seq = message.find(attr::kMsSequenceNumber);
      seq && seq->value.size() >= 20) {
    ms_sequence_ = inspect::be32(seq->value, 16);  // 16-byte connection id, then the number
  }
  if (const Attribute* user = message.find(attr::kUsername); user && username_.empty()) {
    username_ = inspect::printable(inspect::as_text(user->value), 128);
  }
  (void)role;
  if (message.dialect == Dialect::kMsTurn) {
    if (message.type == kMsAllocate || message.type == kMsSetActiveDestination)
      on_request(message);
    else if (message.type == kMsSendRequest)
      count(Role::kClient, address(message, attr::kMsDestinationAddress, false).value_or(""),
            data_size(message));
    else if (message.type == kMsDataIndication)
      count(Role::kServer, address(message, attr::kXorPeerAddress, false).value_or(""),
            data_size(message));
    else if (message.type == kMsAllocateResponse || message.type == kMsAllocateError ||
             message.type == kMsSetActiveDestinationResponse)
      on_response(message);
    return;
  }
  switch (message.message_class()) {
    case 0:
      on_request(message);
      break;
    case 1:
      if (message.method() == kSend)
        count(Role::kClient, address(message, attr::kXorPeerAddress, true).value_or(""),
              data_size(message));
      else if (message.method() == kData)
        count(Role::kServer, address(message, attr::kXorPeerAddress, true).value_or(""),
              data_size(message));
      break;
    default:
      on_response(message);
      break;
  }
}

void Session::on_request(const Message& message) {
  if (pending_.size() >= kMaxPending) pending_.erase(pending_.begin());
  Pending pending;
  pending.method = message.dialect == Dialect::kMsTurn ? message.type : message.method();
  bool xored = message.dialect != Dialect::kMsTurn;
  std::uint16_t peer_attr =
      message.dialect == Dialect::kMsTurn ? attr::kMsDestinationAddress : attr::kXorPeerAddress;
  pending.peer = address(message, peer_attr, xored).value_or("");
  if (const Attribute* channel = message.find(attr::kChannelNumber);
      channel && channel->value.size() >= 2) {
    pending.channel = inspect::be16(channel->value, 0);
  }
  pending_[message.transaction] = std::move(pending);
}

void Session::on_response(const Message& message) {
  auto it = pending_.find(message.transaction);
  if (it == pending_.end()) return;
  Pending request = std::move(it->second);
  pending_.erase(it);
  bool success = message.dialect == Dialect::kMsTurn ? (message.type & 0x0110) == 0x0100
                                                     : message.message_class() == 2;
  if (!success) {
    last_error_code_ = error_code(message.find(attr::kErrorCode)).value_or(-1);
    return;
  }
  auto lifetime = u32_value(message.find(attr::kLifetime));
  bool ms = message.dialect == Dialect::kMsTurn;
  if ((ms && request.method == kMsAllocate) || (!ms && request.method == kAllocate)) {
    auto relayed = ms ? address(message, attr::kMappedAddress, false)
                      : address(message, attr::kXorRelayedAddress, true);
    auto reflexive = ms ? address(message, attr::kMsXorMappedAddress, true)
                        : address(message, attr::kXorMappedAddress, true);
    if (allocation_ && allocation_->active && ms) {
      // MS-TURN refreshes by repeating Allocate on the same connection.
      ++allocation_->refreshes;
    } else {
      allocation_ = Allocation{};
      ++allocations_;
    }
    if (relayed) allocation_->relayed = *relayed;
    if (ms) {
      if (auto alternate = address(message, attr::kMsAlternateMappedAddress, false))
        allocation_->relayed_alternate = *alternate;
    }
    if (reflexive) allocation_->reflexive = *reflexive;
    // A zero lifetime releases the allocation; keep the last granted lifetime for the record.
    if (lifetime && *lifetime) allocation_->lifetime = *lifetime;
    allocation_->active = !lifetime || *lifetime != 0;
  } else if (!ms && request.method == kRefresh && allocation_) {
    if (lifetime && *lifetime == 0) {
      allocation_->active = false;  // released (Refresh with LIFETIME 0)
    } else {
      ++allocation_->refreshes;
      allocation_->lifetime = lifetime.value_or(allocation_->lifetime);
    }
  } else if (!ms && request.method == kCreatePermission && !request.peer.empty()) {
    // Permissions are per IP address (RFC 5766 8): the port is ignored.
    std::string ip = request.peer.substr(0, request.peer.rfind(':'));
    if (std::find(permissions_.begin(), permissions_.end(), ip) == permissions_.end() &&
        permissions_.size() < kMaxPermissions) {
      permissions_.push_back(ip);
    }
  } else if (!ms && request.method == kChannelBind && request.channel &&
             (channels_.size() < kMaxChannels || channels_.count(request.channel))) {
    channels_[request.channel] = request.peer;
  } else if (ms && request.method == kMsSetActiveDestination) {
    active_destination_ = request.peer;
  }
}

void Session::on_data(Role role, std::size_t size) {
  count(role, active_destination_, size);
}

void Session::on_channel_data(Role role, std::uint16_t channel, std::size_t size) {
  auto it = channels_.find(channel);
  count(role, it == channels_.end() ? "channel " + std::to_string(channel) : it->second, size);
}

std::string Session::brief() const {
  std::string line;
  if (allocation_) {
    line = "alloc=" + (allocation_->relayed.empty() ? "?" : allocation_->relayed) +
           " lifetime=" + std::to_string(allocation_->lifetime) +
           " refreshes=" + std::to_string(allocation_->refreshes);
    if (!allocation_->active) line += " released";
  } else {
    line = "alloc=none";
    if (last_error_code_) line += " error=" + std::to_string(last_error_code_);
  }
  std::uint64_t to_peer = 0, from_peer = 0;
  for (const auto& [address, stats] : peers_) {
    to_peer += stats.bytes_to_peer;
    from_peer += stats.bytes_from_peer;
  }
  line += " peers=" + std::to_string(peers_.size()) + " sent=" + std::to_string(to_peer) +
          " recv=" + std::to_string(from_peer);
  if (ms_version_) line += " ms-version=" + std::to_string(*ms_version_);
  return line;
}

nlohmann::json Session::detail() const {
  nlohmann::json peers = nlohmann::json::object();
  for (const auto& [address, stats] : peers_) {
    peers[address] = {{"bytes_to_peer", stats.bytes_to_peer},
                      {"bytes_from_peer", stats.bytes_from_peer},
                      {"packets_to_peer", stats.packets_to_peer},
                      {"packets_from_peer", stats.packets_from_peer}};
  }
  nlohmann::json channels = nlohmann::json::object();
  for (const auto& [number, address] : channels_) channels[std::to_string(number)] = address;
  nlohmann::json json = {
      {"dialect", dialect_ == Dialect::kMsTurn ? "ms-turn" : "rfc5766"},
      {"pseudo_tls", {{"client", pseudo_tls_client_}, {"server", pseudo_tls_server_}}},
      {"messages", messages_},
      {"message_counts", message_counts_},
      {"errors", errors_},
      {"missing_magic_cookie", missing_magic_cookie_},
      {"last_error_code", last_error_code_},
      {"username", username_},
      {"allocations", allocations_},
      {"permissions", permissions_},
      {"channels", channels},
      {"active_destination", active_destination_},
      {"peers", peers}};
  if (allocation_) {
    json["allocation"] = {{"relayed", allocation_->relayed},
                          {"relayed_alternate", allocation_->relayed_alternate},
                          {"reflexive", allocation_->reflexive},
                          {"lifetime", allocation_->lifetime},
                          {"refreshes", allocation_->refreshes},
                          {"active", allocation_->active}};
  }
  json["ms_version"] = ms_version_ ? nlohmann::json(*ms_version_) : nlohmann::json(nullptr);
  json["ms_sequence_number"] =
      ms_sequence_ ? nlohmann::json(*ms_sequence_) : nlohmann::json(nullptr);
  return json;
}

}  // namespace wb::turn
