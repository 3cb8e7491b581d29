#include "agent/relay/handler.h"

#include <string>

namespace wb::relay {

void Handler::on_error(SessionIo& io, Side side, const Error& error) {
  // A reset on one leg becomes a reset on the other (SO_LINGER 0), as if there were no relay.
  io.close(CloseMode::kReset, std::string(label(side)) + " error: " + error.message());
}

void Handler::on_timeout(SessionIo& io, TimeoutKind kind) {
  if (kind == TimeoutKind::kIdle) io.close(CloseMode::kReset, label(kind));
}

}  // namespace wb::relay
