// The MS-TURN / TURN inspector: frames both directions with TurnStream and feeds the events to
// Session. TURN carries media: it never denies, a framing error only stops the inspection of that
// direction (the bytes keep flowing, counted as opaque).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "inspectors/inspector.h"
#include "inspectors/turn/turn_session.h"
#include "inspectors/turn/turn_stream.h"

namespace wb::turn {

class TurnInspector final : public inspect::Inspector {
 public:
  explicit TurnInspector(std::string label);

  std::string_view protocol() const override { return label_; }
  inspect::Verdict on_data(inspect::Direction direction,
                           std::span<const std::uint8_t> bytes) override;
  void on_close(inspect::Direction direction) override;
  std::string brief() const override;
  nlohmann::json detail() const override;

  const Session& session() const { return session_; }

 private:
  struct Side {
    TurnStream stream;
    std::uint64_t bytes = 0;
    std::uint64_t opaque_bytes = 0;
    bool closed = false;
  };
  std::string label_;
  Session session_;
  std::array<Side, 2> sides_;
};

}  // namespace wb::turn
