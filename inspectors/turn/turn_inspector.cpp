#include "inspectors/turn/turn_inspector.h"

#include "agent/common/log.h"

namespace wb::turn {

using inspect::Direction;
using inspect::Verdict;

TurnInspector::TurnInspector(std::string label)
    : label_(std::move(label)),
      sides_{Side{TurnStream(Role::kClient)}, Side{TurnStream(Role::kServer)}} {}

Verdict TurnInspector::on_data(Direction direction, std::span<const std::uint8_t> bytes) {
  std::size_t index = static_cast<std::size_t>(direction);
  Side& side = sides_[index];
  Role role = direction == Direction::kClientToServer ? Role::kClient : Role::kServer;
  side.bytes += bytes.size();
  // The server's first bytes follow the format the client chose.
  Side& other = sides_[1 - index];
  side.stream.expect(other.stream.format());
  while (!bytes.empty()) {
    Event event = side.stream.feed(bytes);
    bytes = bytes.subspan(event.consumed);
    switch (event.kind) {
      case Event::Kind::kNeedMore:
        return Verdict::forward();
      case Event::Kind::kPseudoTls:
        session_.on_pseudo_tls(role);
        break;
      case Event::Kind::kMessage:
        session_.on_message(role, side.stream.message());
        break;
      case Event::Kind::kData:
        session_.on_data(role, event.size);
        break;
      case Event::Kind::kChannelData:
        session_.on_channel_data(role, event.channel, event.size);
        break;
      case Event::Kind::kError:
        if (side.opaque_bytes == 0) {
          session_.on_error();
          spdlog::warn("{}: TURN framing error from the {}: {}", label_,
                       role == Role::kClient ? "client" : "server", side.stream.error());
        }
        side.opaque_bytes += event.consumed + bytes.size();
        return Verdict::forward();
    }
  }
  return Verdict::forward();
}

void TurnInspector::on_close(Direction direction) {
  sides_[static_cast<std::size_t>(direction)].closed = true;
}

std::string TurnInspector::brief() const {
  return session_.brief();
}

nlohmann::json TurnInspector::detail() const {
  nlohmann::json json = session_.detail();
  json["protocol"] = label_;
  const char* names[] = {"client", "server"};
  for (std::size_t i = 0; i < sides_.size(); ++i) {
    json["streams"][names[i]] = {{"bytes", sides_[i].bytes},
                                 {"opaque_bytes", sides_[i].opaque_bytes},
                                 {"closed", sides_[i].closed},
                                 {"error", std::string(sides_[i].stream.error())}};
  }
  return json;
}

}  // namespace wb::turn
