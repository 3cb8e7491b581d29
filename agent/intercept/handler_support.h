// What the interception handler's source files share (intercept_handler.cpp,
// intercept_handshakes.cpp, intercept_decrypted.cpp). Internal: not for other users.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <span>

#include "agent/intercept/tls_endpoint.h"
#include "agent/policy/policy.h"
#include "agent/relay/handler.h"
#include "agent/session/session_types.h"
#include "inspectors/inspector.h"

namespace wb::intercept::handler_detail {

using relay::CloseMode;
using relay::SessionIo;
using relay::Side;
using session::Protocol;
using session::Verdict;
using Progress = TlsEndpoint::Progress;

// A decrypted session with no byte either way for this long releases its TLS buffers.
inline constexpr std::chrono::milliseconds kQuietAfter{1000};

// Decrypted records are read into one buffer per worker thread, not per session: a 16 KiB buffer
// in each of 10,000 idle sessions is 160 MiB, and freed per session it leaves holes in the heap
// that keep an idle agent's resident size up. Allocated once (not zero-filled per read). A worker
// runs one handler call at a time, and the bytes are forwarded before the call returns.
inline std::span<std::uint8_t> worker_scratch() {
  constexpr std::size_t kBytes = 256 * 1024;
  thread_local std::unique_ptr<std::uint8_t[]> scratch(new std::uint8_t[kBytes]);
  return {scratch.get(), kBytes};
}

inline policy::Clock::time_point wall_now() {
  return policy::Clock::now();
}
inline std::int64_t epoch_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

inline inspect::Direction direction(relay::Side from) {
  return from == relay::Side::kClient ? inspect::Direction::kClientToServer
                                      : inspect::Direction::kServerToClient;
}

inline bool ended(TlsEndpoint::Progress p) {
  return p == TlsEndpoint::Progress::kClosed || p == TlsEndpoint::Progress::kFailed;
}

}  // namespace wb::intercept::handler_detail
